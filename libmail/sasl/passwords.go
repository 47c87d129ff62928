package sasl

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"unicode/utf8"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/textfile"
)

// Secret is a user name and password the client authenticates with.
type Secret struct {
	Username, Password string
}

// Passwords is a parsed client credentials file (smtp_sasl_password_maps):
// a Secret per nexthop. It is never modified after ParsePasswords returns
// it, so any number of goroutines may use it at once.
type Passwords struct {
	m map[string]passwordEntry
}

type passwordEntry struct {
	login Secret
	line  int
}

// maxPasswordLine bounds one line: real ones are a host name and a
// password, well under a kilobyte.
const maxPasswordLine = 4096

// LoadPasswords reads and parses the credentials file at path; see
// ParsePasswords.
func LoadPasswords(path string) (*Passwords, []error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, []error{err}
	}
	defer f.Close()
	return ParsePasswords(f, path)
}

// ParsePasswords reads a credentials file in the format of Postfix's
// smtp_sasl_password_maps source file, without postmap:
//
//	# comment
//	[relay.example.com]:587   user@example.com:secret
//	relay.example.net         user:pass:word
//
// Each entry is a nexthop as relayhost and transport_maps write it
// (domain, domain:port, [host], [host]:port; matched without regard to
// case), white space, then USERNAME:PASSWORD: the user name ends at the
// first colon, the password is the rest of the line, colons and inner
// spaces included, trailing white space not (as in Postfix). A line
// that begins with white space, which Postfix reads as the continuation
// of the one before, is refused, as are control characters, entries
// without a user name or password, keys with '@' (Postfix's
// sender-dependent entries, not supported) and a nexthop given twice.
//
// Every problem is reported as a *textfile.ParseError ("FILE:LINE:
// message") that never quotes a password, and the table holds the
// entries that had none; name is the file name in the messages. A read
// error is reported last and returns a nil table.
func ParsePasswords(r io.Reader, name string) (*Passwords, []error) {
	p := &Passwords{m: map[string]passwordEntry{}}
	errs, complete := textfile.Entries(r, name, maxPasswordLine, func(n int, line []byte) error {
		key, login, err := parsePasswordLine(line)
		if err != nil {
			return err
		}
		if e, dup := p.m[key]; dup {
			return fmt.Errorf("%s is given again (first on line %d)", key, e.line)
		}
		p.m[key] = passwordEntry{login: login, line: n}
		return nil
	})
	if !complete {
		return nil, errs
	}
	return p, errs
}

// parsePasswordLine reads one entry. Errors name the key at most.
func parsePasswordLine(line []byte) (string, Secret, error) {
	if err := textfile.CheckControl(line); err != nil {
		return "", Secret{}, err
	}
	if line[0] == ' ' || line[0] == '\t' {
		return "", Secret{}, errors.New("line begins with white space (continuation lines are not supported)")
	}
	key, value := line, []byte(nil)
	if i := bytes.IndexAny(line, " \t"); i >= 0 {
		key, value = line[:i], bytes.Trim(line[i:], " \t")
	}
	if !utf8.Valid(key) {
		return "", Secret{}, errors.New("the nexthop is not valid UTF-8")
	}
	k := strings.ToLower(string(key))
	if len(value) == 0 {
		return "", Secret{}, fmt.Errorf("%s: no USERNAME:PASSWORD after the nexthop", k)
	}
	if strings.IndexByte(k, '@') >= 0 {
		return "", Secret{}, fmt.Errorf("%s: entries by sender address are not supported, only by nexthop", k)
	}
	if _, _, err := config.SplitNexthop(k); err != nil {
		return "", Secret{}, err
	}
	user, pass, ok := bytes.Cut(value, []byte{':'})
	switch {
	case !ok:
		return "", Secret{}, fmt.Errorf("%s: want USERNAME:PASSWORD (no colon)", k)
	case len(user) == 0:
		return "", Secret{}, fmt.Errorf("%s: empty user name", k)
	case len(pass) == 0:
		return "", Secret{}, fmt.Errorf("%s: empty password", k)
	}
	return k, Secret{Username: string(user), Password: string(pass)}, nil
}

// Lookup returns the Secret for the first of keys that has one, with the
// key that matched. Keys are nexthops in lower case.
func (p *Passwords) Lookup(keys ...string) (Secret, string, bool) {
	for _, k := range keys {
		if e, ok := p.m[k]; ok {
			return e.login, k, true
		}
	}
	return Secret{}, "", false
}

// Len is the number of entries.
func (p *Passwords) Len() int { return len(p.m) }

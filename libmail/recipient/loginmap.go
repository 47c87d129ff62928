package recipient

import (
	"errors"
	"fmt"
	"io"
	"os"
	"strings"

	"postern.dev/postern/libmail/account"
	"postern.dev/postern/libmail/address"
	"postern.dev/postern/libmail/textfile"
)

// LoginMap is a parsed smtpd_sender_login_maps file (Postfix's
// smtpd_sender_login_maps, in a plain text form): which accounts may use
// an address, or any address of a domain, as their sender. A line is
//
//	ADDRESS  LOGIN, LOGIN ...
//
// where ADDRESS is user@domain or @domain, and the LOGINs, separated by
// commas or blanks, are account addresses. Blank lines and lines whose
// first non-blank character is '#' are ignored. Keys and logins are
// compared without regard to case, as accounts are. A key defined twice
// keeps its first line and the later one is an error, as in the aliases
// and accounts files. It is never modified after ParseLoginMap returns it.
type LoginMap struct {
	m map[string]loginEntry
}

type loginEntry struct {
	logins []string
	line   int
}

// maxLoginLine bounds one line; real lines are short.
const maxLoginLine = 64 << 10

// LoadLoginMap reads and parses the file at path; see ParseLoginMap.
func LoadLoginMap(path string) (*LoginMap, []error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, []error{fmt.Errorf("open sender login map: %w", err)}
	}
	defer f.Close()
	return ParseLoginMap(f, path)
}

// ParseLoginMap reads a sender login map; name is the file name used in
// messages. Every problem is reported, each as a *textfile.ParseError
// naming the line, and the map holds every entry that had none. A read
// error returns a nil map, which must not be mistaken for the whole file.
func ParseLoginMap(r io.Reader, name string) (*LoginMap, []error) {
	m := &LoginMap{m: map[string]loginEntry{}}
	errs, complete := textfile.Entries(r, name, maxLoginLine, func(n int, line []byte) error {
		key, logins, err := parseLoginLine(string(line))
		if err != nil {
			return err
		}
		if e, dup := m.m[key]; dup {
			return fmt.Errorf("duplicate entry %s ignored, first defined on line %d", key, e.line)
		}
		m.m[key] = loginEntry{logins: logins, line: n}
		return nil
	})
	if !complete {
		return nil, errs
	}
	return m, errs
}

// parseLoginLine parses "ADDRESS LOGIN, LOGIN...".
func parseLoginLine(line string) (key string, logins []string, err error) {
	if err := textfile.CheckControl([]byte(line)); err != nil {
		return "", nil, err
	}
	if line[0] == ' ' || line[0] == '\t' {
		return "", nil, errors.New("line starts with a blank (continuation lines are not supported)")
	}
	fields := strings.FieldsFunc(line, func(r rune) bool { return r == ' ' || r == '\t' || r == ',' })
	if len(fields) == 0 {
		return "", nil, errors.New("no address")
	}
	if len(fields) < 2 {
		return "", nil, fmt.Errorf("%q has no logins: want \"ADDRESS LOGIN, LOGIN...\"", fields[0])
	}
	key = strings.ToLower(fields[0])
	if domain, ok := strings.CutPrefix(key, "@"); ok {
		err = address.CheckDomain(domain, true)
	} else {
		err = address.Check(key, true)
	}
	if err != nil {
		return "", nil, fmt.Errorf("%q: %w", fields[0], err)
	}
	for _, f := range fields[1:] {
		login, err := account.CheckAddress(f)
		if err != nil {
			return "", nil, fmt.Errorf("login %w", err)
		}
		logins = append(logins, login)
	}
	return key, logins, nil
}

// Lookup returns the logins of key (user@domain or @domain). The slice is
// the map's; the caller must not modify it.
func (m *LoginMap) Lookup(key string) ([]string, bool) {
	if m == nil {
		return nil, false
	}
	e, ok := m.m[strings.ToLower(key)]
	return e.logins, ok
}

// Len returns the number of entries.
func (m *LoginMap) Len() int {
	if m == nil {
		return 0
	}
	return len(m.m)
}

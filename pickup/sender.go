package pickup

import (
	"fmt"
	"mime"
	"os/user"
	"strconv"
	"strings"

	"postern.dev/postern/libmail/address"
)

// User is a submitter as the password file knows it.
type User struct {
	Login    string
	FullName string // the GECOS field's first part
}

// LookupUID finds a submitter by user ID in the system's user database.
func LookupUID(uid int) (User, error) {
	u, err := user.LookupId(strconv.Itoa(uid))
	if err != nil {
		return User{}, err
	}
	name, _, _ := strings.Cut(u.Name, ",")
	return User{Login: u.Username, FullName: name}, nil
}

// trusted reports whether the submitter may choose the sender: a user
// of sendmail_trusted_users (root and mail_owner by default), or the
// user pickup runs as, who could write the queue directly anyway.
func (c *Config) trusted(uid int, login string) bool {
	return uid == c.SelfUID || c.Trusted[login]
}

// qualify appends @myorigin to an address without a domain, as Postfix's
// cleanup does for local mail (append_at_myorigin).
func (c *Config) qualify(addr string) string {
	if addr == "" || strings.Contains(addr, "@") {
		return addr
	}
	return addr + "@" + c.Origin
}

// checkAddr checks an address of a submission, once qualified.
func checkAddr(addr string) error {
	if err := address.Check(addr, true); err != nil {
		return fmt.Errorf("address <%s>: %w", addr, err)
	}
	return nil
}

// fromField is the From: field body added to local mail without one:
// the sender with the full name as an RFC 5322 display name, quoted, or
// RFC 2047 encoded when it is not ASCII (Postfix's header_from_format
// "standard").
func fromField(name, sender string) string {
	addr := "<" + address.Quote(sender) + ">"
	name = strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return -1
		}
		return r
	}, strings.TrimSpace(name))
	if name == "" {
		return addr
	}
	if !address.IsASCII(name) {
		return mime.QEncoding.Encode("utf-8", name) + " " + addr
	}
	if isPhrase(name) {
		return name + " " + addr
	}
	return `"` + strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(name) + `" ` + addr
}

// isPhrase reports whether s is atoms separated by spaces (RFC 5322
// §3.2.5), which need no quotes.
func isPhrase(s string) bool {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == ' ' || strings.IndexByte("!#$%&'*+-/=?^_`{|}~", c) >= 0) {
			return false
		}
	}
	return true
}

package alias

import (
	"errors"
	"fmt"
	"strings"
)

var (
	errUnterminated = errors.New("unterminated quoted string")
	errEmptyLocal   = errors.New("empty local part")
)

// address is a parsed name or address value: the local part decoded (quotes
// and backslashes removed) and the domain as written.
type address struct {
	local     string
	domain    string
	hasDomain bool
	src       string // the text parsed, when it was already canonical
}

// String gives the canonical form described in the package documentation.
func (a address) String() string {
	if a.src != "" {
		return a.src
	}
	l := a.local
	if needsQuote(l) {
		l = quote(l)
	}
	if a.hasDomain {
		return l + "@" + a.domain
	}
	return l
}

// isLocalChar reports whether c may appear in an unquoted local part: RFC
// 5322 atext, the dot of a dot-atom, and any byte of a UTF-8 sequence, which
// RFC 6531 section 3.3 adds to atext. Dots are accepted anywhere, not only
// between atoms, because real mailboxes such as "a..b" exist and rejecting
// them would only make an administrator quote them.
func isLocalChar(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9', c >= 0x80:
		return true
	}
	return strings.IndexByte("!#$%&'*+-/=?^_`{|}~.", c) >= 0
}

// needsQuote reports whether local must be written as a quoted-string. A
// leading '|' or '/' would make an address read as a command or a file, and a
// leading '#' as a comment, so those are quoted even though they are atext.
func needsQuote(local string) bool {
	if local == "" {
		return true
	}
	switch local[0] {
	case '|', '/', '#':
		return true
	}
	for i := 0; i < len(local); i++ {
		if !isLocalChar(local[i]) {
			return true
		}
	}
	return false
}

// unquote decodes the quoted-string at the start of s (s[0] is '"') and
// returns its content and the number of bytes it took, closing quote
// included.
func unquote(s string) (string, int, error) {
	var b strings.Builder
	b.Grow(len(s))
	for i := 1; i < len(s); i++ {
		switch s[i] {
		case '\\':
			i++
			if i == len(s) {
				return "", 0, errUnterminated
			}
			b.WriteByte(s[i])
		case '"':
			return b.String(), i + 1, nil
		default:
			b.WriteByte(s[i])
		}
	}
	return "", 0, errUnterminated
}

// unescape removes the backslash of each quoted-pair in s.
func unescape(s string) string {
	var b strings.Builder
	b.Grow(len(s))
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' {
			i++
		}
		if i < len(s) {
			b.WriteByte(s[i])
		}
	}
	return b.String()
}

// parseAddress parses a whole name or address value: a local part, bare or
// quoted, optionally followed by "@domain".
func parseAddress(s string) (address, error) {
	var a address
	i := 0
	if strings.HasPrefix(s, `"`) {
		local, n, err := unquote(s)
		if err != nil {
			return a, err
		}
		a.local, i = local, n
	} else {
		escaped := false
		for ; i < len(s) && s[i] != '@'; i++ {
			if s[i] == '\\' {
				escaped = true
				i++
				if i == len(s) {
					return a, errors.New("backslash at end")
				}
			} else if !isLocalChar(s[i]) {
				return a, fmt.Errorf("unexpected %q", s[i])
			}
		}
		a.local = s[:i]
		if escaped {
			a.local = unescape(a.local)
		} else if !needsQuote(a.local) {
			// Already canonical; remembering it saves rebuilding the
			// string, which matters when loading large tables.
			a.src = s
		}
	}
	if a.local == "" {
		return a, errEmptyLocal
	}
	if i == len(s) {
		return a, nil
	}
	if s[i] != '@' {
		return a, fmt.Errorf("unexpected %q after quoted local part", s[i])
	}
	a.domain, a.hasDomain = s[i+1:], true
	if err := checkDomain(a.domain); err != nil {
		return a, err
	}
	return a, nil
}

// checkDomain accepts a domain name (letters, digits, '-', '.', '_' and
// UTF-8 for internationalised names per RFC 6531) or an RFC 5321 section
// 4.1.3 address literal such as "[192.0.2.1]".
func checkDomain(d string) error {
	if d == "" {
		return errors.New("empty domain")
	}
	if d[0] == '[' {
		if len(d) < 3 || d[len(d)-1] != ']' {
			return fmt.Errorf("malformed address literal %q", d)
		}
		for i := 1; i < len(d)-1; i++ {
			// RFC 5321 dcontent: printable ASCII except brackets and backslash.
			if c := d[i]; c < 33 || c > 126 || c == '[' || c == ']' || c == '\\' {
				return fmt.Errorf("unexpected %q in address literal", c)
			}
		}
		return nil
	}
	for i := 0; i < len(d); i++ {
		switch c := d[i]; {
		case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9',
			c == '-', c == '.', c == '_', c >= 0x80:
		default:
			return fmt.Errorf("unexpected %q in domain", c)
		}
	}
	return nil
}

// lookupKey turns a name as a caller has it into the table's key. A name
// with quotes or backslashes is taken to be in RFC 5321 form and
// canonicalised; any other name is taken to have its local part unquoted
// already, as an SMTP server holds it after decoding, and is quoted if it
// needs it. The common case, a plain name, costs one scan and a ToLower.
func lookupKey(name string) string {
	if strings.ContainsAny(name, `"\`) {
		if a, err := parseAddress(name); err == nil {
			return strings.ToLower(a.String())
		}
		return strings.ToLower(name)
	}
	local, rest := name, ""
	if at := strings.LastIndexByte(name, '@'); at >= 0 {
		local, rest = name[:at], name[at:]
	}
	if needsQuote(local) {
		name = quote(local) + rest
	}
	return strings.ToLower(name)
}

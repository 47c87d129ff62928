// Package address handles envelope addresses (RFC 5321 §4.1.2 Mailbox):
// splitting, checking, canonical forms, extensions and quoting.
//
// Envelope addresses travel through postern in their unquoted form, as
// go-smtp hands them over: the local part of <"john doe"@example.org> is
// `john doe`. The last @ separates local part and domain, so an unquoted
// local part may itself contain @. Quote restores the wire form.
package address

import (
	"errors"
	"fmt"
	"net/netip"
	"strings"
	"unicode/utf8"
)

// Split returns the local part and the domain of addr, split at the last
// @. An address without @ has an empty domain.
func Split(addr string) (local, domain string) {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return addr, ""
	}
	return addr[:i], addr[i+1:]
}

// Canonical lowercases the domain: domains are case-insensitive (RFC 5321
// §2.4) while local parts belong to the receiving host, which in postern's
// case also treats them case-insensitively for lookups but keeps them as
// written on the way out.
func Canonical(addr string) string {
	local, domain := Split(addr)
	if domain == "" {
		return addr
	}
	return local + "@" + strings.ToLower(domain)
}

// Lower is the lookup key of an address: all of it lowercased.
func Lower(addr string) string { return strings.ToLower(addr) }

// Errors for Check.
var (
	ErrEmpty     = errors.New("empty address")
	ErrNoDomain  = errors.New("address has no domain")
	ErrTooLong   = errors.New("address too long")
	ErrBadChar   = errors.New("address contains a control character")
	ErrNotASCII  = errors.New("address is not ASCII and SMTPUTF8 was not requested")
	ErrBadDomain = errors.New("malformed domain")
	ErrBadUTF8   = errors.New("address is not valid UTF-8")
)

// Check validates an envelope address as received. utf8ok says whether
// the client announced SMTPUTF8 (RFC 6531 §3.4).
func Check(addr string, utf8ok bool) error {
	if addr == "" {
		return ErrEmpty
	}
	// RFC 5321 §4.5.3.1.3: a path is at most 256 octets including the
	// angle brackets.
	if len(addr) > 254 {
		return ErrTooLong
	}
	local, domain := Split(addr)
	if domain == "" || local == "" {
		return ErrNoDomain
	}
	if len(local) > 64 {
		return fmt.Errorf("%w: local part over 64 octets", ErrTooLong)
	}
	for i := 0; i < len(addr); i++ {
		if c := addr[i]; c < ' ' || c == 0x7f {
			return ErrBadChar
		}
	}
	if !IsASCII(addr) {
		if !utf8ok {
			return ErrNotASCII
		}
		if !utf8.ValidString(addr) {
			return ErrBadUTF8
		}
	}
	return CheckDomain(domain, utf8ok)
}

// CheckDomain validates a domain: a dot-separated host name or an
// address literal in brackets ([192.0.2.1], [IPv6:2001:db8::1]).
func CheckDomain(d string, utf8ok bool) error {
	if strings.HasPrefix(d, "[") {
		if _, ok := Literal(d); !ok {
			return fmt.Errorf("%w: bad address literal %q", ErrBadDomain, d)
		}
		return nil
	}
	if len(d) > 253 || strings.HasPrefix(d, ".") || strings.HasSuffix(d, ".") || strings.Contains(d, "..") {
		return fmt.Errorf("%w: %q", ErrBadDomain, d)
	}
	for _, label := range strings.Split(d, ".") {
		if label == "" || len(label) > 63 || strings.HasPrefix(label, "-") || strings.HasSuffix(label, "-") {
			return fmt.Errorf("%w: %q", ErrBadDomain, d)
		}
		for _, r := range label {
			ok := r == '-' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9' || (utf8ok && r >= 0x80 && r != utf8.RuneError)
			if !ok {
				return fmt.Errorf("%w: %q", ErrBadDomain, d)
			}
		}
	}
	return nil
}

// Literal parses an address literal domain.
func Literal(d string) (netip.Addr, bool) {
	if !strings.HasPrefix(d, "[") || !strings.HasSuffix(d, "]") {
		return netip.Addr{}, false
	}
	s := d[1 : len(d)-1]
	v6 := false
	if len(s) > 5 && strings.EqualFold(s[:5], "IPv6:") {
		s, v6 = s[5:], true
	}
	a, err := netip.ParseAddr(s)
	if err != nil || a.Is6() != v6 || a.Zone() != "" {
		return netip.Addr{}, false
	}
	return a, true
}

// IsASCII reports whether s is all ASCII.
func IsASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// StripExtension removes an address extension from a local part: with
// delimiters "+", "user+box" is "user" with extension "box". A local part
// that starts with a delimiter keeps it (a "+" address is its own name).
func StripExtension(local, delimiters string) (base, ext string) {
	if delimiters == "" {
		return local, ""
	}
	i := strings.IndexAny(local, delimiters)
	if i <= 0 {
		return local, ""
	}
	return local[:i], local[i+1:]
}

// Quote returns addr in RFC 5321 wire form: the local part is quoted when
// it is not a dot-string (see AppendPath).
func Quote(addr string) string {
	if !needsQuote(addr) {
		return addr
	}
	return string(AppendPath(make([]byte, 0, len(addr)+4), addr))
}

// AppendPath appends addr, kept in postern's unquoted form, to b as the
// mailbox of an RFC 5321 §4.1.2 path, the text between < and >: the
// local part as a Dot-string when it is one, else as a Quoted-string with
// `"` and `\` escaped by a backslash; the domain as it is. Every writer of
// MAIL FROM and RCPT TO uses it: an unquoted local part such as
// `x> RET=FULL` would end the path early and smuggle parameters into the
// command. The null sender stays empty, and an address without @ (RCPT
// TO:<postmaster>) is a local part alone. UTF-8 needs no quoting
// (RFC 6531 §3.3 extends atext and qtextSMTP with it).
//
// Control characters cannot be written in a Quoted-string (qtextSMTP and
// quoted-pairSMTP are %d32-126); Check refuses them at the door, so none
// should get here, and they are written as they are.
func AppendPath(b []byte, addr string) []byte {
	if !needsQuote(addr) {
		return append(b, addr...)
	}
	local, domain := addr, ""
	at := strings.LastIndexByte(addr, '@')
	if at >= 0 {
		local, domain = addr[:at], addr[at:]
	}
	b = append(b, '"')
	for i := 0; i < len(local); i++ {
		if c := local[i]; c == '"' || c == '\\' {
			b = append(b, '\\')
		}
		b = append(b, local[i])
	}
	b = append(b, '"')
	return append(b, domain...)
}

// needsQuote reports whether the local part of addr must be quoted.
func needsQuote(addr string) bool {
	if addr == "" {
		return false // the null sender, <>
	}
	local := addr
	if at := strings.LastIndexByte(addr, '@'); at >= 0 {
		local = addr[:at]
	}
	return !isDotString(local)
}

// isDotString reports whether s is an RFC 5321 Dot-string: atoms of atext
// (UTF-8 allowed, RFC 6531) joined by single dots.
func isDotString(s string) bool {
	if s == "" || s[0] == '.' || s[len(s)-1] == '.' || strings.Contains(s, "..") {
		return false
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= 0x80 || c == '.' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' {
			continue
		}
		if !strings.ContainsRune("!#$%&'*+-/=?^_`{|}~", rune(c)) {
			return false
		}
	}
	return true
}

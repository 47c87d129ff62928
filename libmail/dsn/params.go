package dsn

import "strings"

// The RFC 3461 parameters that travel with a message: xtext, the encoding
// of ENVID and ORCPT on the wire, and NOTIFY. smtpd decodes them, the
// smtp client encodes them again, and reports quote them, so they live
// here once.

// AppendXtext appends s encoded as RFC 3461 §4 xtext: the printable ASCII
// characters other than '+' and '=' as they are, every other byte as '+'
// and two upper-case hex digits.
func AppendXtext(b []byte, s string) []byte {
	const hex = "0123456789ABCDEF"
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c >= '!' && c <= '~' && c != '+' && c != '=' {
			b = append(b, c)
			continue
		}
		b = append(b, '+', hex[c>>4], hex[c&0xf])
	}
	return b
}

// Xtext returns s encoded as xtext.
func Xtext(s string) string { return string(AppendXtext(nil, s)) }

// DecodeXtext decodes an xtext value. RFC 3461 allows upper-case hex
// digits only, and a '+' must start an escape.
func DecodeXtext(s string) (string, bool) {
	if !strings.Contains(s, "+") {
		return s, true
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '+' {
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		hi, lo := unhex(s[i+1]), unhex(s[i+2])
		if hi < 0 || lo < 0 {
			return "", false
		}
		b.WriteByte(byte(hi<<4 | lo))
		i += 2
	}
	return b.String(), true
}

func unhex(c byte) int {
	switch {
	case c >= '0' && c <= '9':
		return int(c - '0')
	case c >= 'A' && c <= 'F':
		return int(c-'A') + 10
	}
	return -1
}

// ParseNotify checks a NOTIFY value (RFC 3461 §4.1): NEVER, or a list of
// SUCCESS, FAILURE and DELAY without repeats, in any case. It returns the
// value in upper case.
func ParseNotify(v string) (string, bool) {
	v = strings.ToUpper(v)
	if v == "NEVER" {
		return v, true
	}
	seen := map[string]bool{}
	for _, n := range strings.Split(v, ",") {
		if (n != "SUCCESS" && n != "FAILURE" && n != "DELAY") || seen[n] {
			return "", false
		}
		seen[n] = true
	}
	return v, true
}

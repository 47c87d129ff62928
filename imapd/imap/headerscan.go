package imap

import (
	"bytes"
	"strings"
)

// fieldIs tells whether the raw field ("Name: value...") is named name,
// as go-message's textproto matches: the name before the colon without
// spaces and tabs around it, compared in canonical form: ASCII
// case-insensitive for a token such as "Message-ID", exact for a name
// with a byte outside tokens.
func fieldIs(raw []byte, name string) bool {
	colon := bytes.IndexByte(raw, ':')
	if colon < 0 {
		return false
	}
	k := trimSpaceTab(raw[:colon])
	if len(k) != len(name) {
		return false
	}
	for _, c := range k {
		if !isToken(c) {
			// textproto.CanonicalMIMEHeaderKey leaves such a name as is.
			return string(k) == name
		}
	}
	for i := range len(k) {
		a, b := k[i], name[i]
		if 'A' <= a && a <= 'Z' {
			a += 'a' - 'A'
		}
		if 'A' <= b && b <= 'Z' {
			b += 'a' - 'A'
		}
		if a != b {
			return false
		}
	}
	return true
}

// fieldValue is the field's value as go-message's textproto gives it:
// each line without its CR and the spaces and tabs around it, the
// non-empty ones joined by one space.
func fieldValue(raw []byte) string {
	v := raw[bytes.IndexByte(raw, ':')+1:]
	// The common field: one line.
	if i := bytes.IndexByte(v, '\n'); i < 0 || i == len(v)-1 {
		return string(trimLine(v))
	}
	var b strings.Builder
	b.Grow(len(v))
	for len(v) > 0 {
		line := v
		if i := bytes.IndexByte(v, '\n'); i >= 0 {
			line, v = v[:i], v[i+1:]
		} else {
			v = nil
		}
		line = trimLine(line)
		if len(line) == 0 {
			continue
		}
		if b.Len() > 0 {
			b.WriteByte(' ')
		}
		b.Write(line)
	}
	return b.String()
}

// trimLine drops a final LF, then a CR, then spaces and tabs around.
func trimLine(l []byte) []byte {
	if len(l) > 0 && l[len(l)-1] == '\n' {
		l = l[:len(l)-1]
	}
	if len(l) > 0 && l[len(l)-1] == '\r' {
		l = l[:len(l)-1]
	}
	return trimSpaceTab(l)
}

func trimSpaceTab(s []byte) []byte {
	i, n := 0, len(s)
	for i < n && (s[i] == ' ' || s[i] == '\t') {
		i++
	}
	for n > i && (s[n-1] == ' ' || s[n-1] == '\t') {
		n--
	}
	return s[i:n]
}

// isToken is RFC 7230's tchar, what CanonicalMIMEHeaderKey folds.
func isToken(c byte) bool {
	switch {
	case 'a' <= c && c <= 'z', 'A' <= c && c <= 'Z', '0' <= c && c <= '9':
		return true
	}
	return strings.IndexByte("!#$%&'*+-.^_`|~", c) >= 0
}

package authres

import (
	"bytes"
	"strings"

	msgauth "github.com/emersion/go-msgauth/authres"
)

// Claims reports whether a header field, raw as intake captures it
// (name, colon, body, folded lines), is an Authentication-Results field
// that claims to come from authservID: RFC 8601 §5 has an MTA remove (or
// rename) every such field arriving from outside before it adds its own,
// or a sender could write "dkim=pass" in our name. The authserv-id is
// compared without regard to case and a trailing dot, as host names are.
//
// Removal errs on the side of removing: a field counts as ours when its
// authserv-id read by RFC 8601's grammar is, skipping comments and
// unquoting a quoted-string; when go-msgauth's Parse reads it so; or
// when it cannot be parsed past an authserv-id that is ours
// ("mx.example.net(x)", "mx.example.net/x"). A field that merely names
// us further on ("other.example; dkim=pass header.d=mx.example.net") is
// someone else's and stays.
func Claims(field []byte, authservID string) bool {
	n, body, ok := bytes.Cut(field, []byte(":"))
	if !ok || !eqFold(string(bytes.TrimRight(n, " \t")), Name) {
		return false
	}
	v := unfold(body)
	if sameID(leadingID(v), authservID) {
		return true
	}
	id, _, _ := msgauth.Parse(v)
	return sameID(id, authservID)
}

// sameID compares authserv-ids as host names compare: ASCII letters
// without regard to case (RFC 4343), a trailing dot ignored (but for an
// id that is nothing else).
func sameID(a, b string) bool {
	trim := func(s string) string {
		if len(s) > 1 {
			return strings.TrimSuffix(s, ".")
		}
		return s
	}
	return a != "" && eqFold(trim(a), trim(b))
}

// eqFold reports whether a and b are equal but for the case of ASCII
// letters, as field names and host names compare.
func eqFold(a, b string) bool {
	if len(a) != len(b) {
		return false
	}
	for i := 0; i < len(a); i++ {
		if lower(a[i]) != lower(b[i]) {
			return false
		}
	}
	return true
}

func lower(c byte) byte {
	if c >= 'A' && c <= 'Z' {
		return c + 'a' - 'A'
	}
	return c
}

// unfold returns a field body without its line ends (RFC 5322 §2.2.3).
func unfold(b []byte) string {
	s := string(b)
	if strings.ContainsAny(s, "\r\n") {
		s = strings.NewReplacer("\r", "", "\n", "").Replace(s)
	}
	return s
}

// leadingID returns the authserv-id a field body starts with (RFC 8601
// §2.2: [CFWS] authserv-id, a token or a quoted-string): comments and
// white space skipped, a quoted-string unquoted, a token read up to the
// first character that cannot be in one.
func leadingID(v string) string {
	i := skipCFWS(v, 0)
	if i < len(v) && v[i] == '"' {
		var b strings.Builder
		for i++; i < len(v) && v[i] != '"'; i++ {
			if v[i] == '\\' && i+1 < len(v) {
				i++
			}
			b.WriteByte(v[i])
		}
		return b.String()
	}
	j := i
	for j < len(v) && v[j] > ' ' && v[j] < 0x7f && strings.IndexByte(tspecials, v[j]) < 0 {
		j++
	}
	return v[i:j]
}

// skipCFWS returns the index of the first byte at or after i that is
// neither white space nor in a comment (RFC 5322 §3.2.2: comments nest,
// and a backslash quotes the next character).
func skipCFWS(v string, i int) int {
	depth := 0
	for ; i < len(v); i++ {
		switch c := v[i]; {
		case c == '\\' && depth > 0:
			i++
		case c == '(':
			depth++
		case c == ')' && depth > 0:
			depth--
		case depth == 0 && c != ' ' && c != '\t':
			return i
		}
	}
	return i
}

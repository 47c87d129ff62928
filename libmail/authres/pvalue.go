package authres

import (
	"strings"

	"postern.dev/postern/libmail/address"
)

// The values written into property values (RFC 8601 §2.2 pvalue) are
// kept to what go-msgauth's Format leaves unquoted and its Parse, which
// splits at ";" and white space and keeps quotes, reads back unchanged:
// letters, digits and the punctuation below. Anything else is shortened
// to a part that is (a domain without its local part) or left out; the
// field is a report, and a value a reader cannot parse helps nobody.

// hostName is d as a pvalue: its A-labels in lower case
// (address.ALabel), or "" for what is no host name (an address literal).
func hostName(d string) string {
	a, err := address.ALabel(d)
	if err != nil {
		return ""
	}
	return a
}

// mailDomain is the domain of an address, for smtp.mailfrom: the domain
// is what SPF authenticated, and local parts (SRS and BATV ones carry
// "=", SMTPUTF8 ones UTF-8) would often need quoting. RFC 8601 §2.2's
// pvalue allows a domain alone.
func mailDomain(addr string) string {
	_, d := address.Split(addr)
	return hostName(d)
}

// identity is a DKIM i= (RFC 6376 §3.5: [local-part] "@" domain) as a
// pvalue: whole when its local part is a dot-atom of the characters
// allowed, else "@" and the domain alone (which RFC 8601 §2.2 allows).
func identity(i string) string {
	at := strings.LastIndexByte(i, '@')
	if at < 0 {
		return ""
	}
	d := hostName(i[at+1:])
	if d == "" {
		return ""
	}
	local := i[:at]
	if local == "" || word(local, ".!#$%&'*+-/^_`{|}~") != local ||
		local[0] == '.' || local[len(local)-1] == '.' || strings.Contains(local, "..") {
		return "@" + d
	}
	return local + "@" + d
}

// word is s if it is made of ASCII letters, digits and the punctuation
// in also, else "".
func word(s, also string) string {
	if len(s) > 255 {
		return ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || strings.IndexByte(also, c) >= 0) {
			return ""
		}
	}
	return s
}

// sigPrefix is the first eight characters of a b= value (RFC 6008), its
// folding white space removed, or "" if they are not base64.
func sigPrefix(b string) string {
	b = strings.Join(strings.Fields(b), "")
	if len(b) > 8 {
		b = b[:8]
	}
	return word(b, "+/")
}

// comment makes free text fit in a comment (RFC 5322 §3.2.2) that every
// reader skips: printable ASCII, without the parentheses and backslash
// that nest and quote, the ";" that go-msgauth's Parse splits results
// at, and the "=" and quotes that would make a word of it look like a
// property to a parser that ignores comments; runs of anything else
// become one space. It is cut at 200 characters.
func comment(s string) string {
	var b strings.Builder
	space := false
	for i := 0; i < len(s) && b.Len() < 200; i++ {
		c := s[i]
		if c <= ' ' || c >= 0x7f || strings.IndexByte(`()\;="`, c) >= 0 {
			space = true
			continue
		}
		if space && b.Len() > 0 {
			b.WriteByte(' ')
		}
		space = false
		b.WriteByte(c)
	}
	return b.String()
}

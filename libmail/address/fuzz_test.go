package address

import (
	"strings"
	"testing"
)

// FuzzCheck feeds arbitrary strings through the address functions: they
// must not panic, and an address that passes Check must survive quoting
// and splitting: its path read back by a reader of RFC 5321 §4.1.2 (below,
// written apart from AppendPath) ends at the closing > and gives the
// address back.
func FuzzCheck(f *testing.F) {
	f.Fuzz(func(t *testing.T, addr string, utf8ok bool) {
		if Check(addr, utf8ok) != nil {
			return
		}
		local, domain := Split(addr)
		if local+"@"+domain != addr {
			t.Fatalf("split %q lost bytes", addr)
		}
		q := Quote(addr)
		path := string(AppendPath([]byte("<"), addr)) + "> SIZE=1"
		got, rest, ok := readPath(path)
		if !ok || got != addr || rest != " SIZE=1" {
			t.Fatalf("path %q of %q reads back as %q, rest %q, ok %v", path, addr, got, rest, ok)
		}
		if !strings.HasSuffix(q, "@"+domain) {
			t.Fatalf("Quote(%q) = %q changed the domain", addr, q)
		}
		if err := CheckDomain(strings.ToLower(domain), utf8ok); err != nil && IsASCII(domain) {
			t.Fatalf("lowercased domain of %q fails: %v", addr, err)
		}
		StripExtension(local, "+-")
	})
}

// readPath reads "<mailbox>rest" as a server does: a Quoted-string local
// part is unquoted, and the path ends at the first > outside quotes.
func readPath(s string) (addr, rest string, ok bool) {
	if !strings.HasPrefix(s, "<") {
		return "", "", false
	}
	var b strings.Builder
	quoted := false
	for i := 1; i < len(s); i++ {
		c := s[i]
		switch {
		case quoted && c == '\\' && i+1 < len(s):
			i++
			b.WriteByte(s[i])
		case c == '"':
			quoted = !quoted
		case !quoted && c == '>':
			return b.String(), s[i+1:], true
		case !quoted && c == ' ':
			return "", "", false // a space outside quotes ends the path early
		default:
			b.WriteByte(c)
		}
	}
	return "", "", false
}

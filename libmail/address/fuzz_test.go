package address

import (
	"strings"
	"testing"
)

// FuzzCheck feeds arbitrary strings through the address functions: they
// must not panic, and an address that passes Check must survive quoting
// and splitting.
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
		if !strings.HasSuffix(q, "@"+domain) {
			t.Fatalf("Quote(%q) = %q changed the domain", addr, q)
		}
		if err := CheckDomain(strings.ToLower(domain), utf8ok); err != nil && IsASCII(domain) {
			t.Fatalf("lowercased domain of %q fails: %v", addr, err)
		}
		StripExtension(local, "+-")
	})
}

package maildir

import "testing"

// FuzzParseName checks that ParseName never panics and that anything it
// accepts survives a round trip through String unchanged.
func FuzzParseName(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		n, err := ParseName(string(data))
		if err != nil {
			return
		}
		if n.Usec < 0 || n.Usec > 999999 || n.Sec < 0 || n.PID < 0 || n.Size < -1 {
			t.Fatalf("out of range: %+v", n)
		}
		s := n.String()
		m, err := ParseName(s)
		if err != nil {
			t.Fatalf("ParseName(%q) of String() of %+v: %v", s, n, err)
		}
		if m != n {
			t.Fatalf("round trip: %+v became %q then %+v", n, s, m)
		}
	})
}

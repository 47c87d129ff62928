package dsn

import (
	"strings"
	"testing"
)

// FuzzXtext: decoding what AppendXtext made gives back the input, for any
// bytes; and a decoded value encodes to a form that decodes to it again.
func FuzzXtext(f *testing.F) {
	for _, s := range []string{"", "abc", "a+b=c", "rfc822;δοκιμή@example.org", "+2B", "\x00\r\n", "x+41+"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		enc := Xtext(s)
		if dec, ok := DecodeXtext(enc); !ok || dec != s {
			t.Fatalf("DecodeXtext(Xtext(%q)) = %q, %v", s, dec, ok)
		}
		for i := 0; i < len(enc); i++ {
			if c := enc[i]; c < '!' || c > '~' || c == '=' {
				t.Fatalf("Xtext(%q) = %q holds %q", s, enc, c)
			}
		}
		if dec, ok := DecodeXtext(s); ok {
			if again, ok := DecodeXtext(Xtext(dec)); !ok || again != dec {
				t.Fatalf("%q decodes to %q, which does not survive a round trip", s, dec)
			}
		}
	})
}

// FuzzParseNotify: an accepted NOTIFY value is canonical (upper case,
// known keywords, no repeats, NEVER alone) and accepted again as is.
func FuzzParseNotify(f *testing.F) {
	for _, s := range []string{"NEVER", "never", "SUCCESS,FAILURE", "delay", "SUCCESS,SUCCESS", "NEVER,SUCCESS", "", ","} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		v, ok := ParseNotify(s)
		if !ok {
			return
		}
		if v != strings.ToUpper(s) {
			t.Fatalf("ParseNotify(%q) = %q", s, v)
		}
		if again, ok := ParseNotify(v); !ok || again != v {
			t.Fatalf("ParseNotify(%q) = %q, %v", v, again, ok)
		}
		words := strings.Split(v, ",")
		seen := map[string]bool{}
		for _, w := range words {
			if seen[w] || (w == "NEVER" && len(words) > 1) {
				t.Fatalf("ParseNotify(%q) accepted %q", s, v)
			}
			seen[w] = true
		}
	})
}

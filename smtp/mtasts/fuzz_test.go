package mtasts

import (
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics and that what it accepts obeys
// the rules the smtp agent relies on.
func FuzzParse(f *testing.F) {
	f.Add([]byte("version: STSv1\r\nmode: enforce\r\nmx: mail.example.com\r\nmx: *.example.net\r\nmax_age: 604800\r\n"))
	f.Fuzz(func(t *testing.T, body []byte) {
		p, err := Parse(body)
		if err != nil {
			return
		}
		switch p.Mode {
		case ModeEnforce, ModeTesting:
			if len(p.MX) == 0 {
				t.Errorf("mode %s without mx", p.Mode)
			}
		case ModeNone:
		default:
			t.Errorf("mode %q", p.Mode)
		}
		if p.MaxAge < 0 || p.MaxAge > MaxAge {
			t.Errorf("max_age %v", p.MaxAge)
		}
		for _, mx := range p.MX {
			if mx != strings.ToLower(mx) || strings.HasSuffix(mx, ".") || !validPattern(mx) {
				t.Errorf("mx %q not normalized", mx)
			}
			// Every plain pattern matches itself, every wildcard one
			// label more.
			host := mx
			if rest, ok := strings.CutPrefix(mx, "*."); ok {
				host = "x." + rest
			}
			if !p.Match(host) {
				t.Errorf("mx %q does not match %q", mx, host)
			}
		}
	})
}

// FuzzTXT checks that ParseTXT never panics and returns only ids the
// RFC allows.
func FuzzTXT(f *testing.F) {
	f.Add("v=STSv1; id=20160831085700Z;")
	f.Fuzz(func(t *testing.T, txt string) {
		id, ok := ParseTXT(txt)
		if ok != (id != "") {
			t.Errorf("ParseTXT(%q) = %q, %v", txt, id, ok)
		}
		if ok && (!validID(id) || !strings.HasPrefix(txt, "v=STSv1")) {
			t.Errorf("ParseTXT(%q) accepted id %q", txt, id)
		}
	})
}

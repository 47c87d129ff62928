package authres

import (
	"encoding/json"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"

	msgauth "github.com/emersion/go-msgauth/authres"
)

// parsePy reads each message file named on its command line with
// Python's email package, under its modern and its compat32 policies,
// and prints the Authentication-Results field's value as each policy
// gives it and the defects found, as JSON.
const parsePy = `
import email, email.policy, json, sys
out = []
for name in sys.argv[1:]:
    raw = open(name, 'rb').read()
    m = email.message_from_bytes(raw, policy=email.policy.default)
    h = m['Authentication-Results']
    c = email.message_from_bytes(raw, policy=email.policy.compat32)
    out.append({'default': str(h), 'compat32': str(c['Authentication-Results']),
                'defects': [repr(d) for d in list(m.defects) + list(h.defects)],
                'count': len(m.get_all('Authentication-Results'))})
print(json.dumps(out))
`

// TestFieldPython: Python's email package, which the end-to-end tests
// use to read delivered mail, parses the field without defects and gives
// back Value's text.
func TestFieldPython(t *testing.T) {
	py, err := exec.LookPath("python3")
	if err != nil {
		t.Skip("no python3")
	}
	cases := []Results{
		{},
		passed,
		{
			SPF:   &SPF{Result: msgauth.ResultFail, MailFrom: "a@evil.example", Helo: "mx.evil.example", Comment: "192.0.2.1 (not) allowed; \"=?utf-8?q?x?=\""},
			DKIM:  []DKIM{{Result: msgauth.ResultFail, Domain: "bücher.example", Selector: "s", Comment: "body hash did not verify"}},
			DMARC: &DMARC{Result: msgauth.ResultFail, From: "bücher.example", Policy: "reject", Disposition: "reject"},
		},
	}
	dir := t.TempDir()
	var files []string
	for i, res := range cases {
		f, err := Field(id, res)
		if err != nil {
			t.Fatal(err)
		}
		name := filepath.Join(dir, string(rune('a'+i)))
		msg := append(f, "From: a@example.com\r\nSubject: test\r\n\r\nbody\r\n"...)
		if err := os.WriteFile(name, msg, 0o600); err != nil {
			t.Fatal(err)
		}
		files = append(files, name)
	}
	out, err := exec.Command(py, append([]string{"-c", parsePy}, files...)...).Output()
	if err != nil {
		t.Fatalf("python3: %v", err)
	}
	var got []struct {
		Default, Compat32 string
		Defects           []string
		Count             int
	}
	if err := json.Unmarshal(out, &got); err != nil || len(got) != len(cases) {
		t.Fatalf("python3 printed %q: %v", out, err)
	}
	for i, res := range cases {
		want, _ := Value(id, res)
		if res.SPF == nil && res.DKIM == nil && res.DMARC == nil {
			want += "; none"
		}
		g := got[i]
		if collapse(g.Default) != want || collapse(g.Compat32) != want || len(g.Defects) > 0 || g.Count != 1 {
			t.Errorf("Python read %+v, want %q once without defects", g, want)
		}
		if strings.Contains(g.Default, "\r") || strings.Contains(g.Default, "\n") {
			t.Errorf("Python's value %q is not unfolded", g.Default)
		}
	}
}

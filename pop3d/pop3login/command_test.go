package pop3login

import "testing"

func TestParseCommand(t *testing.T) {
	for _, tc := range []struct {
		in   string
		name string
		arg  string
		ok   bool
	}{
		{"capa", "CAPA", "", true},
		{"USER demo@example.test", "USER", "demo@example.test", true},
		{"PASS pass with spaces ", "PASS", "pass with spaces ", true},
		{"AUTH PLAIN AGRlbW8AZGVtbw==", "AUTH", "PLAIN AGRlbW8AZGVtbw==", true},
		{"", "", "", false},
		{"QU", "", "", false},
		{"QUITS", "", "", false},
		{"QU1T", "", "", false},
		{" QUIT", "", "", false},
	} {
		cmd, ok := parseCommand(tc.in)
		if ok != tc.ok || cmd.name != tc.name || cmd.arg != tc.arg {
			t.Errorf("%q: %+v %v, want %s %q %v", tc.in, cmd, ok, tc.name, tc.arg, tc.ok)
		}
	}
}

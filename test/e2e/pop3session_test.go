package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// TestPOP3SessionPython: Python's poplib runs a whole session against
// the sandbox's pop3d through the login front (STLS on 110): capa,
// login, stat, list, uidl, top, retr, dele, rset, dele, noop, quit;
// then a second session over TLS on 995 sees the deletion made at QUIT
// and the same UIDL for the message left. Its responses, with sizes,
// UIDLs and dates masked, must match testdata/pop3session.golden
// (UPDATE_GOLDEN=1 rewrites it).
func TestPOP3SessionPython(t *testing.T) {
	s := NewSystem(t, Options{})
	// One after the other: POP3 numbers them in the order they arrived.
	smtpSend(t, s, "demo@example.test", "first", "first message\r\n")
	s.WaitMessages("demo@example.test", 1, 10e9)
	smtpSend(t, s, "demo@example.test", "second", "second message\r\n")
	s.WaitMessages("demo@example.test", 2, 10e9)
	out, err := exec.Command("/usr/bin/python3", filepath.Join("testdata", "pop3session.py"), strconv.Itoa(s.Base), "demo@example.test", "demo").CombinedOutput()
	if err != nil {
		t.Fatalf("pop3session.py: %v\n%s\n%s", err, out, tail(s.Log(), 30))
	}
	golden := filepath.Join("testdata", "pop3session.golden")
	if os.Getenv("UPDATE_GOLDEN") == "1" {
		if err := os.WriteFile(golden, out, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	want, err := os.ReadFile(golden)
	if err != nil {
		t.Fatal(err)
	}
	if string(out) != string(want) {
		t.Errorf("session differs from %s; got\n%s", golden, out)
	}
}

package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"testing"
)

// TestIMAPSessionPython: Python's imaplib runs a whole session against
// the sandbox's imapd (login, list, select, fetch of bodies,
// BODYSTRUCTURE and partials, search, store, copy, move, append,
// expunge, IDLE woken by an SMTP delivery, logout); its responses, with
// UIDVALIDITY, dates and sizes masked, must match
// testdata/imapsession.golden (UPDATE_GOLDEN=1 rewrites it).
func TestIMAPSessionPython(t *testing.T) {
	s := NewSystem(t, Options{})
	deliverOne(t, s, "one")
	deliverMIME(t, s)
	out, err := exec.Command("/usr/bin/python3", filepath.Join("testdata", "imapsession.py"), strconv.Itoa(s.Base), "demo@example.test", "demo").CombinedOutput()
	if err != nil {
		t.Fatalf("imapsession.py: %v\n%s\n%s", err, out, tail(s.Log(), 30))
	}
	golden := filepath.Join("testdata", "imapsession.golden")
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

// deliverMIME sends a multipart message with an attachment.
func deliverMIME(t *testing.T, s *System) {
	t.Helper()
	before := len(s.Messages("demo@example.test"))
	d := Dial(t, s.Addr(25))
	d.Expect("EHLO client.example", "250")
	d.Expect("MAIL FROM:<sender@client.example>", "250")
	d.Expect("RCPT TO:<demo@example.test>", "250")
	d.Expect("DATA", "354")
	d.Send("Subject: two\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=xx\r\n\r\n" +
		"--xx\r\nContent-Type: text/plain; charset=utf-8\r\n\r\nsee attached file\r\n" +
		"--xx\r\nContent-Type: application/octet-stream; name=a.bin\r\nContent-Transfer-Encoding: base64\r\n\r\naGVsbG8gd29ybGQ=\r\n--xx--\r\n.\r\n")
	d.Reply()
	d.Expect("QUIT", "221")
	s.WaitMessages("demo@example.test", before+1, 10e9)
}

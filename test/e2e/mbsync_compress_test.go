package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMbsyncCompress: imapd announces COMPRESS=DEFLATE and mbsync,
// which uses it when announced and flushes with zlib's
// Z_PARTIAL_FLUSH, syncs over it both ways (messages with bodies large
// enough for dynamic Huffman blocks go up), and a second run finds
// nothing to do. mbsync -Dn prints the protocol, so the test sees the
// COMPRESS command and its OK.
func TestMbsyncCompress(t *testing.T) {
	mbsync, err := exec.LookPath("mbsync")
	if err != nil {
		t.Skip("mbsync not installed (apt-get install isync)")
	}
	const n = 40
	s := NewSystem(t, Options{})
	const rcpt = "demo@example.test"
	for i := range n {
		smtpSend(t, s, rcpt, fmt.Sprintf("down-%03d", i), strings.Repeat(fmt.Sprintf("delivered on the server, number %d\r\n", i), 50))
	}
	s.WaitMessages(rcpt, n, 60*time.Second)

	home := t.TempDir()
	inbox := filepath.Join(home, "mail", "INBOX")
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(inbox, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		body := strings.Repeat(fmt.Sprintf("written by the client, line of message %d, compressible\n", i), 40+i)
		msg := fmt.Sprintf("From: me@example.test\nTo: demo@example.test\nSubject: up-%03d\nMessage-ID: <up-%03d@client.example>\nDate: Mon, 07 Dec 2026 06:00:00 +0000\n\n%s", i, i, body)
		if err := os.WriteFile(filepath.Join(inbox, "new", fmt.Sprintf("1796600000.%d_%d.client", i, i)), []byte(msg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rc := filepath.Join(home, "mbsyncrc")
	conf := fmt.Sprintf(`IMAPAccount postern
Host 127.0.0.1
Port %d
User %s
Pass demo
SSLType IMAPS
CertificateFile %s

IMAPStore remote
Account postern

MaildirStore local
Path %s/
Inbox %s

Channel sync
Far :remote:
Near :local:
Patterns INBOX
Create Both
Expunge Both
SyncState *
Sync All
`, s.Base+993, rcpt, filepath.Join(s.Dir, "tls", "cert.pem"), filepath.Join(home, "mail"), inbox)
	if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	run := func(what string) string {
		t.Helper()
		cmd := exec.Command(mbsync, "-c", rc, "-Dn", "-a")
		cmd.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin"}
		done := make(chan struct{})
		var out []byte
		go func() {
			defer close(done)
			out, err = cmd.CombinedOutput()
		}()
		select {
		case <-done:
		case <-time.After(60 * time.Second):
			cmd.Process.Kill()
			<-done
			t.Fatalf("mbsync (%s) stalled:\n%s", what, tail(string(out), 40))
		}
		if err != nil {
			t.Fatalf("mbsync (%s): %v\n%s\n%s", what, err, tail(string(out), 40), tail(s.Log(), 30))
		}
		if !strings.Contains(string(out), "COMPRESS DEFLATE") || !strings.Contains(string(out), "OK DEFLATE active") {
			t.Errorf("mbsync (%s) did not turn compression on:\n%s", what, tail(string(out), 40))
		}
		return string(out)
	}
	run("first")
	if got := count2(inbox); got != 2*n {
		t.Errorf("local INBOX holds %d messages, want %d", got, 2*n)
	}
	if got := count2(s.Maildir(rcpt)); got != 2*n {
		t.Errorf("the server's INBOX holds %d messages, want %d", got, 2*n)
	}
	before := names(s.Maildir(rcpt))
	run("second")
	if got := names(s.Maildir(rcpt)); len(got) != len(before) {
		t.Errorf("the second run changed the server's Maildir: %d names, then %d", len(before), len(got))
	}
}

// count2 counts the messages in a Maildir's cur/ and new/.
func count2(dir string) int {
	return len(names(dir))
}

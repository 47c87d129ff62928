package e2e

import (
	"fmt"
	"os/exec"
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
	const n = 40
	e := newMbsyncEnv(t, n, func(i int) string {
		return strings.Repeat(fmt.Sprintf("delivered on the server, number %d\r\n", i), 50)
	},
		func(i int) string {
			return strings.Repeat(fmt.Sprintf("written by the client, line of message %d, compressible\n", i), 40+i)
		}, "", "INBOX")
	s, home, inbox, rc, rcpt := e.s, e.home, e.inbox, e.rc, e.rcpt
	run := func(what string) string {
		t.Helper()
		cmd := exec.Command(e.mbsync, "-c", rc, "-Dn", "-a")
		cmd.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin"}
		done := make(chan struct{})
		var out []byte
		var err error
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
	if got := countMessages(inbox); got != 2*n {
		t.Errorf("local INBOX holds %d messages, want %d", got, 2*n)
	}
	if got := countMessages(s.Maildir(rcpt)); got != 2*n {
		t.Errorf("the server's INBOX holds %d messages, want %d", got, 2*n)
	}
	before := names(s.Maildir(rcpt))
	run("second")
	if got := names(s.Maildir(rcpt)); len(got) != len(before) {
		t.Errorf("the second run changed the server's Maildir: %d names, then %d", len(before), len(got))
	}
}

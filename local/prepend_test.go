package local

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/testkit"

	"postern.dev/postern/libmail/queue"
)

// The fields a queue writer decided after the body (queue.Writer.Prepend),
// and a message longer than the queue's 64 KiB write buffer, so that the
// stored part is not read in one piece either.
const (
	prependAR  = "Authentication-Results: mail.example.test;\r\n\tspf=pass smtp.mailfrom=example.org\r\n"
	prependSig = "DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=sel;\r\n\tb=AAAA\r\n"
)

var prependedMessage = testMessage + strings.Repeat("a body line to make the message longer than a buffer\r\n", 1500)

// enqueuePrepended writes an entry with header fields prepended, as smtpd
// will for Authentication-Results:, and moves it to active/.
func (e *testEnv) enqueuePrepended(sender, msg string, rcpts ...string) queue.ID {
	e.t.Helper()
	env := queue.Envelope{Sender: sender, ClientName: "client.example.org", Recipients: testkit.Recipients(rcpts...)}
	return testkit.Enqueue(e.t, e.spool, queue.Active, env, msg, prependAR, prependSig)
}

// TestPrependedHeaderDelivered: a queue entry with prepended header
// fields is delivered byte for byte as the complete message, the
// prepended fields on top, into a Maildir, to a command and into a
// forwarded copy; and local's Delivered-To: loop check sees a prepended
// field as the header it is.
func TestPrependedHeaderDelivered(t *testing.T) {
	dir := t.TempDir()
	out := filepath.Join(dir, "out")
	aliases := "prog: \"|cat > " + out + "\"\nfwd: out@remote.example\n"
	e := newTestEnv(t, envOptions{aliases: aliases, accounts: "user@example.test:{PLAIN}pw\n"})
	complete := prependSig + prependAR + prependedMessage

	id := e.enqueuePrepended("sender@example.org", prependedMessage, "user@example.test")
	checkResults(t, e.handle(id, true, 0), wantResult{"sent", "2.0.0", "delivered to maildir"})
	got := maildirFiles(t, filepath.Join(e.vbase, "example.test", "user"))
	if want := "Return-Path: <sender@example.org>\nDelivered-To: user@example.test\n" + lf(complete); len(got) != 1 || got[0] != want {
		t.Errorf("maildir holds %d messages; the first differs from the complete message (%d bytes, want %d)", len(got), len(first(got)), len(want))
	}

	id = e.enqueuePrepended("sender@example.org", prependedMessage, "prog@example.test")
	checkResults(t, e.handle(id, true, 0), wantResult{"sent", "2.0.0", "delivered to command"})
	if b, err := os.ReadFile(out); err != nil || string(b) != "Return-Path: <sender@example.org>\nDelivered-To: prog@example.test\n"+lf(complete) {
		t.Errorf("the command read %d bytes (%v), not the complete message", len(b), err)
	}

	id = e.enqueuePrepended("sender@example.org", prependedMessage, "fwd@example.test")
	rep := e.handle(id, true, 0)
	checkResults(t, rep, wantResult{"sent", "2.0.0", "forwarded as "})
	woken := e.waker.IDs()
	if len(woken) != 1 {
		t.Fatalf("woke %v", woken)
	}
	if _, msg := e.read(queue.Incoming, woken[0]); msg != "Delivered-To: fwd@example.test\r\n"+complete {
		t.Errorf("the forwarded copy holds %d bytes, not the complete message below Delivered-To:", len(msg))
	}

	// A prepended Delivered-To: is header, so a loop shows.
	env := &queue.Envelope{Arrival: time.Now(), Sender: "s@example.org", Recipients: []queue.Recipient{{Addr: "user@example.test"}}}
	lid := e.spool.NewID()
	w, err := e.spool.Create(lid, env)
	if err != nil {
		t.Fatal(err)
	}
	io.WriteString(w, testMessage)
	w.Prepend([]byte("Delivered-To: user@example.test\r\n"))
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	e.spool.Move(lid, queue.Incoming, queue.Active)
	checkResults(t, e.handle(lid, true, 0), wantResult{"failed", "5.4.6", "mail forwarding loop"})
}

func first(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[0]
}

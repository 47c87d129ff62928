package local

import (
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/queue"
	"postern.dev/postern/libmail/testkit"
)

// enqueueQuarantined is enqueue for a message accepted into quarantine.
func (e *testEnv) enqueueQuarantined(msg, reason string, rcpts ...string) queue.ID {
	e.t.Helper()
	id := e.spool.NewID()
	w, err := e.spool.Create(id, &queue.Envelope{Arrival: time.Now(), Sender: "s@example.org", Proto: "ESMTP",
		Recipients: testkit.Recipients(rcpts...)})
	if err != nil {
		e.t.Fatal(err)
	}
	io.WriteString(w, msg)
	w.Record(queue.QuarantineRecord{Reason: reason})
	if err := w.Commit(); err != nil {
		e.t.Fatal(err)
	}
	if err := e.spool.Move(id, queue.Incoming, queue.Active); err != nil {
		e.t.Fatal(err)
	}
	return id
}

// TestQuarantineToJunk: a quarantined message goes to the Maildir++
// folder Junk of the recipient's mailbox (made with its maildirfolder
// marker), not to the inbox, and the log says so; other mail still goes
// to the inbox.
func TestQuarantineToJunk(t *testing.T) {
	e := newTestEnv(t, envOptions{accounts: "user@example.test:{PLAIN}pw\n"})
	box := filepath.Join(e.vbase, "example.test", "user")
	id := e.enqueueQuarantined(testMessage, "dmarc=fail (p=quarantine) header.from=example.org", "user@example.test")
	rep := e.handle(id, true, 0)
	checkResults(t, rep, wantResult{"sent", "2.0.0", "delivered to maildir folder Junk"})
	if got := maildirFiles(t, filepath.Join(box, ".Junk")); len(got) != 1 || !strings.HasSuffix(got[0], testMessageLF()) {
		t.Errorf("Junk holds %q", got)
	}
	if got := maildirFiles(t, box); len(got) != 0 {
		t.Errorf("the inbox holds %d messages, want none", len(got))
	}
	if _, err := os.Stat(filepath.Join(box, ".Junk", "maildirfolder")); err != nil {
		t.Errorf("no maildirfolder marker: %v", err)
	}
	if log := e.log.String(); !strings.Contains(log, "status=sent (delivered to maildir folder Junk (dmarc=fail (p=quarantine) header.from=example.org))") {
		t.Errorf("log:\n%s", log)
	}
	e.handle(e.enqueue("s@example.org", testMessage, "user@example.test"), true, 0)
	if got := maildirFiles(t, box); len(got) != 1 {
		t.Errorf("the inbox holds %d messages after an ordinary one, want 1", len(got))
	}
}

// testMessageLF is testMessage as a Maildir file holds it.
func testMessageLF() string { return strings.ReplaceAll(testMessage, "\r\n", "\n") }

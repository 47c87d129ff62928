package local

import (
	"os"
	"path/filepath"
	"strings"
	"testing"

	"postern.dev/postern/libmail/queue"
)

// A delivery whose record was lost (a crash after the Maildir had the
// message, before the queue said so) is recognised when the entry is
// delivered again, and the mailbox keeps one copy.
func TestDeliveryAfterLostRecord(t *testing.T) {
	e := newTestEnv(t, envOptions{accounts: hashedAccounts(t, filepath.Join(t.TempDir(), "homed"))})
	id := e.enqueue("sender@example.org", testMessage, "user@example.test")
	path := e.spool.Path(queue.Active, id)
	before, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	// lose puts the entry back as it was before the attempt, with marks.
	lose := func(recs ...queue.Record) {
		t.Helper()
		if err := os.WriteFile(path, before, 0o600); err != nil {
			t.Fatal(err)
		}
		f, err := os.OpenFile(path, os.O_WRONLY|os.O_APPEND, 0)
		if err != nil {
			t.Fatal(err)
		}
		defer f.Close()
		if err := queue.Append(f, recs...); err != nil {
			t.Fatal(err)
		}
	}
	box := filepath.Join(e.vbase, "example.test", "user")

	checkResults(t, e.handle(id, false, 0), wantResult{"sent", "2.0.0", "delivered to maildir"})
	lose()
	checkResults(t, e.handle(id, false, 0), wantResult{"sent", "2.0.0", "delivered to maildir" + dupNote})
	if got := maildirFiles(t, box); len(got) != 1 {
		t.Fatalf("maildir holds %d messages after a repeated delivery, want 1", len(got))
	}

	// A reader moved it to cur/: only the interrupted mark makes local
	// look there.
	names, _ := filepath.Glob(filepath.Join(box, "new", "*"))
	if len(names) != 1 {
		t.Fatalf("new/ holds %v", names)
	}
	if err := os.Rename(names[0], filepath.Join(box, "cur", filepath.Base(names[0])+":2,S")); err != nil {
		t.Fatal(err)
	}
	lose(queue.InterruptedRecord{})
	checkResults(t, e.handle(id, false, 0), wantResult{"sent", "2.0.0", dupNote})
	if got := maildirFiles(t, box); len(got) != 0 {
		t.Errorf("new/ holds %d messages after a recheck found it in cur/", len(got))
	}
	if !strings.Contains(e.log.String(), "already there from an interrupted attempt") {
		t.Errorf("log:\n%s", e.log.String())
	}
}

package local

import (
	"path/filepath"
	"strings"
	"testing"

	"postern.dev/postern/libmail/config"
)

// TestQuotaDefers: a mailbox at its quota (mailbox_quota, or the
// account's own userdb_quota_rule) defers mail with 4.2.2 instead of
// bouncing it, and nothing is written; an account under its own larger
// limit still gets mail.
func TestQuotaDefers(t *testing.T) {
	e := newTestEnv(t, envOptions{
		accounts: "full@example.test:{PLAIN}pw\nroomy@example.test:{PLAIN}pw::::::userdb_quota_rule=*:storage=1M\n",
		params:   func(p *config.Params) { p.MailboxQuota = 300 },
	})
	big := "Subject: big\r\n\r\n" + strings.Repeat("x", 200) + "\r\n"
	e.handle(e.enqueue("s@example.org", big, "full@example.test"), true, 0)
	box := filepath.Join(e.vbase, "example.test", "full")
	if got := maildirFiles(t, box); len(got) != 1 {
		t.Fatalf("first message: %d files", len(got))
	}
	rep := e.handle(e.enqueue("s@example.org", testMessage, "full@example.test"), true, 0)
	checkResults(t, rep, wantResult{"deferred", "4.2.2", "is full"})
	if got := maildirFiles(t, box); len(got) != 1 {
		t.Errorf("over quota: %d files, want 1", len(got))
	}
	rep = e.handle(e.enqueue("s@example.org", big, "roomy@example.test"), true, 0)
	checkResults(t, rep, wantResult{"sent", "2.0.0", "delivered to maildir"})
	rep = e.handle(e.enqueue("s@example.org", big, "roomy@example.test"), true, 0)
	checkResults(t, rep, wantResult{"sent", "2.0.0", "delivered to maildir"})
}

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

// TestIMAPMbsync: mbsync (isync) pulls the INBOX that local filled,
// with every folder, pushes a message back, and runs once more without
// errors.
func TestIMAPMbsync(t *testing.T) {
	if _, err := exec.LookPath("mbsync"); err != nil {
		t.Skip("mbsync not installed (apt-get install isync)")
	}
	s := NewSystem(t, Options{Set: []string{"login_plaintext_auth=true"}})
	for i := 0; i < 20; i++ {
		deliverOne(t, s, fmt.Sprintf("msg%d", i))
	}
	dir := t.TempDir()
	local := filepath.Join(dir, "mail") + "/"
	os.MkdirAll(local, 0o700)
	conf := filepath.Join(dir, "mbsyncrc")
	os.WriteFile(conf, []byte(fmt.Sprintf(`IMAPAccount sandbox
Host 127.0.0.1
Port %d
User demo@example.test
Pass demo
SSLType None
AuthMechs LOGIN

IMAPStore remote
Account sandbox

MaildirStore local
Path %s
Inbox %sINBOX
SubFolders Verbatim

Channel sync
Far :remote:
Near :local:
Patterns *
Create Both
Expunge Both
SyncState *
`, s.Base+143, local, local)), 0o600)
	run := func() string {
		t.Helper()
		start := time.Now()
		defer func() { t.Logf("mbsync run: %v", time.Since(start)) }()
		cmd := exec.Command("mbsync", "-c", conf, "-a")
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("mbsync: %v\n%s\n%s", err, out, tail(s.Log(), 30))
		}
		return string(out)
	}
	run()
	got, _ := filepath.Glob(filepath.Join(local, "INBOX", "cur", "*"))
	newer, _ := filepath.Glob(filepath.Join(local, "INBOX", "new", "*"))
	if n := len(got) + len(newer); n != 20 {
		t.Fatalf("mbsync fetched %d messages, want 20", n)
	}
	os.WriteFile(filepath.Join(local, "INBOX", "new", "1.local.x"), []byte("Subject: pushed\n\nfrom mbsync\n"), 0o600)
	run()
	onServer := func() int {
		n := 0
		for _, d := range []string{"new", "cur"} {
			f, _ := filepath.Glob(filepath.Join(s.Maildir("demo@example.test"), d, "*"))
			n += len(f)
		}
		return n
	}
	if n := onServer(); n != 21 {
		t.Errorf("after the push the server has %d messages, want 21", n)
	}
	out := run()
	if strings.Contains(out, "error") {
		t.Errorf("third run: %s", out)
	}
}

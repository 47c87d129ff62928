package e2e

import (
	"fmt"
	"maps"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMbsync: isync's mbsync, unattended, keeps a local Maildir and the
// server's mailbox in step over IMAP with TLS (port 993, the sandbox's
// certificate trusted as a user would trust a self-signed one): 500
// messages delivered on the server come down, 500 written locally go
// up, with no error; a second run changes no file on either side; and
// flags set locally reach the server in the third run.
func TestMbsync(t *testing.T) {
	const n = 500
	e := newMbsyncEnv(t, n, func(i int) string { return fmt.Sprintf("delivered on the server, number %d\r\n", i) },
		func(i int) string { return fmt.Sprintf("written by the client, number %d\n", i) },
		"SubFolders Verbatim\n", "*")
	s, home, inbox, rc, rcpt := e.s, e.home, e.inbox, e.rc, e.rcpt
	run := func(what string) string {
		t.Helper()
		cmd := exec.Command(e.mbsync, "-c", rc, "-V", "-a")
		cmd.Env = []string{"HOME=" + home, "PATH=/usr/bin:/bin"}
		out, err := cmd.CombinedOutput()
		if err != nil {
			t.Fatalf("mbsync (%s): %v\n%s\n%s", what, err, out, tail(s.Log(), 30))
		}
		for _, bad := range []string{"Error", "error", "Warning", "warning"} {
			if strings.Contains(string(out), bad) {
				t.Errorf("mbsync (%s) complained:\n%s", what, out)
				break
			}
		}
		return string(out)
	}
	first := run("first")
	if got := countMessages(inbox); got != 2*n {
		t.Errorf("local INBOX holds %d messages after the first run, want %d:\n%s", got, 2*n, first)
	}
	if got := countMessages(s.Maildir(rcpt)); got != 2*n {
		t.Errorf("the server's INBOX holds %d messages after the first run, want %d:\n%s", got, 2*n, first)
	}

	// A run with nothing to do changes no file on either side (names
	// carry the flags on both).
	localBefore, serverBefore := names(inbox), names(s.Maildir(rcpt))
	run("second")
	if got := names(inbox); !maps.Equal(got, localBefore) {
		t.Errorf("the second run changed the local Maildir: %d names before, %d after", len(localBefore), len(got))
	}
	if got := names(s.Maildir(rcpt)); !maps.Equal(got, serverBefore) {
		t.Errorf("the second run changed the server's Maildir: %d names before, %d after", len(serverBefore), len(got))
	}

	// Flags set locally (messages read: S in their names, and moved out
	// of new/, as a mail reader does) go up.
	seen := 0
	unread, _ := filepath.Glob(filepath.Join(inbox, "new", "*"))
	for _, f := range unread {
		if seen == 10 {
			break
		}
		if err := os.Rename(f, filepath.Join(inbox, "cur", filepath.Base(f)+":2,S")); err != nil {
			t.Fatal(err)
		}
		seen++
	}
	cur, _ := filepath.Glob(filepath.Join(inbox, "cur", "*"))
	for _, f := range cur {
		if seen == 10 {
			break
		}
		if strings.HasSuffix(f, ":2,") {
			if err := os.Rename(f, f+"S"); err != nil {
				t.Fatal(err)
			}
			seen++
		}
	}
	seenBefore := countSeen(s.Maildir(rcpt))
	run("third")
	if seen == 0 {
		t.Error("no unread message to mark read locally")
	}
	if got := countSeen(s.Maildir(rcpt)); got != seenBefore+seen {
		t.Errorf("the server has %d messages seen after the third run, want %d + %d", got, seenBefore, seen)
	}
	if got := countMessages(s.Maildir(rcpt)); got != 2*n {
		t.Errorf("the server's INBOX holds %d messages after the third run, want %d", got, 2*n)
	}
}

// names is the set of message file names in a Maildir's cur/ and new/.
func names(dir string) map[string]bool {
	set := map[string]bool{}
	for _, d := range []string{"cur", "new"} {
		m, _ := filepath.Glob(filepath.Join(dir, d, "*"))
		for _, f := range m {
			set[d+"/"+filepath.Base(f)] = true
		}
	}
	return set
}

// countSeen counts the messages of a Maildir whose names carry S.
func countSeen(dir string) int {
	k := 0
	m, _ := filepath.Glob(filepath.Join(dir, "cur", "*"))
	for _, f := range m {
		if _, flags, ok := strings.Cut(filepath.Base(f), ":2,"); ok && strings.Contains(flags, "S") {
			k++
		}
	}
	return k
}

// mbsyncEnv is a system with n messages delivered to demo, a local
// Maildir INBOX with n messages of the client's, and an mbsyncrc that
// syncs the two over IMAPS (the sandbox's certificate trusted).
type mbsyncEnv struct {
	s                       *System
	mbsync, home, inbox, rc string
	rcpt                    string
}

// newMbsyncEnv makes it: down and up give message i's body on the
// server and on the client, storeExtra is added to the MaildirStore
// section, patterns is the channel's Patterns. It skips the test
// without mbsync.
func newMbsyncEnv(t *testing.T, n int, down, up func(i int) string, storeExtra, patterns string) *mbsyncEnv {
	t.Helper()
	mbsync, err := exec.LookPath("mbsync")
	if err != nil {
		t.Skip("mbsync not installed (apt-get install isync)")
	}
	e := &mbsyncEnv{s: NewSystem(t, Options{}), mbsync: mbsync, home: t.TempDir(), rcpt: "demo@example.test"}
	for i := range n {
		smtpSend(t, e.s, e.rcpt, fmt.Sprintf("down-%03d", i), down(i))
	}
	e.s.WaitMessages(e.rcpt, n, 60*time.Second)
	local := filepath.Join(e.home, "mail")
	e.inbox = filepath.Join(local, "INBOX")
	for _, d := range []string{"cur", "new", "tmp"} {
		if err := os.MkdirAll(filepath.Join(e.inbox, d), 0o700); err != nil {
			t.Fatal(err)
		}
	}
	for i := range n {
		msg := fmt.Sprintf("From: me@example.test\nTo: demo@example.test\nSubject: up-%03d\nMessage-ID: <up-%03d@client.example>\nDate: Mon, 07 Dec 2026 06:00:00 +0000\n\n%s", i, i, up(i))
		if err := os.WriteFile(filepath.Join(e.inbox, "new", fmt.Sprintf("1796600000.%d_%d.client", i, i)), []byte(msg), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	e.rc = filepath.Join(e.home, "mbsyncrc")
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
%s
Channel sync
Far :remote:
Near :local:
Patterns %s
Create Both
Expunge Both
SyncState *
Sync All
`, e.s.Base+993, e.rcpt, filepath.Join(e.s.Dir, "tls", "cert.pem"), local, e.inbox, storeExtra, patterns)
	if err := os.WriteFile(e.rc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	return e
}

// countMessages counts the messages in a Maildir's cur/ and new/.
func countMessages(dir string) int { return len(names(dir)) }

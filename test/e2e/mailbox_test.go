package e2e

import (
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"
)

// smtpSend sends one message over SMTP to rcpt.
func smtpSend(t *testing.T, s *System, rcpt, subject, body string) {
	t.Helper()
	d := Dial(t, s.Addr(25))
	d.Expect("EHLO client.example", "250")
	d.Expect("MAIL FROM:<alice@example.org>", "250")
	d.Expect("RCPT TO:<"+rcpt+">", "250")
	d.Expect("DATA", "354")
	d.Send("Subject: " + subject + "\r\nMessage-ID: <" + subject + "@client.example>\r\n\r\n" + body + ".\r\n")
	if r := d.Reply(); !strings.HasPrefix(r, "250 ") {
		t.Fatalf("end of data: %q", r)
	}
	d.Expect("QUIT", "221")
}

// pop3 runs the pop3d binary on a Maildir as its owner (as the session
// process runs after login) with the client's lines, and returns what it
// said.
func pop3(t *testing.T, s *System, maildir string, lines ...string) string {
	t.Helper()
	cmd := exec.Command(filepath.Join(binDir, "pop3d"), "-c", s.Config, "-m", maildir, "-u", "test")
	cmd.Stdin = strings.NewReader(strings.Join(lines, "\r\n") + "\r\n")
	if os.Geteuid() == 0 {
		fi, err := os.Stat(maildir)
		if err != nil {
			t.Fatal(err)
		}
		st := fi.Sys().(*syscall.Stat_t)
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: st.Uid, Gid: st.Gid}}
	}
	var stderr strings.Builder
	cmd.Stderr = &stderr
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("pop3d: %v\n%s", err, stderr.String())
	}
	return strings.ReplaceAll(string(out), "\r\n", "\n")
}

// TestMailboxStore: mail that local delivers is served by pop3d with
// UIDLs that stay across sessions and deliveries; a DELE at QUIT removes
// the file; a mailbox at mailbox_quota defers mail with 4.2.2 instead of
// bouncing it.
func TestMailboxStore(t *testing.T) {
	s := NewSystem(t, Options{Set: []string{"mailbox_quota=3000"}})
	const rcpt = "demo@example.test"
	// One at a time: local delivers concurrently, and UIDs follow the
	// order of delivery.
	smtpSend(t, s, rcpt, "one", "first\r\n..leading dot\r\n")
	s.WaitMessages(rcpt, 1, 20*time.Second)
	smtpSend(t, s, rcpt, "two", "second\r\n")
	s.WaitMessages(rcpt, 2, 20*time.Second)
	box := s.Maildir(rcpt)
	for _, n := range s.Messages(rcpt) {
		if !regexp.MustCompile(`,S=\d+,W=\d+$`).MatchString(n) {
			t.Errorf("%s: no S= and W= sizes", n)
		}
	}
	out := pop3(t, s, box, "STAT", "UIDL", "RETR 1", "DELE 2", "QUIT")
	if !strings.HasPrefix(out, "+OK Logged in.\n+OK 2 ") || !strings.Contains(out, "\n..leading dot\n") || !strings.HasSuffix(out, "+OK Logging out.\n") {
		t.Fatalf("first session:\n%s", out)
	}
	uidl := regexp.MustCompile(`(?m)^1 ([0-9A-F]{16})$`).FindStringSubmatch(out)
	if uidl == nil {
		t.Fatalf("no UIDL for 1:\n%s", out)
	}
	smtpSend(t, s, rcpt, "three", "third\r\n")
	s.WaitLog("status=sent (delivered to maildir)", 10*time.Second)
	deadline := time.Now().Add(20 * time.Second)
	for len(s.Messages(rcpt)) < 1 && time.Now().Before(deadline) {
		time.Sleep(50 * time.Millisecond)
	}
	out = pop3(t, s, box, "UIDL", "QUIT")
	if !strings.Contains(out, "\n1 "+uidl[1]+"\n") || !regexp.MustCompile(`\n2 00000003[0-9A-F]{8}\n`).MatchString(out) {
		t.Fatalf("second session (message 1 keeps its UIDL, the new one is UID 3):\n%s", out)
	}
	// Over the quota: deferred, not bounced, and nothing written.
	smtpSend(t, s, rcpt, "big", strings.Repeat(strings.Repeat("x", 98)+"\r\n", 40))
	s.WaitLog("dsn=4.2.2, status=deferred", 20*time.Second)
	if strings.Contains(s.Log(), "status=bounced") {
		t.Errorf("a message was bounced:\n%s", tail(s.Log(), 20))
	}
}

// TestFetchmailPreauth: fetchmail, a real POP3 client, downloads and
// deletes the mail local delivered, talking to the pop3d session process
// through its plugin option with "auth ssh" (a preauthenticated
// session, as after the login front), run as the Maildir's owner.
func TestFetchmailPreauth(t *testing.T) {
	fetchmail, err := exec.LookPath("fetchmail")
	if err != nil {
		t.Skip("fetchmail not installed (apt-get install fetchmail)")
	}
	s := NewSystem(t, Options{})
	const rcpt = "demo@example.test"
	smtpSend(t, s, rcpt, "fetch-one", "first\r\n")
	smtpSend(t, s, rcpt, "fetch-two", "second\r\n")
	s.WaitMessages(rcpt, 2, 20*time.Second)
	box := s.Maildir(rcpt)
	fi, err := os.Stat(box)
	if err != nil {
		t.Fatal(err)
	}
	owner := fi.Sys().(*syscall.Stat_t)
	home, err := os.MkdirTemp(s.Dir, "fetchmail-")
	if err != nil {
		t.Fatal(err)
	}
	out := filepath.Join(home, "out")
	rc := filepath.Join(home, "fetchmailrc")
	// sslproto '' keeps fetchmail from trying STLS, which belongs to the
	// login front.
	conf := "poll localhost protocol pop3 plugin \"" + filepath.Join(binDir, "pop3d") + " -c " + s.Config + " -m " + box + "\"" +
		" auth ssh user demo is demo sslproto ''\n  mda \"/bin/sh -c 'cat >> " + out + "'\"\n"
	if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(fetchmail, "-f", rc, "-v", "--nosyslog")
	cmd.Env = []string{"FETCHMAILHOME=" + home, "PATH=/usr/bin:/bin", "HOME=" + home}
	if os.Geteuid() == 0 {
		for _, p := range []string{home, rc} {
			if err := os.Chown(p, int(owner.Uid), int(owner.Gid)); err != nil {
				t.Fatal(err)
			}
		}
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: owner.Uid, Gid: owner.Gid}}
	}
	log, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("fetchmail: %v\n%s", err, log)
	}
	got, _ := os.ReadFile(out)
	for _, want := range []string{"Subject: fetch-one", "Subject: fetch-two", "\nfirst\n", "\nsecond\n"} {
		if !strings.Contains(string(got), want) {
			t.Errorf("fetched mail lacks %q:\n%s\nfetchmail:\n%s", want, got, log)
		}
	}
	left, _ := filepath.Glob(filepath.Join(box, "cur", "*"))
	if n := len(left) + len(s.Messages(rcpt)); n != 0 {
		t.Errorf("%d messages left after fetchmail deleted them:\n%s", n, log)
	}
}

package e2e

import (
	"context"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// TestMutt: mutt, driven unattended on a pseudo-terminal (script(1)),
// opens the INBOX over IMAP with TLS (993, the sandbox's certificate
// trusted through certificate_file), pipes every message whose subject
// matches to a file, deletes them and syncs: the file holds them all,
// and the server's Maildir keeps only the message that did not match.
func TestMutt(t *testing.T) {
	mutt, err := exec.LookPath("mutt")
	if err != nil {
		t.Skip("mutt not installed (apt-get install mutt)")
	}
	script, err := exec.LookPath("script")
	if err != nil {
		t.Skip("script(1) not installed (bsdutils)")
	}
	s := NewSystem(t, Options{})
	const rcpt = "demo@example.test"
	for i := range 3 {
		smtpSend(t, s, rcpt, fmt.Sprintf("mutt-%d", i), fmt.Sprintf("read by mutt, number %d\r\n", i))
	}
	smtpSend(t, s, rcpt, "keep-me", "not for mutt\r\n")
	s.WaitMessages(rcpt, 4, 20*time.Second)

	home := t.TempDir()
	out := filepath.Join(home, "out")
	rc := filepath.Join(home, "muttrc")
	conf := fmt.Sprintf(`set folder="imaps://%s@127.0.0.1:%d/"
set imap_user="%s"
set imap_pass="demo"
set spoolfile="+INBOX"
set certificate_file="%s"
set mail_check=0
set delete=yes
set quit=yes
set wait_key=no
set pipe_split=yes
set header_cache=""
set message_cachedir=""
push "<tag-pattern>~s mutt-<enter><tag-prefix><pipe-message>cat >> %s<enter><tag-prefix><delete-message><sync-mailbox><quit>"
`, strings.ReplaceAll(rcpt, "@", "%40"), s.Base+993, rcpt, filepath.Join(s.Dir, "tls", "cert.pem"), out)
	if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	cmd := exec.CommandContext(ctx, script, "-q", "-e", "-c", "stty rows 40 cols 120; "+mutt+" -n -F "+rc, "/dev/null")
	cmd.Dir = home
	cmd.Env = []string{"HOME=" + home, "TERM=xterm", "PATH=/usr/bin:/bin"}
	screen, err := cmd.CombinedOutput()
	if err != nil {
		t.Fatalf("mutt: %v\n%q\n%s", err, tail(string(screen), 20), tail(s.Log(), 30))
	}
	got, _ := os.ReadFile(out)
	for i := range 3 {
		if want := fmt.Sprintf("Subject: mutt-%d", i); !strings.Contains(string(got), want) {
			t.Errorf("mutt piped no %q:\n%s", want, got)
		}
	}
	if strings.Contains(string(got), "keep-me") {
		t.Error("mutt piped the message that did not match")
	}
	left := names(s.Maildir(rcpt))
	if len(left) != 1 {
		t.Errorf("the server's Maildir holds %v after mutt deleted three of four", left)
	}
}

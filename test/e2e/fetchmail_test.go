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

// TestFetchmailLogin: Debian's fetchmail, unattended, downloads the
// mailbox through the login front as a user would, once for each way in:
// POP3 with STLS on 110 and with TLS on 995, IMAP with STARTTLS on 143
// and with TLS on 993; each run fetches both messages and deletes
// them on the server (fetchmail's default), so the next starts empty.
func TestFetchmailLogin(t *testing.T) {
	fetchmail, err := exec.LookPath("fetchmail")
	if err != nil {
		t.Skip("fetchmail not installed (apt-get install fetchmail)")
	}
	s := NewSystem(t, Options{})
	const rcpt = "demo@example.test"
	for _, tc := range []struct {
		name  string
		proto string
		port  int
		tls   string // fetchmail's options for TLS
	}{
		{"pop3-stls", "pop3", 110, "sslproto 'tls1.2+'"},
		{"pop3s", "pop3", 995, "ssl"},
		{"imap-starttls", "imap", 143, "sslproto 'tls1.2+'"},
		{"imaps", "imap", 993, "ssl"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			one, two := "fm-"+tc.name+"-1", "fm-"+tc.name+"-2"
			smtpSend(t, s, rcpt, one, "first of "+tc.name+"\r\n")
			smtpSend(t, s, rcpt, two, "second of "+tc.name+"\r\n")
			s.WaitMessages(rcpt, 2, 20*time.Second)
			home := t.TempDir()
			out := filepath.Join(home, "out")
			rc := filepath.Join(home, "fetchmailrc")
			// The sandbox's certificate is its own: fetchmail is told not
			// to check it, as a user would for a self-signed one.
			conf := fmt.Sprintf("poll 127.0.0.1 service %d protocol %s auth password\n"+
				"  user %q password %q is nobody here\n"+
				"  %s no sslcertck\n"+
				"  mda \"/bin/sh -c 'cat >> %s'\"\n",
				s.Base+tc.port, tc.proto, rcpt, "demo", tc.tls, out)
			if err := os.WriteFile(rc, []byte(conf), 0o600); err != nil {
				t.Fatal(err)
			}
			cmd := exec.Command(fetchmail, "-f", rc, "-v", "--nosyslog")
			cmd.Env = []string{"FETCHMAILHOME=" + home, "PATH=/usr/bin:/bin", "HOME=" + home}
			log, err := cmd.CombinedOutput()
			if err != nil {
				t.Fatalf("fetchmail: %v\n%s\n%s", err, log, tail(s.Log(), 20))
			}
			got, _ := os.ReadFile(out)
			for _, want := range []string{"Subject: " + one, "Subject: " + two, "first of " + tc.name, "second of " + tc.name} {
				if !strings.Contains(string(got), want) {
					t.Errorf("fetched mail lacks %q:\n%s\nfetchmail:\n%s", want, got, log)
				}
			}
			if !strings.Contains(string(log), "2 messages for") {
				t.Errorf("fetchmail did not see two messages:\n%s", log)
			}
			box := s.Maildir(rcpt)
			left, _ := filepath.Glob(filepath.Join(box, "cur", "*"))
			if n := len(left) + len(s.Messages(rcpt)); n != 0 {
				t.Errorf("%d messages left after fetchmail deleted them:\n%s", n, log)
			}
		})
	}
}

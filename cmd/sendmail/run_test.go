package main

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/maildrop"
)

// setup writes a configuration whose spool has a maildrop/ and an
// aliases file, and returns its path and the maildrop directory.
func setup(t *testing.T, aliases string) (string, string) {
	dir := t.TempDir()
	drop := filepath.Join(dir, "spool", maildrop.Dir)
	if err := os.MkdirAll(drop, 0o755); err != nil {
		t.Fatal(err)
	}
	os.WriteFile(filepath.Join(dir, "aliases"), []byte(aliases), 0o644)
	cfg := filepath.Join(dir, "postern.toml")
	text := fmt.Sprintf("myhostname = \"mail.example.test\"\nqueue_directory = %q\nalias_maps = [%q]\nmessage_size_limit = 2000\n",
		filepath.Join(dir, "spool"), filepath.Join(dir, "aliases"))
	if err := os.WriteFile(cfg, []byte(text), 0o644); err != nil {
		t.Fatal(err)
	}
	return cfg, drop
}

func runSendmail(args []string, stdin string) (int, string, string) {
	var out, errb bytes.Buffer
	code := run(args, strings.NewReader(stdin), &out, &errb)
	return code, out.String(), errb.String()
}

// dropped reads the submissions left in maildrop/.
func dropped(t *testing.T, drop string) []*maildrop.Envelope {
	t.Helper()
	subs, _, _, err := maildrop.Entries(drop, time.Now(), 0)
	if err != nil {
		t.Fatal(err)
	}
	var out []*maildrop.Envelope
	for _, n := range subs {
		s, err := maildrop.Open(drop, n, 1<<20)
		if err != nil {
			t.Fatal(err)
		}
		msg, _ := io.ReadAll(s.Message)
		s.Close()
		s.Envelope.FullName += "|" + string(msg) // the test reads both
		out = append(out, s.Envelope)
	}
	return out
}

func TestRunDeliver(t *testing.T) {
	cfg, drop := setup(t, "")
	code, _, stderr := runSendmail([]string{"sendmail", "-C", cfg, "-t", "-f", "me@example.org", "-N", "never", "extra@example.org"},
		"To: bob@example.org\nBcc: secret@example.org\nSubject: s\n\nline\n.\nnot read\n")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	envs := dropped(t, drop)
	if len(envs) != 1 {
		t.Fatalf("%d submissions", len(envs))
	}
	e := envs[0]
	if addrs(e) != "extra@example.org:NEVER bob@example.org:NEVER secret@example.org:NEVER" || e.Sender != "me@example.org" || !e.HasSender {
		t.Errorf("envelope %+v", e)
	}
	if _, msg, _ := strings.Cut(e.FullName, "|"); msg != "To: bob@example.org\nSubject: s\n\nline\n" {
		t.Errorf("message %q", msg)
	}
}

func TestRunExitStatus(t *testing.T) {
	cfg, drop := setup(t, "")
	for _, c := range []struct {
		args  []string
		stdin string
		code  int
		says  string
	}{
		{[]string{"sendmail", "-C", cfg}, "x\n", exUsage, "Recipient addresses must be specified"},
		{[]string{"sendmail", "-C", cfg, "-t"}, "Subject: x\n\nx\n", exUsage, "No recipient addresses found"},
		{[]string{"sendmail", "-C", cfg, "-Z", "bob"}, "x\n", exUsage, "invalid option"},
		{[]string{"sendmail", "-C", cfg, "bob@"}, "x\n", exDataErr, "bad address"},
		{[]string{"sendmail", "-C", cfg, "-t"}, "To: a b@@\n\nx\n", exDataErr, "bad address"},
		{[]string{"sendmail", "-C", cfg, "bob"}, strings.Repeat("long line\n", 300), exDataErr, "message_size_limit"},
		{[]string{"sendmail", "-C", cfg, "bob"}, "a\rb\n", exDataErr, "carriage return"},
		{[]string{"sendmail", "-C", filepath.Join(filepath.Dir(cfg), "none.toml"), "bob"}, "x\n", exTempFail, "none.toml"},
	} {
		code, _, stderr := runSendmail(c.args, c.stdin)
		if code != c.code || !strings.Contains(stderr, c.says) {
			t.Errorf("%q: exit %d, %q; want %d and %q", c.args, code, stderr, c.code, c.says)
		}
	}
	if envs := dropped(t, drop); len(envs) != 0 {
		t.Errorf("refused submissions left %d files", len(envs))
	}
	// No maildrop/: try again later, as Postfix's sendmail does when
	// postdrop cannot write.
	os.Remove(drop)
	if code, _, stderr := runSendmail([]string{"sendmail", "-C", cfg, "bob"}, "x\n"); code != exTempFail {
		t.Errorf("without maildrop/: exit %d, %s", code, stderr)
	}
}

func TestRunSMTP(t *testing.T) {
	cfg, drop := setup(t, "")
	dialogue := "MAIL FROM:<a@example.org>\r\n" + // before EHLO
		"EHLO client\r\n" +
		"RCPT TO:<bob@example.org>\r\n" + // before MAIL
		"MAIL FROM:a@example.org\r\n" + // no brackets
		"MAIL FROM:<a@example.org> BODY=8BITMIME RET=HDRS ENVID=x+2By\r\n" +
		"RCPT TO:<bob@example.org> NOTIFY=SUCCESS\r\n" +
		"RCPT TO:<bad@>\r\n" +
		"RCPT TO:<carol@example.org>\r\n" +
		"VRFY bob\r\n" +
		"NOOP\r\n" +
		"DATA\r\n" +
		"Subject: s\r\n\r\n..dot\r\nline\r\n.\r\n" +
		"HELP\r\n" +
		"MAIL FROM:<>\r\nRSET\r\nQUIT\r\n"
	code, out, stderr := runSendmail([]string{"sendmail", "-C", cfg, "-bs"}, dialogue)
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	var codes []string
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		if l := sc.Text(); len(l) >= 4 && l[3] == ' ' {
			codes = append(codes, l[:3])
		}
	}
	want := "220 503 250 503 501 250 250 501 250 252 250 354 250 502 250 250 221"
	if strings.Join(codes, " ") != want {
		t.Errorf("replies %s, want %s\n%s", strings.Join(codes, " "), want, out)
	}
	if !strings.Contains(out, "501 5.5.4 Syntax: MAIL FROM:<address>") {
		t.Errorf("no syntax reply:\n%s", out)
	}
	envs := dropped(t, drop)
	if len(envs) != 1 {
		t.Fatalf("%d submissions", len(envs))
	}
	e := envs[0]
	if e.Sender != "a@example.org" || e.Body != "8BITMIME" || e.Ret != "HDRS" || e.EnvID != "x+y" ||
		addrs(e) != "bob@example.org:SUCCESS carol@example.org:" {
		t.Errorf("envelope %+v", e)
	}
	if _, msg, _ := strings.Cut(e.FullName, "|"); msg != "Subject: s\n\n.dot\nline\n" {
		t.Errorf("message %q", msg)
	}
}

func TestRunNewaliases(t *testing.T) {
	cfg, _ := setup(t, "root: admin\nbad line here\npostmaster: root\npostmaster: other\n")
	code, out, stderr := runSendmail([]string{"newaliases", "-C", cfg}, "")
	if code != 1 || !strings.Contains(stderr, "aliases:2:") || !strings.Contains(stderr, "warning:") || !strings.Contains(out, "2 aliases") {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, out, stderr)
	}
	cfg, _ = setup(t, "root: admin\n")
	code, out, stderr = runSendmail([]string{"sendmail", "-bi", "-C", cfg}, "")
	if code != 0 || !strings.Contains(out, "1 aliases") || stderr != "" {
		t.Errorf("exit %d\nstdout %s\nstderr %s", code, out, stderr)
	}
}

func TestRunHelp(t *testing.T) {
	code, out, _ := runSendmail([]string{"sendmail", "-h"}, "")
	if code != 0 || !strings.Contains(out, "usage: sendmail") {
		t.Errorf("exit %d %q", code, out)
	}
}

// addrs lists a submission's recipients as ADDR:NOTIFY.
func addrs(e *maildrop.Envelope) string {
	var out []string
	for _, r := range e.Recipients {
		out = append(out, r.Addr+":"+r.Notify)
	}
	return strings.Join(out, " ")
}

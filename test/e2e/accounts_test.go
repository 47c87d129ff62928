package e2e

import (
	"crypto/tls"
	"encoding/json"
	"errors"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// posternStdin runs the admin command with stdin as its standard input
// (not a terminal: the password is read as one line).
func (s *System) posternStdin(stdin string, args ...string) (string, error) {
	cmd := exec.Command(filepath.Join(binDir, "postern"), append([]string{"-c", s.Config}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	out, err := cmd.CombinedOutput()
	return string(out), err
}

// authOn587 tries STARTTLS and AUTH PLAIN on 587 with go-smtp's client
// and returns AUTH's error (nil: 235).
func authOn587(t *testing.T, s *System, user, pass string) error {
	t.Helper()
	c, err := gosmtp.DialStartTLS(s.Addr(587), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	err = c.Auth(plainAuth{user, pass})
	c.Quit()
	return err
}

// waitAuth retries AUTH until it gives want (success or failure): smtpd
// looks for a changed accounts file at most once a second.
func waitAuth(t *testing.T, s *System, user, pass string, want bool) {
	t.Helper()
	deadline := time.Now().Add(15 * time.Second)
	for {
		err := authOn587(t, s, user, pass)
		if (err == nil) == want {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("AUTH %s/%s: %v, want success %v", user, pass, err, want)
		}
		time.Sleep(300 * time.Millisecond)
	}
}

// TestUserCommandLive: `postern user add` while the system runs, and the
// new account logs in on 587 without a restart or reload; passwd changes
// the password that works; del ends the account. The smtpd processes are
// the same throughout, and the file keeps the rights the daemons read it
// with.
func TestUserCommandLive(t *testing.T) {
	s := NewSystem(t, Options{})
	pids := s.PIDs("submission")
	accounts := filepath.Join(s.Dir, "accounts")
	before, err := os.Stat(accounts)
	if err != nil {
		t.Fatal(err)
	}

	if out, err := s.posternStdin("first pass\n", "user", "add", "new@example.test"); err != nil {
		t.Fatalf("user add: %v\n%s", err, out)
	}
	waitAuth(t, s, "new@example.test", "first pass", true)
	if out, err := s.posternStdin("second pass\n", "user", "passwd", "new@example.test"); err != nil {
		t.Fatalf("user passwd: %v\n%s", err, out)
	}
	waitAuth(t, s, "new@example.test", "second pass", true)
	if err := authOn587(t, s, "new@example.test", "first pass"); err == nil {
		t.Error("the old password still works after passwd")
	}
	var refused *gosmtp.SMTPError
	if err := authOn587(t, s, "new@example.test", "wrong"); !errors.As(err, &refused) || refused.Code != 535 || refused.EnhancedCode != (gosmtp.EnhancedCode{5, 7, 8}) {
		t.Errorf("wrong password: %v, want 535 5.7.8", err)
	}
	out, _ := s.posternStdin("", "user", "list", "-j")
	var list []struct{ Address, Scheme string }
	if err := json.Unmarshal([]byte(out), &list); err != nil || len(list) != 2 || list[1].Address != "new@example.test" || list[1].Scheme != "ARGON2ID" {
		t.Errorf("user list -j: %v\n%s", err, out)
	}
	if out, err := s.posternStdin("", "user", "del", "new@example.test"); err != nil {
		t.Fatalf("user del: %v\n%s", err, out)
	}
	waitAuth(t, s, "new@example.test", "second pass", false)
	if err := authOn587(t, s, "demo@example.test", "demo"); err != nil {
		t.Errorf("demo after the edits: %v", err)
	}

	if now := s.PIDs("submission"); !slices.Equal(now, pids) || len(pids) == 0 {
		t.Errorf("submission processes %v, then %v: the change needed a restart", pids, now)
	}
	after, err := os.Stat(accounts)
	if err != nil {
		t.Fatal(err)
	}
	b, a := before.Sys().(*syscall.Stat_t), after.Sys().(*syscall.Stat_t)
	if after.Mode() != before.Mode() || a.Uid != b.Uid || a.Gid != b.Gid {
		t.Errorf("accounts file was %v %d:%d, is %v %d:%d", before.Mode(), b.Uid, b.Gid, after.Mode(), a.Uid, a.Gid)
	}
}

// TestSubmissionPolicy drives 587 and 25 with Python's smtplib (an
// independent client) and swaks: on 587, AUTH before STARTTLS gets
// 538 5.7.11, MAIL before AUTH 530 5.7.0, a wrong password 535 5.7.8, a
// forged MAIL FROM 553 5.7.1 and a forged From: 553 5.7.1 at the end of
// DATA; a From: of an alias that reaches the account is delivered. On
// 25, AUTH is neither offered nor accepted, even under TLS. Only the
// allowed messages arrive.
func TestSubmissionPolicy(t *testing.T) {
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed")
	}
	s := NewSystem(t, Options{})
	out, err := exec.Command("python3", "-c", smtplibPolicy, "127.0.0.1", strconv.Itoa(s.Base+587), strconv.Itoa(s.Base+25)).Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("smtplib: %v\n%s%s", err, out, stderr)
	}
	var r map[string]string
	if err := json.Unmarshal(out, &r); err != nil {
		t.Fatalf("smtplib output %q: %v", out, err)
	}
	for key, want := range map[string]string{
		"auth_offered_before_tls": "False",
		"auth_before_tls":         "538 5.7.11 Encryption required for requested authentication mechanism",
		"mail_before_auth":        "530 5.7.0 Authentication required",
		"wrong_password":          "535 5.7.8 Error: authentication failed: authentication failure",
		"forged_mail_from":        "553 5.7.1 <ceo@example.org>: Sender address rejected: not owned by user demo@example.test",
		"forged_from":             "553 5.7.1 <ceo@example.org>: From: header address rejected: not owned by user demo@example.test",
		"alias_from":              "ok",
		"port25_auth_offered":     "False",
		"port25_auth":             "503 5.5.1 Error: authentication not enabled",
	} {
		if r[key] != want {
			t.Errorf("%s: %q, want %q", key, r[key], want)
		}
	}

	// swaks, another client, with a forged From: and a matching envelope.
	if swaks, err := exec.LookPath("swaks"); err == nil {
		out, _ := exec.Command(swaks, "--server", s.Addr(587), "--tls", "--auth", "PLAIN", "--auth-user", "demo@example.test",
			"--auth-password", "demo", "--from", "demo@example.test", "--to", "demo@example.test", "--ehlo", "client.example",
			"--header", "From: The Boss <boss@example.net>", "--header", "Subject: swaks-forged").CombinedOutput()
		if !strings.Contains(string(out), "<~* 553 5.7.1 <boss@example.net>: From: header address rejected: not owned by user demo@example.test") {
			t.Errorf("swaks with a forged From: was not refused with 553 5.7.1:\n%s", out)
		}
	}

	s.WaitMessages("demo@example.test", 1, 15*time.Second)
	s.WaitQueueEmpty(15 * time.Second)
	msgs := readMaildir(t, s, "demo@example.test")
	var subjects []string
	for _, m := range msgs {
		subjects = append(subjects, m.Subject)
	}
	if len(subjects) != 1 || subjects[0] != "alias-from" {
		t.Errorf("delivered %q, want only alias-from", subjects)
	}
	for _, line := range []string{
		"reject: MAIL from localhost[127.0.0.1]: 553 5.7.1 <ceo@example.org>: Sender address rejected: not owned by user demo@example.test; from=<ceo@example.org>",
		"reject: END-OF-MESSAGE from localhost[127.0.0.1]: 553 5.7.1 <ceo@example.org>: From: header address rejected",
	} {
		if !strings.Contains(s.Log(), line) {
			t.Errorf("the log lacks %q", line)
		}
	}
}

// smtplibPolicy is the Python side of TestSubmissionPolicy; it prints a
// JSON object of "CODE TEXT" replies (or "ok").
const smtplibPolicy = `
import json, smtplib, ssl, sys
host, port, port25 = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
out = {}
def text(r):
    code, msg = r
    return "%d %s" % (code, msg.decode())

s = smtplib.SMTP(host, port, timeout=30)
s.ehlo("client.example")
out["auth_offered_before_tls"] = str(s.has_extn("auth"))
out["auth_before_tls"] = text(s.docmd("AUTH", "PLAIN AGRlbW9AZXhhbXBsZS50ZXN0AGRlbW8="))
s.starttls(context=ctx)
s.ehlo("client.example")
out["mail_before_auth"] = text(s.mail("demo@example.test"))
s.rset()
try:
    s.login("demo@example.test", "not the password")
except smtplib.SMTPAuthenticationError as e:
    out["wrong_password"] = "%d %s" % (e.smtp_code, e.smtp_error.decode())
s.login("demo@example.test", "demo")
out["forged_mail_from"] = text(s.mail("ceo@example.org"))
s.rset()
forged = "From: The CEO <ceo@example.org>\r\nTo: demo@example.test\r\nSubject: forged-from\r\n\r\npay this invoice\r\n"
try:
    s.sendmail("demo@example.test", ["demo@example.test"], forged)
    out["forged_from"] = "accepted"
except smtplib.SMTPDataError as e:
    out["forged_from"] = "%d %s" % (e.smtp_code, e.smtp_error.decode())
alias = "From: Postmaster <postmaster@example.test>\r\nTo: demo@example.test\r\nSubject: alias-from\r\n\r\nfrom an alias of demo\r\n"
s.sendmail("postmaster@example.test", ["demo@example.test"], alias)
out["alias_from"] = "ok"
s.quit()

s = smtplib.SMTP(host, port25, timeout=30)
s.ehlo("client.example")
s.starttls(context=ctx)
s.ehlo("client.example")
out["port25_auth_offered"] = str(s.has_extn("auth"))
out["port25_auth"] = text(s.docmd("AUTH", "PLAIN AGRlbW9AZXhhbXBsZS50ZXN0AGRlbW8="))
s.quit()
print(json.dumps(out))
`

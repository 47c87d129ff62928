package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"errors"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"syscall"
	"testing"
	"time"

	miekg "github.com/miekg/dns"
)

// sendmail runs the real sendmail binary (under the name prog, a
// symbolic link to it, for mailq and newaliases) with the sandbox's
// configuration, stdin as its standard input, and cred as its user when
// not nil. It returns the exit status, standard output and error.
func (s *System) sendmail(prog string, cred *syscall.Credential, stdin string, args ...string) (int, string, string) {
	s.t.Helper()
	path := filepath.Join(binDir, "sendmail")
	if prog != "sendmail" {
		dir := s.t.TempDir()
		os.Chmod(dir, 0o755)
		path = filepath.Join(dir, prog)
		if err := os.Symlink(filepath.Join(binDir, "sendmail"), path); err != nil {
			s.t.Fatal(err)
		}
	}
	cmd := exec.Command(path, append([]string{"-C", s.Config}, args...)...)
	cmd.Stdin = strings.NewReader(stdin)
	var out, errb bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errb
	if cred != nil {
		cmd.SysProcAttr = &syscall.SysProcAttr{Credential: cred}
	}
	err := cmd.Run()
	var ee *exec.ExitError
	switch {
	case err == nil:
		return 0, out.String(), errb.String()
	case errors.As(err, &ee):
		return ee.ExitCode(), out.String(), errb.String()
	}
	s.t.Fatalf("sendmail: %v", err)
	return 0, "", ""
}

// readMessage returns a delivered message, and its header section in
// lower case for looking fields up.
func readMessage(t *testing.T, path string) (string, string) {
	t.Helper()
	b, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	head, _, _ := strings.Cut(string(b), "\n\n")
	return string(b), strings.ToLower(head)
}

// TestSendmailDelivers: a message given to sendmail on standard input,
// with LF line ends and the lone "." that ends it, reaches the local
// Maildir through maildrop/ and pickup, with the fields Postfix's
// cleanup adds to local mail, and pickup logs it as Postfix's does.
func TestSendmailDelivers(t *testing.T) {
	s := NewSystem(t, Options{})
	code, _, stderr := s.sendmail("sendmail", nil, "Subject: plain\n\nfirst line\n.\nnot part of it\n", "demo@example.test")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	msgs := s.WaitMessages("demo@example.test", 1, 15*time.Second)
	msg, head := readMessage(t, msgs[0])
	for _, want := range []string{"subject: plain", "received: by mail.example.test (postern, from userid ", "message-id: <", "date: ", "from: "} {
		if !strings.Contains(head, want) {
			t.Errorf("header lacks %q:\n%s", want, msg)
		}
	}
	if !strings.Contains(msg, "first line") || strings.Contains(msg, "not part of it") {
		t.Errorf("body:\n%s", msg)
	}
	s.WaitLog("from=<", 5*time.Second)
	log := s.Log()
	for _, want := range []string{"postern/pickup[", ": uid=", ": message-id=<", "nrcpt=1"} {
		if !strings.Contains(log, want) {
			t.Errorf("log lacks %q:\n%s", want, tail(log, 20))
		}
	}
	if names, _ := os.ReadDir(filepath.Join(s.Dir, "spool", "maildrop")); len(names) != 0 {
		t.Errorf("maildrop/ still holds %d files", len(names))
	}
}

// TestSendmailBcc: with -t the recipients come from To:, Cc: and Bcc:
// (plus the arguments), and the Bcc: field reaches nobody, the blind
// recipient included.
func TestSendmailBcc(t *testing.T) {
	s := NewSystem(t, Options{NoStart: true})
	for _, u := range []string{"bob@example.test", "carol@example.test"} {
		if out, err := s.posternStdin("secret-pw\n", "user", "add", u); err != nil {
			t.Fatalf("user add %s: %v\n%s", u, err, out)
		}
	}
	s.Start()
	msg := "From: demo@example.test\nTo: Demo <demo@example.test>\nBcc: Bob <bob@example.test>\nSubject: blind\n\nhello\n"
	if code, _, stderr := s.sendmail("sendmail", nil, msg, "-t", "-i", "carol@example.test"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	for _, who := range []string{"demo@example.test", "bob@example.test", "carol@example.test"} {
		got := s.WaitMessages(who, 1, 15*time.Second)
		body, head := readMessage(t, got[0])
		if strings.Contains(head, "bcc:") || strings.Contains(head, "bob@example.test") && !strings.Contains(head, "delivered-to: bob@example.test") {
			t.Errorf("%s sees the blind copy:\n%s", who, body)
		}
		if !strings.Contains(head, "subject: blind") || !strings.Contains(head, "to: demo <demo@example.test>") {
			t.Errorf("%s got:\n%s", who, body)
		}
	}
}

// TestSendmailSMTP drives sendmail -bs through a real SMTP dialogue on
// its standard input and output, one command and one reply at a time.
func TestSendmailSMTP(t *testing.T) {
	s := NewSystem(t, Options{})
	cmd := exec.Command(filepath.Join(binDir, "sendmail"), "-C", s.Config, "-bs")
	in, _ := cmd.StdinPipe()
	outPipe, _ := cmd.StdoutPipe()
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	defer cmd.Process.Kill()
	r := bufio.NewReader(outPipe)
	reply := func() string {
		var lines []string
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				t.Fatalf("reading a reply: %v after %q", err, lines)
			}
			if !strings.HasSuffix(line, "\r\n") {
				t.Fatalf("reply line without CRLF: %q", line)
			}
			lines = append(lines, strings.TrimRight(line, "\r\n"))
			if len(line) < 4 || line[3] != '-' {
				return strings.Join(lines, "\n")
			}
		}
	}
	say := func(cmd, want string) string {
		t.Helper()
		if cmd != "" {
			io.WriteString(in, cmd+"\r\n")
		}
		got := reply()
		if !strings.HasPrefix(got, want) {
			t.Fatalf("%q: got %q, want %s", cmd, got, want)
		}
		return got
	}
	say("", "220 mail.example.test ESMTP")
	if ehlo := say("EHLO client.example", "250-mail.example.test"); !strings.Contains(ehlo, "250-DSN") || !strings.Contains(ehlo, "PIPELINING") {
		t.Errorf("EHLO %q", ehlo)
	}
	say("RCPT TO:<demo@example.test>", "503")
	say("MAIL FROM:<> RET=HDRS", "250")
	say("RCPT TO:<demo@example.test> NOTIFY=NEVER", "250")
	say("RCPT TO:<a b@@>", "501")
	say("VRFY demo", "252")
	say("NOOP", "250")
	say("DATA", "354")
	io.WriteString(in, "Subject: over a pipe\r\n\r\n..leading dot\r\n.\r\n")
	say("", "250 2.0.0")
	say("RSET", "250")
	say("BOGUS", "502")
	say("QUIT", "221")
	in.Close()
	if err := cmd.Wait(); err != nil {
		t.Fatalf("sendmail -bs: %v", err)
	}
	got := s.WaitMessages("demo@example.test", 1, 15*time.Second)
	body, head := readMessage(t, got[0])
	if !strings.Contains(head, "subject: over a pipe") || !strings.Contains(body, "\n.leading dot\n") {
		t.Errorf("delivered:\n%s", body)
	}
}

// TestSendmailExitStatus: the sysexits.h statuses scripts look at.
func TestSendmailExitStatus(t *testing.T) {
	s := NewSystem(t, Options{})
	for _, c := range []struct {
		args []string
		code int
	}{
		{[]string{"a b@@"}, 65},
		{[]string{"demo@"}, 65},
		{[]string{"-t"}, 65}, // To: below is no address
		{[]string{}, 64},
		{[]string{"-Z", "demo@example.test"}, 64},
		{[]string{"-bz"}, 64},
		{[]string{"-B", "binary", "demo@example.test"}, 64},
	} {
		code, _, stderr := s.sendmail("sendmail", nil, "To: @@@\nSubject: x\n\nx\n", c.args...)
		if code != c.code || !strings.Contains(stderr, "fatal:") {
			t.Errorf("sendmail %q: exit %d, %q; want %d", c.args, code, stderr, c.code)
		}
	}
	// The accepted-and-ignored options of Postfix do not stop the mail.
	code, _, stderr := s.sendmail("sendmail", nil, "Subject: ignored options\n\nx\n",
		"-oem", "-om", "-odb", "-odi", "-oQ/var/spool/x", "-Ox=y", "-oi", "-v", "--", "demo@example.test")
	if code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	s.WaitMessages("demo@example.test", 1, 15*time.Second)
	// Without a spool to write into: try again later.
	os.Rename(filepath.Join(s.Dir, "spool", "maildrop"), filepath.Join(s.Dir, "spool", "maildrop.gone"))
	defer os.Rename(filepath.Join(s.Dir, "spool", "maildrop.gone"), filepath.Join(s.Dir, "spool", "maildrop"))
	if code, _, stderr := s.sendmail("sendmail", nil, "x\n", "demo@example.test"); code != 75 {
		t.Errorf("without maildrop/: exit %d, %s", code, stderr)
	}
}

// TestSendmailWhileDown: mail submitted while the master is stopped
// waits in maildrop/ and is delivered once it starts.
func TestSendmailWhileDown(t *testing.T) {
	s := NewSystem(t, Options{})
	s.Stop()
	if code, _, stderr := s.sendmail("sendmail", nil, "Subject: while down\n\nx\n", "demo@example.test"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	time.Sleep(200 * time.Millisecond)
	if n := len(s.Messages("demo@example.test")); n != 0 {
		t.Fatalf("%d messages delivered with the master down", n)
	}
	s.Start()
	got := s.WaitMessages("demo@example.test", 1, 15*time.Second)
	if _, head := readMessage(t, got[0]); !strings.Contains(head, "subject: while down") {
		t.Errorf("delivered %s", head)
	}
}

// TestNewaliases: newaliases (sendmail by another name) reads the
// aliases files as local does and names each bad line by FILE:LINE,
// exiting 1; a good file is reported and exits 0.
func TestNewaliases(t *testing.T) {
	s := NewSystem(t, Options{NoStart: true})
	aliases := filepath.Join(s.Dir, "aliases")
	code, out, stderr := s.sendmail("newaliases", nil, "")
	if code != 0 || !strings.Contains(out, aliases+": 4 aliases") {
		t.Errorf("good file: exit %d\n%s%s", code, out, stderr)
	}
	f, _ := os.OpenFile(aliases, os.O_APPEND|os.O_WRONLY, 0)
	f.WriteString("this line is wrong\nsales: demo@example.test\n")
	f.Close()
	code, out, stderr = s.sendmail("newaliases", nil, "")
	if code != 1 || !strings.Contains(stderr, aliases+":6:") {
		t.Errorf("bad line: exit %d\n%s%s", code, out, stderr)
	}
	if code2, _, stderr2 := s.sendmail("sendmail", nil, "", "-bi"); code2 != code || stderr2 != stderr {
		t.Errorf("sendmail -bi: exit %d, %q; newaliases: %d, %q", code2, stderr2, code, stderr)
	}
}

// TestSendmailQueueCommands: -q runs postern flush; mailq and -bp run
// postern queue list, when this postern has it.
func TestSendmailQueueCommands(t *testing.T) {
	s := NewSystem(t, Options{})
	if code, out, stderr := s.sendmail("sendmail", nil, "", "-q"); code != 0 {
		t.Errorf("sendmail -q: exit %d\n%s%s", code, out, stderr)
	}
	want, err := s.PosternErr("queue", "list")
	if err != nil {
		t.Skipf("postern queue list is not there yet: %v", err)
	}
	for _, prog := range []string{"mailq", "sendmail"} {
		args := []string{}
		if prog == "sendmail" {
			args = []string{"-bp"}
		}
		code, out, stderr := s.sendmail(prog, nil, "", args...)
		if code != 0 || out != want {
			t.Errorf("%s %q: exit %d, %q%s; want %q", prog, args, code, out, stderr, want)
		}
	}
}

// TestSendmailDKIMSigned: local mail is mail the server vouches for, so
// pickup signs it through intake as smtpd signs submissions, and Debian's
// dkimpy verifies the signature of the delivered message, the From:
// pickup added included.
func TestSendmailDKIMSigned(t *testing.T) {
	s := NewSystem(t, Options{NoStart: true})
	out := s.Postern("dkim", "keygen", "mail.example.test", "local2026", "-t", "ed25519")
	entry := regexp.MustCompile(`add "(.*)" to dkim_signing_keys`).FindStringSubmatch(out)
	if entry == nil {
		t.Fatalf("keygen printed %q", out)
	}
	var zone string
	for _, l := range strings.Split(strings.TrimSpace(out), "\n") {
		if !strings.HasPrefix(l, ";") {
			zone += l + "\n"
		}
	}
	rr, err := miekg.NewRR(zone)
	if err != nil {
		t.Fatalf("keygen printed %q: %v", out, err)
	}
	txt := rr.(*miekg.TXT)
	s.Postern("config", "set", `dkim_signing_keys=["`+entry[1]+`"]`)
	s.Start()

	// No From: in the message: pickup adds root's (or the caller's),
	// @mail.example.test, whose key signs.
	if code, _, stderr := s.sendmail("sendmail", nil, "Subject: signed locally\n\nhello\n", "demo@example.test"); code != 0 {
		t.Fatalf("exit %d: %s", code, stderr)
	}
	files := s.WaitMessages("demo@example.test", 1, 15*time.Second)
	s.WaitLog("DKIM-Signature added (d=mail.example.test, s=local2026 ed25519)", 5*time.Second)
	if _, head := readMessage(t, files[0]); !strings.Contains(head, "dkim-signature:") {
		t.Fatalf("not signed:\n%s", head)
	}
	const python = "/usr/bin/python3"
	if err := exec.Command(python, "-c", "import dkim, nacl").Run(); err != nil {
		t.Skipf("signed; verifying needs Debian's python3-dkim: %v", err)
	}
	dnsFile := filepath.Join(t.TempDir(), "records.json")
	b, _ := json.Marshal(map[string]string{strings.TrimSuffix(txt.Hdr.Name, "."): strings.Join(txt.Txt, "")})
	os.WriteFile(dnsFile, b, 0o600)
	got, err := exec.Command(python, "-c", dkimVerifyPy, files[0], dnsFile).CombinedOutput()
	if err != nil || string(got) != "ed25519-sha256 True\n" {
		delivered, _ := os.ReadFile(files[0])
		t.Errorf("dkimpy: %v %s\n%s", err, got, delivered)
	}
}

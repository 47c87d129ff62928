package e2e

import (
	"bufio"
	"bytes"
	"crypto/rand"
	"crypto/sha256"
	"crypto/tls"
	"encoding/hex"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// Overlong, NUL-bearing and LF-terminated command lines are refused with
// a 5xx and the session goes on; the limit is exactly
// smtpd_line_length_limit (2048 bytes without the CRLF).
func TestHostileCommandLines(t *testing.T) {
	s := NewSystem(t, Options{})
	d := Dial(t, s.Addr(25))
	d.Expect("EHLO client.example", "250")
	pad := func(n int) string { return "NOOP " + strings.Repeat("a", n-len("NOOP ")) }
	d.Expect(pad(2048), "250")
	d.Expect(pad(2049), "500 5.5.2")
	d.Expect("NOOP", "250")
	// Longer than smtpd's 16 KiB read buffer.
	d.Expect(pad(20000), "500 5.5.2")
	d.Expect("NOOP", "250")
	d.Expect("MAIL FROM:<"+strings.Repeat("x", 3000)+"@example.org>", "500 5.5.2")
	for _, line := range []string{"NO\x00OP", "\x00", "MAIL FROM:<a\x00b@example.org>"} {
		d.Expect(line, "5")
	}
	d.Expect("MAIL FROM:<a@example.org>", "250")
	d.Expect("RCPT TO:<demo\x00@example.test>", "5")
	d.Send("RCPT TO:<demo@example.test>\n")
	if r := d.Reply(); !strings.HasPrefix(r, "500 5.5.2") {
		t.Errorf("command ending in bare LF: %q", r)
	}
	// The session is intact: the transaction goes through.
	d.Expect("RCPT TO:<demo@example.test>", "250")
	d.Expect("DATA", "354")
	d.Send("Subject: after hostile lines\r\nMessage-ID: <lines@client.example>\r\n\r\nok\r\n.\r\n")
	if r := d.Reply(); !strings.HasPrefix(r, "250 ") {
		t.Fatalf("end of data: %q", r)
	}
	d.Expect("QUIT", "221")
	s.WaitMessages("demo@example.test", 1, 10*time.Second)
	if got := deliveredIDs(t, s.Maildir("demo@example.test")); len(got) != 1 || got["lines"] != 1 {
		t.Errorf("delivered %v", got)
	}
}

// A bare LF, a bare CR or a NUL in DATA refuses the whole message with
// 554 5.6.0; nothing of it is delivered, and the session goes on.
func TestHostileDataLineEndings(t *testing.T) {
	s := NewSystem(t, Options{})
	d := Dial(t, s.Addr(25))
	d.Expect("EHLO client.example", "250")
	for i, body := range []string{
		"line one\nline two\r\n",
		"line one\r\nline two\n\r\n",
		"line one\rline two\r\n",
		"line one\r\nNUL \x00 here\r\n",
	} {
		d.Expect("MAIL FROM:<a@example.org>", "250")
		d.Expect("RCPT TO:<demo@example.test>", "250")
		d.Expect("DATA", "354")
		d.Send(fmt.Sprintf("Subject: bad %d\r\nMessage-ID: <bad-%d@client.example>\r\n\r\n%s.\r\n", i, i, body))
		if r := d.Reply(); !strings.HasPrefix(r, "554 5.6.0") {
			t.Errorf("body %q: %q, want 554 5.6.0", body, r)
		}
	}
	d.Expect("MAIL FROM:<a@example.org>", "250")
	d.Expect("RCPT TO:<demo@example.test>", "250")
	d.Expect("DATA", "354")
	d.Send("Subject: good\r\nMessage-ID: <good@client.example>\r\n\r\nfine\r\n.\r\n")
	if r := d.Reply(); !strings.HasPrefix(r, "250 ") {
		t.Fatalf("good message: %q", r)
	}
	d.Expect("QUIT", "221")
	s.WaitMessages("demo@example.test", 1, 10*time.Second)
	s.WaitQueueEmpty(10 * time.Second)
	if got := deliveredIDs(t, s.Maildir("demo@example.test")); len(got) != 1 || got["good"] != 1 {
		t.Errorf("delivered %v, want only good", got)
	}
}

// Hundreds of junk lines in one write end with 421 after
// smtpd_hard_error_limit errors, whether they are unknown commands or
// lines refused before parsing (bare LF, overlong); the server stays up.
func TestHostilePipelinedJunk(t *testing.T) {
	s := NewSystem(t, Options{})
	pid := s.PIDs("smtp")
	var unknown strings.Builder
	for i := range 500 {
		fmt.Fprintf(&unknown, "JUNK%d %s\r\n", i, strings.Repeat("z", i%50))
	}
	for _, c := range []struct {
		name, junk, reply string
	}{
		{"unknown commands", unknown.String(), "502 5.5.2"},
		{"bare LF", strings.Repeat("NOOP\n", 500), "500 5.5.2 Error: bare <LF> received"},
		{"overlong", strings.Repeat("NOOP "+strings.Repeat("l", 3000)+"\r\n", 40), "500 5.5.2 Error: line too long"},
	} {
		d := Dial(t, s.Addr(25))
		// The server hangs up after the 20th error, maybe before it read
		// the rest: a write error here is expected, not a failure.
		d.conn.SetWriteDeadline(time.Now().Add(10 * time.Second))
		d.conn.Write([]byte(c.junk))
		replies := readAll(d, 10*time.Second)
		if len(replies) == 0 || !strings.HasPrefix(replies[len(replies)-1], "421 4.7.0") {
			t.Errorf("%s: replies end with %q, want 421 4.7.0", c.name, lastOf(replies))
			continue
		}
		if n := len(replies) - 1; n != 20 {
			t.Errorf("%s: %d error replies before 421, want 20 (Postfix's smtpd_hard_error_limit)", c.name, n)
		}
		for _, r := range replies[:len(replies)-1] {
			if !strings.HasPrefix(r, c.reply) {
				t.Errorf("%s: junk line answered %q, want %s", c.name, r, c.reply)
				break
			}
		}
	}
	waitLogCount(t, s, "too many errors after END-OF-MESSAGE from localhost[127.0.0.1]", 3, 5*time.Second)
	d := Dial(t, s.Addr(25))
	d.Expect("EHLO client.example", "250")
	d.Expect("QUIT", "221")
	if got := s.PIDs("smtp"); fmt.Sprint(got) != fmt.Sprint(pid) {
		t.Errorf("smtpd pids %v, were %v", got, pid)
	}
}

// Kilobytes of random bytes, in plaintext, after STARTTLS and on the
// implicit-TLS port, crash nothing: every session ends cleanly and the
// same smtpd processes go on serving.
func TestHostileBinaryGarbage(t *testing.T) {
	s := NewSystem(t, Options{})
	before := map[string][]int{}
	for _, svc := range []string{"smtp", "submission", "submissions"} {
		before[svc] = s.PIDs(svc)
	}
	garbage := func() []byte {
		b := make([]byte, 4096)
		rand.Read(b)
		return b
	}
	for range 20 {
		d := Dial(t, s.Addr(25))
		d.conn.Write(garbage())
		d.conn.Write([]byte("\r\nQUIT\r\n"))
		replies := readAll(d, 10*time.Second)
		last := lastOf(replies)
		if !strings.HasPrefix(last, "221") && !strings.HasPrefix(last, "421") {
			t.Errorf("session of garbage ended with %q (%d replies)", last, len(replies))
		}
		for _, r := range replies {
			if len(r) < 3 || (r[0] != '2' && r[0] != '4' && r[0] != '5') {
				t.Errorf("reply %q", r)
			}
		}
		d.conn.Close()
	}
	// Garbage where a TLS handshake should be.
	for _, port := range []int{25, 587} {
		d := Dial(t, s.Addr(port))
		d.Expect("STARTTLS", "220")
		d.conn.Write(garbage())
		if r := readAll(d, 10*time.Second); len(r) != 0 {
			t.Errorf("port %d: replies after a failed handshake: %q", port, r)
		}
	}
	c, err := net.DialTimeout("tcp", s.Addr(465), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	c.Write(garbage())
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	if _, err := io.Copy(io.Discard, c); err != nil && !isReset(err) {
		t.Errorf("port 465 after garbage: %v", err)
	}
	c.Close()

	for svc, pids := range before {
		if got := s.PIDs(svc); fmt.Sprint(got) != fmt.Sprint(pids) {
			t.Errorf("%s pids %v, were %v", svc, got, pids)
		}
	}
	for _, bad := range []string{"panic", "killed by signal", "exit status"} {
		if strings.Contains(s.Log(), bad) {
			t.Errorf("log mentions %q\n%s", bad, tail(s.Log(), 30))
		}
	}
	sendRaw(t, s.Addr(25), "after-garbage")
	s.WaitMessages("demo@example.test", 1, 10*time.Second)
}

// SMTP smuggling: an end of data that is not CRLF.CRLF must not end the
// message, so the commands after it are never run and no second message
// appears. postern refuses the whole message.
func TestSMTPSmuggling(t *testing.T) {
	s := NewSystem(t, Options{})
	for i, fake := range []string{"\n.\r\n", "\r.\r\n", "\n.\n", "\r\n.\n", "\r\n.\r\r\n"} {
		d := Dial(t, s.Addr(25))
		d.Expect("EHLO client.example", "250")
		d.Expect("MAIL FROM:<alice@example.org>", "250")
		d.Expect("RCPT TO:<demo@example.test>", "250")
		d.Expect("DATA", "354")
		d.Send(fmt.Sprintf("Subject: outer\r\nMessage-ID: <outer-%d@client.example>\r\n\r\nlegit%s"+
			"MAIL FROM:<ceo@example.test>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\n"+
			"Subject: smuggled\r\nMessage-ID: <smuggled-%d@client.example>\r\n\r\nevil\r\n.\r\nQUIT\r\n", i, fake, i))
		replies := readAll(d, 10*time.Second)
		if len(replies) != 2 || !strings.HasPrefix(replies[0], "554 5.6.0") || !strings.HasPrefix(replies[1], "221") {
			t.Errorf("fake end %q: replies %q, want 554 5.6.0 then 221", fake, replies)
		}
	}
	// A message sent after them is delivered: whatever they had queued
	// would be too by then.
	sendRaw(t, s.Addr(25), "control")
	s.WaitMessages("demo@example.test", 1, 10*time.Second)
	s.WaitQueueEmpty(10 * time.Second)
	if got := deliveredIDs(t, s.Maildir("demo@example.test")); len(got) != 1 || got["control"] != 1 {
		t.Errorf("delivered %v, want only control", got)
	}
	if strings.Contains(s.Log(), "from=<ceo@example.test>") {
		t.Errorf("a smuggled MAIL FROM was run\n%s", s.Log())
	}
}

// Real TLS clients: swaks with STARTTLS on 25 and with STARTTLS and AUTH
// on 587, Python's smtplib with starttls() and login() on 587 and with
// SMTP_SSL on 465. AUTH is offered only under TLS; without it a client
// may not even begin a transaction on 587, with it it may relay.
func TestTLSClients(t *testing.T) {
	swaks, err := exec.LookPath("swaks")
	if err != nil {
		t.Skip("swaks not installed")
	}
	if _, err := exec.LookPath("python3"); err != nil {
		t.Skip("python3 not installed")
	}
	// Loopback outside mynetworks: relaying needs AUTH.
	s := NewSystem(t, Options{Set: []string{"mynetworks=192.0.2.0/24"}})

	for _, c := range []struct {
		id   string
		args []string
	}{
		{"swaks-25", []string{"--server", s.Addr(25), "--tls"}},
		{"swaks-587", []string{"--server", s.Addr(587), "--tls", "--auth", "PLAIN", "--auth-user", "demo@example.test", "--auth-password", "demo"}},
		{"swaks-465", []string{"--server", s.Addr(465), "--tlsc", "--auth", "LOGIN", "--auth-user", "demo@example.test", "--auth-password", "demo"}},
	} {
		args := append(c.args, "--from", "demo@example.test", "--to", "demo@example.test", "--ehlo", "client.example",
			"--header", "Message-ID: <"+c.id+"@client.example>", "--header", "Subject: "+c.id, "--body", "over TLS")
		out, err := exec.Command(swaks, args...).CombinedOutput()
		if err != nil || !strings.Contains(string(out), "250 2.0.0 Ok: queued as ") {
			t.Fatalf("swaks %s: %v\n%s", c.id, err, out)
		}
		if c.id != "swaks-465" && !strings.Contains(string(out), "220 2.0.0 Ready to start TLS") {
			t.Errorf("swaks %s did not use STARTTLS\n%s", c.id, out)
		}
	}

	var r struct {
		AuthBeforeTLS bool   `json:"auth_before_tls"`
		AuthAfterTLS  bool   `json:"auth_after_tls"`
		TLSVersion    string `json:"tls_version"`
		BadLogin      int    `json:"bad_login"`
		Refused       any    `json:"refused"`
		RelayCode     int    `json:"relay_code"`
	}
	for _, mode := range []string{"starttls", "ssl"} {
		port := 587
		if mode == "ssl" {
			port = 465
		}
		out, err := exec.Command("python3", "-c", smtplibTLS, "127.0.0.1", strconv.Itoa(s.Base+port), mode,
			"demo@example.test", "demo", "py-"+mode).Output()
		if err != nil {
			var stderr []byte
			if ee, ok := err.(*exec.ExitError); ok {
				stderr = ee.Stderr
			}
			t.Fatalf("smtplib %s: %v\n%s%s", mode, err, out, stderr)
		}
		if err := json.Unmarshal(out, &r); err != nil {
			t.Fatalf("smtplib %s output %q: %v", mode, out, err)
		}
		if r.AuthBeforeTLS || !r.AuthAfterTLS {
			t.Errorf("smtplib %s: AUTH offered before TLS %v, after %v; want only after", mode, r.AuthBeforeTLS, r.AuthAfterTLS)
		}
		if r.TLSVersion != "TLSv1.3" && r.TLSVersion != "TLSv1.2" {
			t.Errorf("smtplib %s: TLS version %q", mode, r.TLSVersion)
		}
		if r.BadLogin != 535 {
			t.Errorf("smtplib %s: wrong password answered %d, want 535", mode, r.BadLogin)
		}
		if r.RelayCode != 250 {
			t.Errorf("smtplib %s: authenticated relay answered %d, want 250", mode, r.RelayCode)
		}
	}

	// Without AUTH, under TLS on 587, no mail at all: submission requires
	// AUTH (530 5.7.0 at MAIL, RFC 4954 §6). go-smtp's client says EHLO
	// localhost before STARTTLS.
	c, err := gosmtp.DialStartTLS(s.Addr(587), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Hello("client.example"); err != nil {
		t.Fatal(err)
	}
	var refused *gosmtp.SMTPError
	if err := c.Mail("demo@example.test", nil); !errors.As(err, &refused) || refused.Code != 530 || refused.EnhancedCode != (gosmtp.EnhancedCode{5, 7, 0}) {
		t.Errorf("unauthenticated MAIL on 587: %v (%+v), want 530 5.7.0", err, refused)
	}
	c.Quit()

	msgs := s.WaitMessages("demo@example.test", 5, 15*time.Second)
	want := map[string]string{
		"swaks-25": "with ESMTPS id", "swaks-587": "with ESMTPSA id", "swaks-465": "with ESMTPSA id",
		"py-starttls": "with ESMTPSA id", "py-ssl": "with ESMTPSA id",
	}
	for _, name := range msgs {
		b, err := os.ReadFile(name)
		if err != nil {
			t.Fatal(err)
		}
		id := messageIDRE.FindSubmatch(b)
		if id == nil {
			t.Errorf("%s has no Message-ID", name)
			continue
		}
		w, ok := want[string(id[1])]
		if !ok {
			t.Errorf("unexpected message %s", id[1])
			continue
		}
		delete(want, string(id[1]))
		if !bytes.Contains(b, []byte(w)) {
			t.Errorf("%s: Received lacks %q:\n%s", id[1], w, b[:min(len(b), 600)])
		}
	}
	if len(want) > 0 {
		t.Errorf("not delivered: %v", want)
	}
	for _, w := range []string{"TLS connection established from localhost[127.0.0.1]: TLSv1.", "sasl_method=PLAIN, sasl_username=demo@example.test",
		"sasl_method=LOGIN, sasl_username=demo@example.test", "SASL PLAIN authentication failed"} {
		if !strings.Contains(s.Log(), w) {
			t.Errorf("log lacks %q", w)
		}
	}
}

// smtplibTLS is the Python side of TestTLSClients: TLS by STARTTLS or from
// the first byte, a wrong then the right password, one message, and a
// relay attempt that AUTH allows. The certificate is self-signed.
const smtplibTLS = `
import json, smtplib, ssl, sys
host, port, mode, user, password, mid = sys.argv[1:7]
ctx = ssl.create_default_context()
ctx.check_hostname = False
ctx.verify_mode = ssl.CERT_NONE
out = {}
if mode == "starttls":
    s = smtplib.SMTP(host, int(port), timeout=30)
    s.ehlo("client.example")
    out["auth_before_tls"] = s.has_extn("auth")
    s.starttls(context=ctx)
else:
    s = smtplib.SMTP_SSL(host, int(port), context=ctx, timeout=30)
s.ehlo("client.example")
out["auth_after_tls"] = s.has_extn("auth")
out["tls_version"] = s.sock.version()
try:
    s.login(user, "not the password")
except smtplib.SMTPAuthenticationError as e:
    out["bad_login"] = e.smtp_code
s.login(user, password)
msg = ("From: %s\r\nTo: %s\r\nSubject: %s\r\nMessage-ID: <%s@client.example>\r\n\r\nsent by smtplib\r\n" % (user, user, mid, mid))
out["refused"] = s.sendmail(user, [user], msg)
s.mail(user)
out["relay_code"] = s.rcpt("someone@elsewhere.example")[0]
s.rset()
s.quit()
print(json.dumps(out))
`

// A 50 MB message arrives intact, and neither smtpd nor local holds it
// in memory on the way.
func TestLargeMessage(t *testing.T) {
	if testing.Short() {
		t.Skip("50 MB")
	}
	s := NewSystem(t, Options{Set: []string{"message_size_limit=60000000"}})
	hwm := func(svc string) int64 {
		pids := s.PIDs(svc)
		if len(pids) != 1 {
			t.Fatalf("%s pids %v", svc, pids)
		}
		return vmHWM(t, pids[0])
	}
	before := map[string]int64{"smtp": hwm("smtp"), "local": hwm("local"), "qmgr": hwm("qmgr")}

	const size = 50 << 20
	d := Dial(t, s.Addr(25))
	d.Expect("EHLO client.example", "250")
	d.Expect(fmt.Sprintf("MAIL FROM:<big@example.org> SIZE=%d", size), "250")
	d.Expect("RCPT TO:<demo@example.test>", "250")
	d.Expect("DATA", "354")
	// The body as delivered (Maildir lines end in LF) is hashed while the
	// wire form goes out.
	sum := sha256.New()
	w := bufio.NewWriterSize(d.conn, 64<<10)
	d.conn.SetWriteDeadline(time.Now().Add(2 * time.Minute))
	fmt.Fprintf(w, "Subject: big\r\nMessage-ID: <big@client.example>\r\n\r\n")
	const alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/ABCDEFGHIJKLMNOPQRSTUVWXYZ"
	bodyLen := 0
	for i := 0; bodyLen < size; i++ {
		// Some lines start with a dot, to check dot-stuffing on the way.
		line := fmt.Sprintf("%08d ", i) + alphabet[i%26:i%26+64]
		wire := line
		if i%1000 == 0 {
			line = "." + line
			wire = "." + line
		}
		w.WriteString(wire + "\r\n")
		sum.Write([]byte(line + "\n"))
		bodyLen += len(line) + 1
	}
	w.WriteString(".\r\n")
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	if r := d.Reply(); !strings.HasPrefix(r, "250 ") {
		t.Fatalf("end of a 50 MB message: %q", r)
	}
	d.Expect("QUIT", "221")
	msgs := s.WaitMessages("demo@example.test", 1, 2*time.Minute)
	b, err := os.ReadFile(msgs[0])
	if err != nil {
		t.Fatal(err)
	}
	i := bytes.Index(b, []byte("\n\n"))
	if i < 0 {
		t.Fatal("delivered message has no header end")
	}
	body := b[i+2:]
	got := sha256.Sum256(body)
	if len(body) != bodyLen || hex.EncodeToString(got[:]) != hex.EncodeToString(sum.Sum(nil)) {
		t.Errorf("body of %d bytes, sha256 %x; sent %d bytes, sha256 %x", len(body), got, bodyLen, sum.Sum(nil))
	}
	if !bytes.Contains(b[:i], []byte("Message-ID: <big@client.example>")) {
		t.Errorf("header: %q", b[:i])
	}
	for svc, was := range before {
		now := hwm(svc)
		t.Logf("%s peak RSS %d KiB before, %d KiB after", svc, was>>10, now>>10)
		// Streaming means buffers, not the message: a copy in memory
		// would add 50 MB.
		if now-was > 16<<20 {
			t.Errorf("%s peak RSS grew by %d MiB for a 50 MB message", svc, (now-was)>>20)
		}
	}
}

// vmHWM returns a process's peak resident set size in bytes.
func vmHWM(t *testing.T, pid int) int64 {
	t.Helper()
	b, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		t.Fatal(err)
	}
	for _, l := range strings.Split(string(b), "\n") {
		if v, ok := strings.CutPrefix(l, "VmHWM:"); ok {
			kb, err := strconv.ParseInt(strings.TrimSuffix(strings.TrimSpace(v), " kB"), 10, 64)
			if err != nil {
				t.Fatalf("VmHWM %q: %v", v, err)
			}
			return kb << 10
		}
	}
	t.Fatalf("no VmHWM for pid %d", pid)
	return 0
}

// readAll reads replies until the server closes the connection (or
// resets it); not seeing the end within timeout fails the test.
func readAll(d *Dialogue, timeout time.Duration) []string {
	d.t.Helper()
	d.conn.SetReadDeadline(time.Now().Add(timeout))
	var out []string
	for {
		line, err := d.r.ReadString('\n')
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				d.t.Errorf("the server did not close the connection in %s; replies so far %q", timeout, out)
			}
			return out
		}
		line = strings.TrimRight(line, "\r\n")
		if len(line) >= 4 && line[3] == '-' {
			continue
		}
		out = append(out, line)
	}
}

func lastOf(s []string) string {
	if len(s) == 0 {
		return ""
	}
	return s[len(s)-1]
}

func isReset(err error) bool {
	return err != nil && (strings.Contains(err.Error(), "connection reset") || strings.Contains(err.Error(), "broken pipe"))
}

// A header section of more than 1 MiB (thousands of fields) is accepted
// and delivered, to a local Maildir and through the outbound client to a
// remote MX, instead of being deferred for days because an agent cannot
// read it: smtpd keeps header_size_limit bytes as header and the rest as
// body, and no byte the client sent is lost.
func TestHostileHugeHeader(t *testing.T) {
	sink := NewSink(t)
	s, _ := outbound(t, remoteZone, sink.Port)
	var hdr strings.Builder
	for i := 0; hdr.Len() < 1200<<10; i++ {
		fmt.Fprintf(&hdr, "X-Filler-%06d: %s\r\n", i, strings.Repeat("h", 100))
	}
	msg := "Subject: huge header\r\nMessage-ID: <huge@client.example>\r\n" + hdr.String() + "X-Last: last field\r\n\r\nthe body\r\n"
	d := Dial(t, s.Addr(25))
	d.Expect("EHLO client.example", "250")
	d.Expect("MAIL FROM:<alice@example.org>", "250")
	d.Expect("RCPT TO:<demo@example.test>", "250")
	d.Expect("RCPT TO:<bob@remote.test>", "250")
	d.Expect("DATA", "354")
	d.Send(msg + ".\r\n")
	if r := d.Reply(); !strings.HasPrefix(r, "250 ") {
		t.Fatalf("end of data: %q", r)
	}
	d.Expect("QUIT", "221")

	msgs := s.WaitMessages("demo@example.test", 1, 30*time.Second)
	b, err := os.ReadFile(msgs[0])
	if err != nil {
		t.Fatal(err)
	}
	end := bytes.Index(b, []byte("\n\n"))
	if end < 0 || end > 110<<10 {
		t.Errorf("delivered header section is %d bytes, want at most header_size_limit and the added fields", end)
	}
	// Only an empty line was added: the rest is all there, as body.
	if got := strings.Count(string(b), "\nX-Filler-"); got != strings.Count(msg, "X-Filler-") ||
		!bytes.HasSuffix(b, []byte("\nX-Last: last field\n\nthe body\n")) {
		t.Errorf("delivered message lost lines: %d filler fields of %d; ends %q", got, strings.Count(msg, "X-Filler-"), b[max(0, len(b)-60):])
	}
	tx := sink.Wait(1, 30*time.Second)[0]
	if strings.Count(string(tx.Data), "\r\nX-Filler-") != strings.Count(msg, "X-Filler-") || !bytes.HasSuffix(tx.Data, []byte("X-Last: last field\r\n\r\nthe body\r\n")) {
		t.Errorf("relayed message of %d bytes lost lines", len(tx.Data))
	}
	s.WaitQueueEmpty(30 * time.Second)
	if strings.Contains(s.Log(), "status=deferred") {
		t.Errorf("a delivery was deferred:\n%s", tail(s.Log(), 20))
	}
}

// Idle connections from several addresses, each under the per-client
// limit, fill smtpd_process_connection_limit; a new client is still
// greeted within 10 s (smtpd closes the longest-idle sessions that have
// no transaction, under load), its mail is accepted and delivered. The
// session idle longest is in the middle of a transaction: it is left
// alone and its message goes through too.
func TestHostileIdleConnections(t *testing.T) {
	const limit = 50
	s := NewSystem(t, Options{Set: []string{fmt.Sprintf("smtpd_process_connection_limit=%d", limit), "smtpd_client_connection_count_limit=10"}})
	var idle []*Dialogue
	for i := range limit {
		// 127.0.0.2 to 127.0.0.6, ten each: under the per-client limit.
		dl := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, byte(2+i/10))}}
		c, err := dl.Dial("tcp", s.Addr(25))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		d := &Dialogue{t: t, conn: c, r: bufio.NewReader(c)}
		if r := d.Reply(); !strings.HasPrefix(r, "220 ") {
			t.Fatalf("idle client %d: greeting %q", i, r)
		}
		idle = append(idle, d)
	}
	busy := idle[0]
	busy.Expect("EHLO busy.example", "250")
	busy.Expect("MAIL FROM:<busy@example.org>", "250")
	busy.Expect("RCPT TO:<demo@example.test>", "250")
	// The rest have been idle since their greeting, idle[1] longest.
	for _, d := range idle[2:] {
		d.Expect("NOOP", "250")
	}
	start := time.Now()
	c, err := net.DialTimeout("tcp", s.Addr(25), 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	d := &Dialogue{t: t, conn: c, r: bufio.NewReader(c)}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	greeting, err := d.r.ReadString('\n')
	if err != nil || !strings.HasPrefix(greeting, "220 ") {
		t.Fatalf("new client with %d idle connections open: no greeting within 10 s (%q, %v)\n%s", limit, greeting, err, tail(s.Log(), 10))
	}
	t.Logf("greeted after %s", time.Since(start))
	d.Expect("EHLO client.example", "250")
	d.Expect("MAIL FROM:<alice@example.org>", "250")
	d.Expect("RCPT TO:<demo@example.test>", "250")
	d.Expect("DATA", "354")
	d.Send("Subject: under load\r\nMessage-ID: <load@client.example>\r\n\r\nhello\r\n.\r\n")
	if r := d.Reply(); !strings.HasPrefix(r, "250 ") {
		t.Fatalf("end of data: %q", r)
	}
	d.Expect("QUIT", "221")
	if r := idle[1].Reply(); !strings.HasPrefix(r, "421 4.7.0 ") {
		t.Errorf("longest-idle session without a transaction: %q, want 421 4.7.0", r)
	}
	busy.Expect("DATA", "354")
	busy.Send("Subject: busy\r\nMessage-ID: <busy@client.example>\r\n\r\nstill here\r\n.\r\n")
	if r := busy.Reply(); !strings.HasPrefix(r, "250 ") {
		t.Fatalf("session with a transaction, end of data: %q", r)
	}
	want := map[string]int{"load": 1, "busy": 1}
	// An independent client, with the limit full again, gets through as
	// well, within its own 10 s timeout.
	if swaks, err := exec.LookPath("swaks"); err == nil {
		dl := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.IPv4(127, 0, 0, 7)}}
		c, err := dl.Dial("tcp", s.Addr(25))
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { c.Close() })
		(&Dialogue{t: t, conn: c, r: bufio.NewReader(c)}).Reply()
		out, err := exec.Command(swaks, "--server", s.Addr(25), "--timeout", "10", "--from", "swaks@example.org", "--to", "demo@example.test",
			"--add-header", "Message-ID: <swaks@client.example>", "--body", "under load").CombinedOutput()
		if err != nil || !strings.Contains(string(out), "250 2.0.0 Ok: queued as ") {
			t.Errorf("swaks with the limit full: %v\n%s", err, out)
		}
		want["swaks"] = 1
	}
	s.WaitMessages("demo@example.test", len(want), 20*time.Second)
	if got := deliveredIDs(t, s.Maildir("demo@example.test")); fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("delivered %v, want %v", got, want)
	}
	for _, want := range []string{"stress mode begins", "closing idle connection from localhost[127.0.0.2] under load"} {
		if !strings.Contains(s.Log(), want) {
			t.Errorf("log lacks %q\n%s", want, tail(s.Log(), 20))
		}
	}
}

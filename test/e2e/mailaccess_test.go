package e2e

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"slices"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// deliverOne sends one message to demo@example.test on port 25 and
// waits until it is in the Maildir.
func deliverOne(t *testing.T, s *System, subject string) {
	t.Helper()
	before := len(s.Messages("demo@example.test"))
	d := Dial(t, s.Addr(25))
	d.Expect("EHLO client.example", "250")
	d.Expect("MAIL FROM:<sender@client.example>", "250")
	d.Expect("RCPT TO:<demo@example.test>", "250")
	d.Expect("DATA", "354")
	d.Send("Subject: " + subject + "\r\n\r\nhello\r\n.\r\n")
	if r := d.Reply(); !strings.HasPrefix(r, "250 ") {
		t.Fatalf("end of data: %q", r)
	}
	d.Expect("QUIT", "221")
	deadline := time.Now().Add(10 * time.Second)
	for len(s.Messages("demo@example.test")) <= before {
		if time.Now().After(deadline) {
			t.Fatalf("message not delivered\n%s", tail(s.Log(), 20))
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMailAccessPythonClients: Python's imaplib and poplib log in on
// all four ports of the sandbox (make run's), over STARTTLS/STLS and
// implicit TLS; a password before TLS is refused, a wrong one too; the
// sessions that follow answer (IMAP's SELECT counts the delivered
// messages and FETCH shows them \Recent; POP3's STAT and LIST give the
// messages' sizes with CRLF line ends).
func TestMailAccessPythonClients(t *testing.T) {
	s := NewSystem(t, Options{})
	deliverOne(t, s, "one")
	deliverOne(t, s, "two")
	size := int64(0)
	for _, f := range s.Messages("demo@example.test") {
		st, err := os.Stat(f)
		if err != nil {
			t.Fatal(err)
		}
		body, err := os.ReadFile(f)
		if err != nil {
			t.Fatal(err)
		}
		// Stored with LF line ends, counted as sent: with CRLF.
		size += st.Size() + int64(bytes.Count(body, []byte("\n")))
	}
	out, err := exec.Command("/usr/bin/python3", filepath.Join("testdata", "mailaccess.py"), strconv.Itoa(s.Base), "demo@example.test", "demo").Output()
	if err != nil {
		var stderr []byte
		if ee, ok := err.(*exec.ExitError); ok {
			stderr = ee.Stderr
		}
		t.Fatalf("mailaccess.py: %v\n%s\n%s", err, stderr, tail(s.Log(), 30))
	}
	var got map[string]any
	if err := json.Unmarshal(out, &got); err != nil {
		t.Fatalf("%v: %s", err, out)
	}
	want := map[string]any{
		"imap_caps_plain":  []any{"IMAP4REV1", "SASL-IR", "ID", "LITERAL+", "STARTTLS", "LOGINDISABLED"},
		"imap_login_plain": "b'[PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.'",
		"imap_caps_tls":    []any{"IMAP4REV1", "SASL-IR", "ID", "LITERAL+", "AUTH=PLAIN", "AUTH=LOGIN"},
		"imap_login_wrong": "b'[AUTHENTICATIONFAILED] Authentication failed.'",
		"imap_login":       []any{"OK", "[CAPABILITY IMAP4rev1 IMAP4rev2 LITERAL+ ID ENABLE IDLE NAMESPACE UNSELECT UIDPLUS MOVE CHILDREN LIST-EXTENDED LIST-STATUS SPECIAL-USE ESEARCH ESORT SEARCHRES CONDSTORE QRESYNC QUOTA QUOTA=RES-STORAGE SORT SORT=DISPLAY THREAD=REFERENCES THREAD=ORDEREDSUBJECT UTF8=ACCEPT BINARY STATUS=SIZE APPENDLIMIT=52428800 COMPRESS=DEFLATE] Logged in"},
		"imap_select":      []any{"OK", "2"},
		"imap_noop":        "OK",
		"imap_fetch":       []any{"OK", `1 (FLAGS (\Recent))`},
		"imap_logout":      "BYE",
		"imaps_caps":       []any{"IMAP4REV1", "SASL-IR", "ID", "LITERAL+", "AUTH=PLAIN", "AUTH=LOGIN"},
		"imaps_login":      "OK",
		"imaps_select":     "2",
		"imaps_logout":     "BYE",
		"pop3_capa_plain":  []any{"AUTH-RESP-CODE", "PIPELINING", "RESP-CODES", "STLS", "TOP", "UIDL"},
		"pop3_user_plain":  "b'-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.'",
		"pop3_capa_tls":    []any{"AUTH-RESP-CODE", "PIPELINING", "RESP-CODES", "SASL", "TOP", "UIDL", "USER"},
		"pop3_pass_wrong":  "b'-ERR [AUTH] Authentication failed.'",
		"pop3_pass":        "+OK Logged in.",
		"pop3_stat":        []any{2.0, float64(size)},
		"pop3_list":        []any{"+OK", 2.0},
		"pop3_quit":        "+OK Logging out.",
		"pop3s_pass":       "+OK Logged in.",
		"pop3s_stat":       []any{2.0, float64(size)},
		"pop3s_quit":       "+OK Logging out.",
	}
	for k, w := range want {
		if fmt.Sprint(got[k]) != fmt.Sprint(w) {
			t.Errorf("%s: got %v, want %v", k, got[k], w)
		}
	}
	log := s.Log()
	for _, line := range []string{
		"postern/imapd[", "Login: user=<demo@example.test>, method=LOGIN, rip=127.0.0.1, lip=127.0.0.1, mpid=",
		", TLS, service=imap\n", ", TLS, service=imaps\n", "method=PLAIN", "method=USER", ", TLS, service=pop3\n", ", TLS, service=pop3s\n",
		"warning: unknown[127.0.0.1]: SASL LOGIN authentication failed: authentication failure, sasl_username=demo@example.test",
		"warning: unknown[127.0.0.1]: USER authentication failed: authentication failure, sasl_username=demo@example.test",
	} {
		if !strings.Contains(log, line) {
			t.Errorf("log lacks %q\n%s", line, tail(log, 40))
		}
	}
}

// imapConn is a raw IMAP (or POP3) client from a chosen address.
type imapConn struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

func dialIMAP(t *testing.T, from, addr string) (*imapConn, string) {
	t.Helper()
	dl := net.Dialer{Timeout: 5 * time.Second, LocalAddr: &net.TCPAddr{IP: net.ParseIP(from)}}
	nc, err := dl.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(30 * time.Second))
	c := &imapConn{t: t, nc: nc, r: bufio.NewReader(nc)}
	return c, c.line()
}

func (c *imapConn) line() string {
	c.t.Helper()
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (%q)", err, l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

func (c *imapConn) cmd(line string) string {
	c.t.Helper()
	fmt.Fprintf(c.nc, "%s\r\n", line)
	return c.line()
}

// TestMailAccessBruteForce: failed IMAP logins from one address trip
// login_auth_failure_limit (counted by anvil), after which even the
// right password is refused from it; another address, which failed
// once on POP3, still logs in. Each failure was answered after a wait.
// The shipped fail2ban filter finds the failures and the limit lines by
// address.
func TestMailAccessBruteForce(t *testing.T) {
	s := NewSystem(t, Options{Set: []string{"login_client_event_limit_exceptions=", "login_plaintext_auth=true",
		"login_auth_failure_limit=5", "login_auth_failure_delay=20ms", "login_auth_failure_max_delay=80ms"}})
	deliverOne(t, s, "one")
	const attacker, user = "127.0.0.2", "127.0.0.3"
	c, g := dialIMAP(t, attacker, s.Addr(143))
	if !strings.HasPrefix(g, "* OK ") {
		t.Fatalf("greeting %q", g)
	}
	start := time.Now()
	for i := 1; i < 5; i++ {
		if r := c.cmd(fmt.Sprintf("a%d LOGIN demo@example.test wrong%d", i, i)); r != fmt.Sprintf("a%d NO [AUTHENTICATIONFAILED] Authentication failed.", i) {
			t.Fatalf("failure %d: %q", i, r)
		}
	}
	// 20+40+80+80 ms for the four failures.
	if d := time.Since(start); d < 200*time.Millisecond {
		t.Errorf("four failures answered in %s, want the waits (at least 220ms)", d)
	}
	if r := c.cmd("a5 LOGIN demo@example.test wrong5"); r != "* BYE Too many authentication failures." {
		t.Fatalf("fifth failure: %q", r)
	}
	c2, _ := dialIMAP(t, attacker, s.Addr(143))
	if r := c2.cmd("b1 LOGIN demo@example.test demo"); r != "* BYE Too many authentication failures." {
		t.Fatalf("right password after the limit: %q", r)
	}

	p, g := dialIMAP(t, user, s.Addr(110))
	if !strings.HasPrefix(g, "+OK ") {
		t.Fatalf("POP3 greeting %q", g)
	}
	p.cmd("USER demo@example.test")
	if r := p.cmd("PASS wrong"); r != "-ERR [AUTH] Authentication failed." {
		t.Fatalf("POP3 failure: %q", r)
	}
	p.cmd("USER demo@example.test")
	if r := p.cmd("PASS demo"); r != "+OK Logged in." {
		t.Fatalf("POP3 login from another address: %q", r)
	}
	if r := p.cmd("STAT"); !regexp.MustCompile(`^\+OK 1 \d+$`).MatchString(r) {
		t.Errorf("STAT: %q", r)
	}
	p.cmd("QUIT")

	log := s.Log()
	if n := strings.Count(log, "warning: AUTH failure limit exceeded: 5 from unknown[127.0.0.2] for service imap\n"); n != 2 {
		t.Errorf("%d limit lines, want 2\n%s", n, tail(log, 30))
	}
	t.Run("fail2ban-regex", func(t *testing.T) {
		got := fail2banRegex(t, filepath.Join(s.Dir, "log", "maillog"), "")
		want := map[string]int{attacker: 7, user: 1}
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Errorf("fail2ban-regex matched %v, want %v", got, want)
		}
	})
}

// TestRootMailAccessRoles: the login process runs as mail_owner and
// cannot read a Maildir; the session process it hands a client to runs
// as the mailbox's owner (vmail_user for a virtual account), with no
// capabilities, and reads it.
func TestRootMailAccessRoles(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	s := NewSystem(t, Options{Set: []string{"login_plaintext_auth=true"}})
	deliverOne(t, s, "one")
	postern, vmail := rootLookup(t, "postern"), rootLookup(t, "vmail")
	msg := s.Messages("demo@example.test")[0]

	logins := s.PIDs("imap")
	if len(logins) != 1 {
		t.Fatalf("imap login processes %v", logins)
	}
	lp := rootProcStatus(t, logins[0])
	if lp.UID != [4]int{postern.UID, postern.UID, postern.UID, postern.UID} || lp.CapEff != 0 {
		t.Errorf("login process: uids %v caps %#x, want postern's and none", lp.UID, lp.CapEff)
	}
	// What the login process's identity may open: not the message.
	cat := exec.Command("cat", msg)
	cat.SysProcAttr = &syscall.SysProcAttr{Credential: &syscall.Credential{Uid: uint32(lp.UID[1]), Gid: uint32(lp.GID[1])}}
	if out, err := cat.CombinedOutput(); err == nil || !strings.Contains(string(out), "Permission denied") {
		t.Errorf("the login process's uid read %s: %v %s", msg, err, out)
	}

	c, _ := dialIMAP(t, "127.0.0.1", s.Addr(143))
	if r := c.cmd("a1 LOGIN demo@example.test demo"); !strings.HasPrefix(r, "a1 OK [CAPABILITY IMAP4rev1 ") || !strings.HasSuffix(r, "] Logged in") {
		t.Fatalf("login: %q\n%s", r, tail(s.Log(), 20))
	}
	m := regexp.MustCompile(`Login: user=<demo@example.test>, method=LOGIN, .*mpid=(\d+), service=imap`).FindStringSubmatch(s.Log())
	if m == nil {
		t.Fatalf("no login line\n%s", tail(s.Log(), 20))
	}
	pid, _ := strconv.Atoi(m[1])
	sp := rootProcStatus(t, pid)
	if sp.UID != [4]int{vmail.UID, vmail.UID, vmail.UID, vmail.UID} || sp.GID != [4]int{vmail.GID, vmail.GID, vmail.GID, vmail.GID} {
		t.Errorf("session process %d: uids %v gids %v, want vmail's %d:%d", pid, sp.UID, sp.GID, vmail.UID, vmail.GID)
	}
	if sp.CapEff != 0 || sp.CapPrm != 0 || sp.CapInh != 0 || sp.CapAmb != 0 {
		t.Errorf("session process: capabilities %#x/%#x/%#x/%#x, want none", sp.CapPrm, sp.CapEff, sp.CapInh, sp.CapAmb)
	}
	// And it reads the Maildir: SELECT counts the message.
	var sel []string
	for r := c.cmd("a2 SELECT INBOX"); ; r = c.line() {
		sel = append(sel, r)
		if strings.HasPrefix(r, "a2 ") {
			break
		}
	}
	if !slices.Contains(sel, "* 1 EXISTS") || sel[len(sel)-1] != "a2 OK [READ-WRITE] Select completed." {
		t.Errorf("SELECT: %q", sel)
	}
	// The session ends with LOGOUT, and its process with it.
	c.cmd("a3 LOGOUT")
	deadline := time.Now().Add(5 * time.Second)
	for {
		if _, err := os.Stat(fmt.Sprintf("/proc/%d", pid)); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Errorf("session process %d still runs after LOGOUT", pid)
			break
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// TestMailAccessConnectionLimit: login_client_connection_count_limit
// counts one client's connections before login on IMAP and POP3
// together (in anvil); the one over it is told and closed, with the
// limit's log line. A client that logged in no longer counts.
func TestMailAccessConnectionLimit(t *testing.T) {
	s := NewSystem(t, Options{Set: []string{"login_client_event_limit_exceptions=", "login_plaintext_auth=true",
		"login_client_connection_count_limit=2"}})
	deliverOne(t, s, "one")
	const client = "127.0.0.4"
	c1, _ := dialIMAP(t, client, s.Addr(143))
	dialIMAP(t, client, s.Addr(110))
	_, g := dialIMAP(t, client, s.Addr(143))
	if g != "* BYE [UNAVAILABLE] Too many connections from 127.0.0.4" {
		t.Errorf("third connection: %q", g)
	}
	_, g = dialIMAP(t, client, s.Addr(110))
	if g != "-ERR [SYS/TEMP] Too many connections from 127.0.0.4" {
		t.Errorf("POP3 over the limit: %q", g)
	}
	if !strings.Contains(s.Log(), "warning: Connection concurrency limit exceeded: 3 from unknown[127.0.0.4] for service imap") {
		t.Errorf("no limit line\n%s", tail(s.Log(), 20))
	}
	// The first client logs in: its connection is the session's now,
	// and the client may open another before login.
	if r := c1.cmd("a1 LOGIN demo@example.test demo"); !strings.HasPrefix(r, "a1 OK [CAPABILITY IMAP4rev1 ") || !strings.HasSuffix(r, "] Logged in") {
		t.Fatalf("login: %q", r)
	}
	deadline := time.Now().Add(5 * time.Second)
	for {
		_, g = dialIMAP(t, client, s.Addr(143))
		if strings.HasPrefix(g, "* OK ") || time.Now().After(deadline) {
			break
		}
		time.Sleep(50 * time.Millisecond)
	}
	if !strings.HasPrefix(g, "* OK ") {
		t.Errorf("after a login, a new connection: %q", g)
	}
}

package imaplogin

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/ipc/anvil"
	"postern.dev/postern/libmail/ipc/handoff"
	"postern.dev/postern/libmail/login"
	"postern.dev/postern/libmail/login/logintest"
)

// client is a raw IMAP client for the tests.
type client struct {
	t  *testing.T
	nc net.Conn
	r  *bufio.Reader
}

func dial(t *testing.T, sys *logintest.LoginSystem) (*client, string) {
	t.Helper()
	nc, err := net.Dial("tcp", sys.Addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	nc.SetDeadline(time.Now().Add(10 * time.Second))
	c := &client{t: t, nc: nc, r: bufio.NewReader(nc)}
	return c, c.line()
}

func (c *client) send(s string) {
	c.t.Helper()
	if _, err := c.nc.Write([]byte(s)); err != nil {
		c.t.Fatal(err)
	}
}

func (c *client) line() string {
	c.t.Helper()
	l, err := c.r.ReadString('\n')
	if err != nil {
		c.t.Fatalf("read: %v (after %q)", err, l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// cmd sends a command line and returns the lines up to its tagged
// reply, which is the last.
func (c *client) cmd(tag, line string) []string {
	c.t.Helper()
	c.send(tag + " " + line + "\r\n")
	var out []string
	for {
		l := c.line()
		out = append(out, l)
		if strings.HasPrefix(l, tag+" ") {
			return out
		}
	}
}

func greeting(r handoff.Request) string { return r.Tag + " OK Logged in" }

func start(t *testing.T, change func(*login.Config)) *logintest.LoginSystem {
	return logintest.StartLogin(t, Protocol{}, greeting, change, nil)
}

func TestBeforeTLS(t *testing.T) {
	sys := start(t, nil)
	c, g := dial(t, sys)
	if g != "* OK [CAPABILITY IMAP4rev1 SASL-IR ID LITERAL+ STARTTLS LOGINDISABLED] mail.example.test ready." {
		t.Errorf("greeting %q", g)
	}
	if r := c.cmd("a1", "CAPABILITY"); r[0] != "* CAPABILITY IMAP4rev1 SASL-IR ID LITERAL+ STARTTLS LOGINDISABLED" || r[1] != "a1 OK Capability completed." {
		t.Errorf("CAPABILITY: %q", r)
	}
	if r := c.cmd("a2", "LOGIN demo demo"); r[0] != "a2 NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections." {
		t.Errorf("LOGIN: %q", r)
	}
	if r := c.cmd("a3", "AUTHENTICATE PLAIN AGRlbW8AZGVtbw=="); !strings.HasPrefix(r[0], "a3 NO [PRIVACYREQUIRED]") {
		t.Errorf("AUTHENTICATE: %q", r)
	}
	if n := len(sys.Requests()); n != 0 {
		t.Errorf("%d credentials reached the session service before TLS", n)
	}
	if r := c.cmd("a4", "SELECT INBOX"); r[0] != "a4 BAD Command not valid before login." {
		t.Errorf("SELECT: %q", r)
	}
	if r := c.cmd("a5", `ID ("name" "test")`); r[0] != `* ID ("name" "postern")` || r[1] != "a5 OK ID completed." {
		t.Errorf("ID: %q", r)
	}
	if r := c.cmd("a6", "NOOP"); r[0] != "a6 OK NOOP completed." {
		t.Errorf("NOOP: %q", r)
	}
	if r := c.cmd("a7", "LOGOUT"); r[0] != "* BYE Logging out." || r[1] != "a7 OK Logout completed." {
		t.Errorf("LOGOUT: %q", r)
	}
}

func TestLoginAfterSTARTTLS(t *testing.T) {
	sys := start(t, nil)
	c, _ := dial(t, sys)
	// Pipelined after STARTTLS in plaintext: must be thrown away
	// (CVE-2011-0411), not run under TLS.
	c.send("s1 STARTTLS\r\nx1 LOGIN demo demo\r\n")
	if l := c.line(); l != "s1 OK Begin TLS negotiation now." {
		t.Fatalf("STARTTLS: %q", l)
	}
	tc := tls.Client(c.nc, sys.ClientTLS())
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.nc, c.r = tc, bufio.NewReader(tc)
	if r := c.cmd("a1", "CAPABILITY"); r[0] != "* CAPABILITY IMAP4rev1 SASL-IR ID LITERAL+ AUTH=PLAIN AUTH=LOGIN" {
		t.Errorf("CAPABILITY under TLS: %q", r)
	}
	if r := c.cmd("a2", "STARTTLS"); r[0] != "a2 BAD TLS is already active." {
		t.Errorf("second STARTTLS: %q", r)
	}
	if r := c.cmd("a3", "LOGIN demo wrong"); r[0] != "a3 NO [AUTHENTICATIONFAILED] Authentication failed." {
		t.Errorf("wrong password: %q", r)
	}
	if !strings.Contains(sys.Log.String(), "warning: unknown[127.0.0.1]: SASL LOGIN authentication failed: authentication failure, sasl_username=demo") {
		t.Errorf("no failure line in the log:\n%s", sys.Log)
	}
	// The session gets what was pipelined after LOGIN.
	c.send("a4 LOGIN \"demo@example.test\" {4+}\r\ndemo\r\na5 SELECT INBOX\r\n")
	if l := c.line(); l != "a4 OK Logged in" {
		t.Fatalf("login: %q", l)
	}
	if l := c.line(); l != "echo: a5 SELECT INBOX" {
		t.Fatalf("pipelined command: %q", l)
	}
	// And what comes later, through the login process's TLS proxy.
	c.send("a6 NOOP\r\n")
	if l := c.line(); l != "echo: a6 NOOP" {
		t.Fatalf("later command: %q", l)
	}
	reqs := sys.Requests()
	if len(reqs) != 2 {
		t.Fatalf("%d requests", len(reqs))
	}
	if r := reqs[1]; r.Protocol != "imap" || r.Mechanism != "LOGIN" || r.User != "demo@example.test" || r.Tag != "a4" || !r.TLS {
		t.Errorf("request %+v", r)
	}
	if !strings.Contains(sys.Log.String(), "Login: user=<demo@example.test>, method=LOGIN, rip=127.0.0.1, lip=127.0.0.1, mpid=") {
		t.Errorf("no login line:\n%s", sys.Log)
	}
}

func TestAuthenticate(t *testing.T) {
	sys := start(t, func(c *login.Config) { c.PlaintextAuth = true })
	c, g := dial(t, sys)
	if !strings.Contains(g, "AUTH=PLAIN AUTH=LOGIN") || strings.Contains(g, "LOGINDISABLED") {
		t.Errorf("greeting with login_plaintext_auth: %q", g)
	}
	c.send("a1 AUTHENTICATE PLAIN\r\n")
	if l := c.line(); l != "+ " {
		t.Fatalf("challenge %q", l)
	}
	c.send("*\r\n")
	if l := c.line(); l != "a1 BAD Authentication aborted by client." {
		t.Errorf("abort: %q", l)
	}
	if r := c.cmd("a2", "AUTHENTICATE PLAIN !!!"); r[0] != "a2 NO [AUTHENTICATIONFAILED] Authentication failed." {
		t.Errorf("bad base64: %q", r)
	}
	if r := c.cmd("a3", "AUTHENTICATE CRAM-MD5"); r[0] != "a3 NO [CANNOT] Unsupported authentication mechanism." {
		t.Errorf("CRAM-MD5: %q", r)
	}
	// LOGIN mechanism, over a plaintext connection whose own socket is
	// passed.
	c.send("a4 AUTHENTICATE LOGIN\r\n")
	if l := c.line(); l != "+ VXNlcm5hbWU6" {
		t.Fatalf("LOGIN challenge %q", l)
	}
	c.send("ZGVtbw==\r\n")
	if l := c.line(); l != "+ UGFzc3dvcmQ6" {
		t.Fatalf("LOGIN challenge 2 %q", l)
	}
	c.send("ZGVtbw==\r\na5 NOOP\r\n")
	if l := c.line(); l != "a4 OK Logged in" {
		t.Fatalf("login: %q", l)
	}
	if l := c.line(); l != "echo: a5 NOOP" {
		t.Fatalf("pipelined: %q", l)
	}
	c.send("a6 NOOP\r\n")
	if l := c.line(); l != "echo: a6 NOOP" {
		t.Fatalf("later: %q", l)
	}
	if r := sys.Requests(); len(r) != 1 || r[0].Mechanism != "LOGIN" || r[0].TLS || r[0].User != "demo" {
		t.Errorf("requests %+v", r)
	}
}

func TestSASLIR(t *testing.T) {
	sys := start(t, func(c *login.Config) { c.PlaintextAuth = true })
	c, _ := dial(t, sys)
	c.send("a1 AUTHENTICATE PLAIN AGRlbW9AZXhhbXBsZS50ZXN0AGRlbW8=\r\n")
	if l := c.line(); l != "a1 OK Logged in" {
		t.Fatalf("login: %q", l)
	}
	if r := sys.Requests(); len(r) != 1 || r[0].Mechanism != "PLAIN" || r[0].User != "demo@example.test" {
		t.Errorf("requests %+v", r)
	}
}

func TestTooManyBadCommands(t *testing.T) {
	sys := start(t, nil)
	c, _ := dial(t, sys)
	for i := range maxBad - 1 {
		if r := c.cmd("b", "FROB"); r[0] != "b BAD Unknown command." {
			t.Fatalf("bad command %d: %q", i, r)
		}
	}
	c.send("b FROB\r\n")
	if l := c.line(); l != "b BAD Unknown command." {
		t.Fatalf("%q", l)
	}
	if l := c.line(); l != "* BYE Too many invalid IMAP commands." {
		t.Fatalf("%q", l)
	}
}

// limiter is an anvil that says the client has failed n times.
type limiter struct{ failures int }

func (l *limiter) Connect(ctx context.Context, client string) (anvil.Reply, func(), bool) {
	return anvil.Reply{Client: anvil.Counts{Connections: 1}}, func() {}, true
}

func (l *limiter) Count(ctx context.Context, event, client, user string) (anvil.Reply, bool) {
	if event == anvil.AuthFailure {
		l.failures++
	}
	return anvil.Reply{Client: anvil.Counts{AuthFailures: l.failures}}, true
}

func TestFailureLimit(t *testing.T) {
	lim := &limiter{failures: 1}
	sys := logintest.StartLogin(t, Protocol{}, greeting, func(c *login.Config) {
		c.PlaintextAuth = true
		c.Limits = login.Limits{AuthFailures: 3, AuthDelay: 20 * time.Millisecond, AuthMaxDelay: time.Second}
	}, lim)
	c, _ := dial(t, sys)
	start := time.Now()
	if r := c.cmd("a1", "LOGIN demo wrong"); r[0] != "a1 NO [AUTHENTICATIONFAILED] Authentication failed." {
		t.Fatalf("first failure: %q", r)
	}
	// The second failure of the client in anvil: 20ms doubled.
	if d := time.Since(start); d < 40*time.Millisecond {
		t.Errorf("failure answered after %s, want at least 40ms", d)
	}
	c.send("a2 LOGIN demo wrong\r\n")
	if l := c.line(); l != "* BYE Too many authentication failures." {
		t.Fatalf("limit: %q", l)
	}
	if !strings.Contains(sys.Log.String(), "warning: AUTH failure limit exceeded: 3 from unknown[127.0.0.1] for service imap") {
		t.Errorf("no limit line:\n%s", sys.Log)
	}
	// A new connection is refused at once, the right password or not.
	c2, _ := dial(t, sys)
	c2.send("a1 LOGIN demo demo\r\n")
	if l := c2.line(); l != "* BYE Too many authentication failures." {
		t.Fatalf("after the limit: %q", l)
	}
	if n := len(sys.Requests()); n != 2 {
		t.Errorf("%d requests reached the session service, want 2", n)
	}
}

func TestTemporaryFailure(t *testing.T) {
	sys := start(t, func(c *login.Config) { c.PlaintextAuth = true; c.SessionSocket = "/nonexistent/socket" })
	c, _ := dial(t, sys)
	if r := c.cmd("a1", "LOGIN demo demo"); r[0] != "a1 NO [UNAVAILABLE] Temporary authentication failure, try again later." {
		t.Errorf("no session service: %q", r)
	}
}

// TestCapabilitiesOverride: the authenticated session's program may
// announce its own list before login.
func TestCapabilitiesOverride(t *testing.T) {
	sys := logintest.StartLogin(t, Protocol{Capabilities: []string{"IMAP4rev1", "IMAP4rev2", "IDLE"}}, greeting, nil, nil)
	_, g := dial(t, sys)
	if g != "* OK [CAPABILITY IMAP4rev1 IMAP4rev2 IDLE STARTTLS LOGINDISABLED] mail.example.test ready." {
		t.Errorf("greeting %q", g)
	}
}

package pop3login

import (
	"bufio"
	"crypto/tls"
	"net"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/ipc/handoff"
	"postern.dev/postern/libmail/login"
	"postern.dev/postern/libmail/login/logintest"
)

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

func (c *client) cmd(line string) string {
	c.t.Helper()
	c.send(line + "\r\n")
	return c.line()
}

// multi reads a multi-line answer up to its ".".
func (c *client) multi(line string) []string {
	c.t.Helper()
	out := []string{c.cmd(line)}
	for out[len(out)-1] != "." {
		out = append(out, c.line())
	}
	return out
}

func greeting(handoff.Request) string { return "+OK Logged in." }

func TestBeforeTLS(t *testing.T) {
	sys := logintest.StartLogin(t, Protocol{}, greeting, nil, nil)
	c, g := dial(t, sys)
	if g != "+OK mail.example.test ready." {
		t.Errorf("greeting %q", g)
	}
	if got := strings.Join(c.multi("CAPA"), "|"); got != "+OK Capability list follows|TOP|UIDL|RESP-CODES|PIPELINING|AUTH-RESP-CODE|STLS|." {
		t.Errorf("CAPA before TLS: %s", got)
	}
	for _, cmd := range []string{"USER demo", "PASS demo", "AUTH PLAIN AGRlbW8AZGVtbw=="} {
		if r := c.cmd(cmd); r != "-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections." {
			t.Errorf("%s: %q", cmd, r)
		}
	}
	if n := len(sys.Requests()); n != 0 {
		t.Errorf("%d credentials reached the session service before TLS", n)
	}
	if r := c.cmd("STAT"); r != "-ERR Not logged in." {
		t.Errorf("STAT: %q", r)
	}
	if r := c.cmd("QUIT"); r != "+OK Logging out." {
		t.Errorf("QUIT: %q", r)
	}
}

func TestLoginAfterSTLS(t *testing.T) {
	sys := logintest.StartLogin(t, Protocol{}, greeting, nil, nil)
	c, _ := dial(t, sys)
	c.send("STLS\r\nUSER injected\r\n")
	if l := c.line(); l != "+OK Begin TLS negotiation now." {
		t.Fatalf("STLS: %q", l)
	}
	tc := tls.Client(c.nc, sys.ClientTLS())
	if err := tc.Handshake(); err != nil {
		t.Fatal(err)
	}
	c.nc, c.r = tc, bufio.NewReader(tc)
	if got := strings.Join(c.multi("CAPA"), "|"); got != "+OK Capability list follows|TOP|UIDL|RESP-CODES|PIPELINING|AUTH-RESP-CODE|USER|SASL PLAIN LOGIN|." {
		t.Errorf("CAPA under TLS: %s", got)
	}
	// The USER sent in plaintext after STLS was thrown away.
	if r := c.cmd("PASS demo"); r != "-ERR No username given." {
		t.Errorf("PASS after an injected USER: %q", r)
	}
	if r := c.cmd("USER demo@example.test"); r != "+OK" {
		t.Errorf("USER: %q", r)
	}
	if r := c.cmd("PASS wrong"); r != "-ERR [AUTH] Authentication failed." {
		t.Errorf("wrong PASS: %q", r)
	}
	if !strings.Contains(sys.Log.String(), "warning: unknown[127.0.0.1]: USER authentication failed: authentication failure, sasl_username=demo@example.test") {
		t.Errorf("no failure line:\n%s", sys.Log)
	}
	c.send("USER demo@example.test\r\nPASS demo\r\nSTAT\r\n")
	if l := c.line(); l != "+OK" {
		t.Fatalf("USER: %q", l)
	}
	if l := c.line(); l != "+OK Logged in." {
		t.Fatalf("PASS: %q", l)
	}
	if l := c.line(); l != "echo: STAT" {
		t.Fatalf("pipelined: %q", l)
	}
	if r := c.cmd("NOOP"); r != "echo: NOOP" {
		t.Fatalf("through the proxy: %q", r)
	}
	if r := sys.Requests(); len(r) != 2 || r[1].Mechanism != "USER" || r[1].Protocol != "pop3" || r[1].Tag != "" || !r[1].TLS {
		t.Errorf("requests %+v", r)
	}
}

func TestAuth(t *testing.T) {
	sys := logintest.StartLogin(t, Protocol{}, greeting, func(c *login.Config) { c.PlaintextAuth = true }, nil)
	c, _ := dial(t, sys)
	if got := strings.Join(c.multi("AUTH"), "|"); got != "+OK|PLAIN|LOGIN|." {
		t.Errorf("AUTH list: %s", got)
	}
	if r := c.cmd("AUTH CRAM-MD5"); r != "-ERR Unsupported authentication mechanism." {
		t.Errorf("CRAM-MD5: %q", r)
	}
	if r := c.cmd("AUTH PLAIN"); r != "+ " {
		t.Fatalf("PLAIN challenge: %q", r)
	}
	if r := c.cmd("*"); r != "-ERR Authentication aborted." {
		t.Errorf("abort: %q", r)
	}
	if r := c.cmd("AUTH PLAIN AGRlbW8Ad3Jvbmc="); r != "-ERR [AUTH] Authentication failed." {
		t.Errorf("wrong password: %q", r)
	}
	c.send("AUTH PLAIN AGRlbW8AZGVtbw==\r\nSTAT\r\n")
	if l := c.line(); l != "+OK Logged in." {
		t.Fatalf("login: %q", l)
	}
	if l := c.line(); l != "echo: STAT" {
		t.Fatalf("pipelined: %q", l)
	}
	if r := c.cmd("QUIT"); r != "echo: QUIT" {
		t.Fatalf("plaintext socket passed: %q", r)
	}
}

func TestTooManyBadCommands(t *testing.T) {
	sys := logintest.StartLogin(t, Protocol{}, greeting, nil, nil)
	c, _ := dial(t, sys)
	for range maxBad - 1 {
		if r := c.cmd("FROB"); r != "-ERR Unknown command." {
			t.Fatalf("%q", r)
		}
	}
	if r := c.cmd("FROB"); r != "-ERR Too many bad commands." {
		t.Fatalf("%q", r)
	}
}

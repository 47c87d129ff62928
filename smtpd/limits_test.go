package smtpd

import (
	"bufio"
	"context"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"postern.dev/postern/libmail/ipc/anvil"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/testkit"
)

// fakeLimiter counts like anvil within one endless time unit, in memory.
// With down set it answers nothing, as an anvil that cannot be reached.
type fakeLimiter struct {
	mu     sync.Mutex
	down   bool
	counts map[string]*anvil.Counts // "c:ADDR" or "u:USER"
	events []string                 // "EVENT CLIENT USER", in order
}

func newFakeLimiter() *fakeLimiter { return &fakeLimiter{counts: map[string]*anvil.Counts{}} }

func (f *fakeLimiter) get(k string) *anvil.Counts {
	c := f.counts[k]
	if c == nil {
		c = &anvil.Counts{}
		f.counts[k] = c
	}
	return c
}

func (f *fakeLimiter) Connect(ctx context.Context, client string) (anvil.Reply, func(), bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, "connect "+client)
	if f.down {
		return anvil.Reply{}, func() {}, false
	}
	c := f.get("c:" + client)
	c.Connections++
	c.ConnectRate++
	var once sync.Once
	return anvil.Reply{Client: *c}, func() {
		once.Do(func() {
			f.mu.Lock()
			defer f.mu.Unlock()
			f.events = append(f.events, "disconnect "+client)
			f.get("c:"+client).Connections--
		})
	}, true
}

func (f *fakeLimiter) Count(ctx context.Context, event, client, user string) (anvil.Reply, bool) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.events = append(f.events, strings.TrimSpace(event+" "+client+" "+user))
	if f.down {
		return anvil.Reply{}, false
	}
	var r anvil.Reply
	bump := func(c *anvil.Counts) {
		switch event {
		case anvil.Message:
			c.Messages++
		case anvil.Recipient:
			c.Recipients++
		case anvil.Auth:
			c.Auths++
		case anvil.AuthFailure:
			c.AuthFailures++
		}
	}
	if client != "" {
		c := f.get("c:" + client)
		bump(c)
		r.Client = *c
	}
	if user != "" {
		c := f.get("u:" + user)
		bump(c)
		r.User = *c
	}
	return r, true
}

func (f *fakeLimiter) connections(client string) int {
	f.mu.Lock()
	defer f.mu.Unlock()
	return f.get("c:" + client).Connections
}

func (f *fakeLimiter) log() []string {
	f.mu.Lock()
	defer f.mu.Unlock()
	return slices.Clone(f.events)
}

// limitServer is testServer with limits configured, the log in a buffer
// and the waits after failed AUTHs recorded instead of waited.
func limitServer(t *testing.T, cfgText string) (*Server, *fakeLimiter, *testkit.LogBuffer, *[]time.Duration) {
	t.Helper()
	srv, _ := testServer(t, "smtpd_client_event_limit_exceptions = []\nsmtpd_sasl_auth_enable = true\nsmtpd_tls_auth_only = false\n"+cfgText)
	logs := &testkit.LogBuffer{}
	srv.log = maillog.ForWriter(logs, "smtpd", "mail.example.test", srv.now)
	var mu sync.Mutex
	var waits []time.Duration
	srv.sleep = func(_ context.Context, d time.Duration) {
		mu.Lock()
		waits = append(waits, d)
		mu.Unlock()
	}
	return srv, srv.limiter.(*fakeLimiter), logs, &waits
}

// TestConnectionLimits: smtpd_client_connection_count_limit holds across
// processes through the limiter: a client with that many connections
// open elsewhere (the fake's count) gets 421 4.7.0 before the greeting,
// with Postfix's log line; the place is given back when a connection
// closes, refused or not. smtpd_client_connection_rate_limit refuses the
// connection after the limit within the time unit, closed ones included.
func TestConnectionLimits(t *testing.T) {
	t.Run("count", func(t *testing.T) {
		srv, lim, logs, _ := limitServer(t, "smtpd_client_connection_count_limit = 2\n")
		// Another process already serves one connection of the client.
		_, other, _ := lim.Connect(context.Background(), "127.0.0.1")
		addr := serveTest(t, srv)
		first := dial(t, addr)
		refused := dialRaw(t, addr)
		if r := refused.reply(); r != "421 4.7.0 mail.example.test Error: too many connections from 127.0.0.1" {
			t.Errorf("third connection: %q", r)
		}
		refused.expectClosed()
		if !strings.Contains(logs.String(), "warning: Connection concurrency limit exceeded: 3 from localhost[127.0.0.1] for service smtp\n") {
			t.Errorf("log lacks the limit line:\n%s", logs)
		}
		other()
		third := dial(t, addr)
		third.send("QUIT\r\n")
		third.expect("221 ")
		first.send("QUIT\r\n")
		first.expect("221 ")
		waitFor(t, func() bool { return lim.connections("127.0.0.1") == 0 }, "every connection given back")
	})
	t.Run("rate", func(t *testing.T) {
		srv, _, logs, _ := limitServer(t, "smtpd_client_connection_rate_limit = 2\n")
		addr := serveTest(t, srv)
		for range 2 {
			d := dial(t, addr)
			d.send("QUIT\r\n")
			d.expect("221 ")
		}
		d := dialRaw(t, addr)
		if r := d.reply(); r != "421 4.7.0 mail.example.test Error: too many connections from 127.0.0.1" {
			t.Errorf("third connection: %q", r)
		}
		if !strings.Contains(logs.String(), "warning: Connection rate limit exceeded: 3 from localhost[127.0.0.1] for service smtp\n") {
			t.Errorf("log lacks the limit line:\n%s", logs)
		}
	})
	t.Run("implicit TLS", func(t *testing.T) {
		// On port 465 the refusal comes after the handshake, so the
		// client can read it.
		srv, _, _, _ := limitServer(t, selfSigned(t)+"smtpd_tls_wrappermode = true\nsmtpd_client_connection_rate_limit = 1\n")
		addr := serveTest(t, srv)
		for i, want := range []string{"220 mail.example.test ESMTP postern", "421 4.7.0 mail.example.test Error: too many connections from 127.0.0.1"} {
			d := dialRaw(t, addr)
			d.handshake()
			if r := d.reply(); r != want {
				t.Errorf("connection %d: %q, want %q", i+1, r, want)
			}
		}
	})
	t.Run("exempt", func(t *testing.T) {
		// 127.0.0.1 is in mynetworks, the default exceptions.
		srv, _ := testServer(t, "smtpd_client_connection_rate_limit = 1\n")
		lim := srv.limiter.(*fakeLimiter)
		addr := serveTest(t, srv)
		for range 3 {
			d := dial(t, addr)
			d.send("QUIT\r\n")
			d.expect("221 ")
		}
		if ev := lim.log(); len(ev) != 0 {
			t.Errorf("an exempt client was counted: %q", ev)
		}
	})
}

// TestLimitsFailOpen: a limiter that cannot answer (anvil down) refuses
// nothing: connections, mail, recipients and AUTH go on as without
// limits, and a failed AUTH still waits, by the session's own count.
func TestLimitsFailOpen(t *testing.T) {
	srv, lim, _, waits := limitServer(t, "smtpd_client_connection_rate_limit = 1\nsmtpd_client_message_rate_limit = 1\n"+
		"smtpd_client_recipient_rate_limit = 1\nsmtpd_auth_failure_limit = 1\nsmtpd_auth_failure_delay = \"1s\"\n")
	lim.down = true
	addr := serveTest(t, srv)
	for range 2 {
		d := dial(t, addr)
		d.send("EHLO client.example\r\n")
		d.expect("250-")
		for range 2 {
			d.send("AUTH PLAIN AGRlbW9AZXhhbXBsZS50ZXN0AHdyb25n\r\n")
			d.expect("535 5.7.8 ")
		}
		for range 2 {
			d.send("MAIL FROM:<a@example.org>\r\nRCPT TO:<demo@example.test>\r\nRCPT TO:<postmaster@example.test>\r\nRSET\r\n")
			for _, want := range []string{"250 ", "250 ", "250 ", "250 "} {
				d.expect(want)
			}
		}
		d.send("QUIT\r\n")
		d.expect("221 ")
	}
	if want := []time.Duration{time.Second, 2 * time.Second, time.Second, 2 * time.Second}; !slices.Equal(*waits, want) {
		t.Errorf("waits %v, want %v", *waits, want)
	}
}

// TestAuthFailureDelay: each failed AUTH is answered after
// smtpd_auth_failure_delay doubled for each earlier failure of the
// client (counted across sessions by the limiter), up to
// smtpd_auth_failure_max_delay; an exempt client does not wait.
func TestAuthFailureDelay(t *testing.T) {
	srv, _, _, waits := limitServer(t, "smtpd_auth_failure_limit = 0\nsmtpd_auth_failure_delay = \"1s\"\nsmtpd_auth_failure_max_delay = \"5s\"\n")
	addr := serveTest(t, srv)
	for range 2 {
		d := dial(t, addr)
		d.send("EHLO client.example\r\n")
		d.expect("250-")
		for range 3 {
			d.send("AUTH PLAIN AGRlbW9AZXhhbXBsZS50ZXN0AHdyb25n\r\n")
			d.expect("535 5.7.8 ")
		}
		d.send("QUIT\r\n")
		d.expect("221 ")
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 5 * time.Second, 5 * time.Second, 5 * time.Second}
	if !slices.Equal(*waits, want) {
		t.Errorf("waits %v, want %v", *waits, want)
	}

	exempt, _ := testServer(t, "smtpd_sasl_auth_enable = true\nsmtpd_tls_auth_only = false\n")
	exempt.sleep = func(_ context.Context, d time.Duration) { t.Errorf("an exempt client waited %s", d) }
	d := dial(t, serveTest(t, exempt))
	d.send("EHLO client.example\r\nAUTH PLAIN AGRlbW9AZXhhbXBsZS50ZXN0AHdyb25n\r\n")
	d.expect("250-")
	d.expect("535 5.7.8 ")

	for _, c := range []struct {
		base, most time.Duration
		n          int
		want       time.Duration
	}{{0, time.Second, 5, 0}, {time.Second, 16 * time.Second, 1, time.Second}, {time.Second, 16 * time.Second, 60, 16 * time.Second},
		{time.Second, 10 * time.Second, 1 << 20, 10 * time.Second}, {3 * time.Second, time.Second, 1, time.Second}} {
		if got := authDelay(c.base, c.most, c.n); got != c.want {
			t.Errorf("authDelay(%s, %s, %d) = %s, want %s", c.base, c.most, c.n, got, c.want)
		}
	}
}

// TestAuthDelayEndsWithSession: the wait after a failed AUTH ends when
// the session's context does (a shutdown that stops waiting), and holds
// no other session: a second client is served while the first waits.
func TestAuthDelayEndsWithSession(t *testing.T) {
	srv, _ := testServer(t, "smtpd_client_event_limit_exceptions = []\nsmtpd_sasl_auth_enable = true\nsmtpd_tls_auth_only = false\n"+
		"smtpd_auth_failure_delay = \"1h\"\nsmtpd_auth_failure_max_delay = \"1h\"\n")
	addr := serveTest(t, srv)
	slow := dial(t, addr)
	slow.send("EHLO client.example\r\nAUTH PLAIN AGRlbW9AZXhhbXBsZS50ZXN0AHdyb25n\r\n")
	slow.expect("250-")
	other := dial(t, addr)
	other.send("EHLO other.example\r\n")
	other.expect("250-")
	other.send("QUIT\r\n")
	other.expect("221 ")
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	start := time.Now()
	srv.Shutdown(ctx)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("shutdown took %s with a session waiting after a failed AUTH", d)
	}
}

// waitFor polls cond for up to 5 s.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	for deadline := time.Now().Add(5 * time.Second); !cond(); {
		if time.Now().After(deadline) {
			t.Fatalf("not so after 5 s: %s", what)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// dialRaw connects without reading the greeting.
func dialRaw(t *testing.T, addr string) *dialogue {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	return &dialogue{t: t, c: c, r: bufio.NewReader(c)}
}

func (d *dialogue) expectClosed() {
	d.t.Helper()
	d.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	if b, err := d.r.ReadByte(); err == nil {
		d.t.Errorf("connection still open: read %q", b)
	}
}

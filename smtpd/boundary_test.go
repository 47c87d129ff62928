package smtpd

import (
	"bufio"
	"context"
	"io"
	"net"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/testkit"

	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/recipient"
)

// panicDirectory is a recipient directory with a bug: looking up one
// address panics, as a lookup with a nil map or an index out of range
// would.
type panicDirectory struct {
	Directory
	bad string
}

func (d panicDirectory) Lookup(addr string) (recipient.Match, error) {
	if addr == d.bad {
		panic("lookup bug: " + addr)
	}
	return d.Directory.Lookup(addr)
}

// captureLog sends srv's log to a buffer, as well as to the test's log.
func captureLog(t *testing.T, srv *Server) *testkit.LogBuffer {
	var buf testkit.LogBuffer
	srv.log = maillog.ForWriter(io.MultiWriter(&buf, &testLog{t}), "smtpd", "mail.example.test", srv.now)
	return &buf
}

// waitIdle waits until srv holds no connection: none tracked, none
// counted for its client, no place taken under the process limit.
func waitIdle(t *testing.T, srv *Server) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		srv.mu.Lock()
		conns, clients, places := len(srv.conns), len(srv.clients), len(srv.sem)
		srv.mu.Unlock()
		if conns == 0 && clients == 0 && places == 0 {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("server not idle: %d sessions, %d clients counted, %d places taken", conns, clients, places)
		}
		time.Sleep(10 * time.Millisecond)
	}
}

// TestPanicEndsOneSession: a panic in one session (a bug in a recipient
// lookup) answers that client 421 and closes its connection, while
// another session, in the middle of DATA, completes its message; the
// panic is logged with its stack; the server still takes new clients,
// and every count is back to zero after.
func TestPanicEndsOneSession(t *testing.T) {
	srv, spool := testServer(t, "")
	srv.dir = panicDirectory{srv.dir, "crash@example.test"}
	log := captureLog(t, srv)
	addr := serveTest(t, srv)

	good := dial(t, addr)
	good.send("EHLO good.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\n")
	good.expect("250-")
	good.expect("250 ")
	good.expect("250 ")
	good.expect("354 ")
	good.send("Subject: survivor\r\n\r\nfirst half\r\n")

	bad := dial(t, addr)
	bad.send("EHLO bad.example\r\nMAIL FROM:<b@example.org>\r\nRCPT TO:<crash@example.test>\r\n")
	bad.expect("250-")
	bad.expect("250 ")
	if last, ok := closedWith(bad, "421 4.3.0 mail.example.test Error: internal error", 5*time.Second); !ok {
		t.Errorf("session that panicked: last line %q, want 421 4.3.0 and close", last)
	}

	good.send("second half\r\n.\r\nQUIT\r\n")
	good.expect("250 2.0.0 Ok: queued as ")
	good.expect("221 ")

	next := dial(t, addr)
	next.send("EHLO next.example\r\nMAIL FROM:<c@example.org>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\n")
	next.expect("250-")
	next.expect("250 ")
	next.expect("250 ")
	next.expect("354 ")
	next.send("Subject: after\r\n\r\nhello\r\n.\r\nQUIT\r\n")
	next.expect("250 2.0.0 Ok: queued as ")
	next.expect("221 ")

	if got := queuedSubjects(t, spool); got != "after\nsurvivor\n" {
		t.Errorf("queued %q", got)
	}
	waitIdle(t, srv)
	out := log.String()
	for _, want := range []string{"error: panic in session with localhost[127.0.0.1]: lookup bug: crash@example.test", "(*conn).rcpt", "disconnect from localhost[127.0.0.1] ehlo=1 mail=1 commands=2"} {
		if !strings.Contains(out, want) {
			t.Errorf("log lacks %q", want)
		}
	}
}

// addrListener makes its connections appear to come from addr, so that
// the client-name lookup, skipped for loopback clients, runs.
type addrListener struct {
	net.Listener
	addr net.Addr
}

func (l addrListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err != nil {
		return nil, err
	}
	return addrConn{c, l.addr}, nil
}

type addrConn struct {
	net.Conn
	remote net.Addr
}

func (c addrConn) RemoteAddr() net.Addr { return c.remote }

// serveFrom serves srv to clients that appear to come from ip.
func serveFrom(t *testing.T, srv *Server, ip string) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(addrListener{l, &net.TCPAddr{IP: net.ParseIP(ip), Port: 4025}})
	t.Cleanup(func() { l.Close() })
	return l.Addr().String()
}

// namerFunc is a Namer written as a function.
type namerFunc func(ctx context.Context, ip net.IP) string

func (f namerFunc) ClientName(ctx context.Context, ip net.IP) string { return f(ctx, ip) }

// TestPanicInLookupName: the client-name lookup runs in the session, so
// a panic in it (a resolver bug) ends that session with 421, before its
// greeting, and no other.
func TestPanicInLookupName(t *testing.T) {
	srv, _ := testServer(t, "")
	log := captureLog(t, srv)
	srv.names = namerFunc(func(ctx context.Context, ip net.IP) string { panic("resolver bug for " + ip.String()) })
	addr := serveFrom(t, srv, "192.0.2.7")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	d := &dialogue{t: t, c: c, r: bufio.NewReader(c)}
	if last, ok := closedWith(d, "421 4.3.0 ", 5*time.Second); !ok {
		t.Errorf("last line %q, want 421 4.3.0 and close", last)
	}
	waitIdle(t, srv)
	if out := log.String(); !strings.Contains(out, "panic in session with unknown[192.0.2.7]: resolver bug for 192.0.2.7") {
		t.Errorf("log lacks the panic:\n%s", out)
	}
}

// TestLookupEndsWithShutdown: a lookup made for a session is cancelled
// when Shutdown stops waiting for the sessions, rather than running out
// its own timeout while Shutdown waits for it.
func TestLookupEndsWithShutdown(t *testing.T) {
	srv, _ := testServer(t, "")
	started, ended := make(chan struct{}), make(chan error, 1)
	srv.names = namerFunc(func(ctx context.Context, ip net.IP) string {
		close(started)
		<-ctx.Done()
		ended <- ctx.Err()
		return ""
	})
	addr := serveFrom(t, srv, "192.0.2.8")
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	<-started
	ctx, cancel := context.WithTimeout(context.Background(), 100*time.Millisecond)
	defer cancel()
	srv.Shutdown(ctx)
	select {
	case err := <-ended:
		if err != context.Canceled {
			t.Errorf("lookup ended with %v, want context.Canceled (by Shutdown)", err)
		}
	default:
		t.Error("Shutdown returned with the lookup still running")
	}
}

// TestLookupHasSessionDeadline: a lookup made for a session is bounded
// by the session's own deadline, smtpd_timeout, when that is shorter than
// the lookup's own bound.
func TestLookupHasSessionDeadline(t *testing.T) {
	srv, _ := testServer(t, "smtpd_timeout = \"1s\"\n")
	srv.names = namerFunc(func(ctx context.Context, ip net.IP) string {
		dl, ok := ctx.Deadline()
		if left := time.Until(dl); !ok || left > time.Second {
			t.Errorf("lookup deadline in %s (set %v), want within smtpd_timeout, 1s", left, ok)
		}
		return "client.example"
	})
	d := dial(t, serveFrom(t, srv, "192.0.2.9"))
	d.send("QUIT\r\n")
	d.expect("221 ")
}

package login_test

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"postern.dev/postern/libmail/account"
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/ipc/handoff"
	"postern.dev/postern/libmail/login"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/testkit"
)

// TestMain makes the test binary a session process when the session
// service starts it, as imapd and pop3d are.
func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == login.ChildFlag {
		login.ChildMain(func(*maillog.Logger) login.Handoff { return echoSession })
		return
	}
	os.Exit(m.Run())
}

// echoSession says who it is and where, then echoes lines.
func echoSession(ctx context.Context, conn net.Conn, id login.Identity, mb login.Mailbox) error {
	fmt.Fprintf(conn, "%s OK user=%s mailbox=%s uid=%d pid=%d tls=%v\r\n", id.Tag, id.User, mb.Root, os.Getuid(), os.Getpid(), id.TLS)
	r := bufio.NewReader(conn)
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return nil
		}
		if strings.HasPrefix(line, "exit") {
			return nil
		}
		fmt.Fprintf(conn, "echo: %s", line)
	}
}

// lineProto is a protocol of one command, "TAG LOGIN USER PASSWORD".
type lineProto struct{}

func (lineProto) Name() string                        { return "imap" }
func (lineProto) Refuse(c *login.Client, text string) { c.Printf("* BYE %s\r\n", text) }
func (lineProto) Serve(ctx context.Context, c *login.Client) {
	c.Printf("* OK hello\r\n")
	for c.Flush() == nil {
		line, err := c.ReadLine()
		if err != nil {
			return
		}
		f := strings.Fields(line)
		if len(f) != 4 || f[1] != "LOGIN" {
			c.Printf("* BAD\r\n")
			continue
		}
		switch c.Authenticate(ctx, login.Credentials{Mechanism: "LOGIN", User: f[2], Password: f[3], Tag: f[0]}) {
		case login.LoggedIn:
			return
		case login.Failed:
			c.Printf("%s NO failed\r\n", f[0])
		default:
			c.Printf("%s NO later\r\n", f[0])
		}
	}
}

type system struct {
	addr      string
	log       *testkit.LogBuffer
	pki       *testkit.PKI
	base      string
	stopSvc   context.CancelFunc
	stopLogin context.CancelFunc
	owner     int
	sock      string
}

// runnableCopy copies the test binary where any user may run it.
func runnableCopy(t *testing.T) string {
	t.Helper()
	dir, err := os.MkdirTemp("", "logintest-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	b, err := os.ReadFile(os.Args[0])
	if err != nil {
		t.Fatal(err)
	}
	path := filepath.Join(dir, "login.test")
	if err := os.WriteFile(path, b, 0o755); err != nil {
		t.Fatal(err)
	}
	return path
}

// startSystem runs a login server and a real session service, whose
// session processes are this test binary.
func startSystem(t *testing.T, wrapper bool) *system {
	t.Helper()
	dir := t.TempDir()
	sys := &system{log: &testkit.LogBuffer{}, pki: testkit.NewPKI(t, "mail.example.test"), base: filepath.Join(dir, "mail")}
	os.MkdirAll(filepath.Join(sys.base, "example.test", "demo"), 0o700)
	log, err := maillog.New(maillog.Options{File: "-", Program: "imapd", Stderr: sys.log})
	if err != nil {
		t.Fatal(err)
	}
	accts, errs := account.Parse(strings.NewReader("demo@example.test:{PLAIN}demo\n"), "accounts")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	me, err := daemon.Current()
	if err != nil {
		t.Fatal(err)
	}
	program := os.Args[0]
	if os.Geteuid() == 0 {
		// A session never runs as root: as root, the test's sessions run
		// as nobody, from a copy of the test binary nobody may run.
		if me, err = daemon.LookupUser("nobody"); err != nil {
			t.Skip(err)
		}
		program = runnableCopy(t)
	}
	sys.owner = me.UID
	sock := filepath.Join(dir, "session")
	sys.sock = sock
	sl, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	svcCtx, stopSvc := context.WithCancel(context.Background())
	sys.stopSvc = stopSvc
	svc := &login.SessionService{Protocol: "imap", Accounts: accts, Vmail: me, VirtualBase: sys.base, HomeMailbox: "Maildir/",
		Program: program, Log: log, Now: time.Now, LogOptions: login.ChildLog{Program: "imapd", File: "-"}}
	var wg sync.WaitGroup
	wg.Add(2)
	go func() { defer wg.Done(); svc.Serve(svcCtx, sl) }()
	cfg := login.Config{Service: "imap", TLS: sys.pki.ServerConfig(), Wrapper: wrapper, Timeout: 10 * time.Second, SessionSocket: sock}
	srv := login.NewServer(cfg, lineProto{}, log, time.Now)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	sys.addr = l.Addr().String()
	ctx, cancel := context.WithCancel(context.Background())
	sys.stopLogin = cancel
	go func() { defer wg.Done(); srv.Serve(ctx, l) }()
	t.Cleanup(func() {
		cancel()
		stopSvc()
		wg.Wait()
	})
	return sys
}

func (s *system) dial(t *testing.T, useTLS bool) (net.Conn, *bufio.Reader) {
	t.Helper()
	nc, err := net.Dial("tcp", s.addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nc.Close() })
	if useTLS {
		nc = tls.Client(nc, &tls.Config{RootCAs: s.pki.Pool, ServerName: "mail.example.test"})
	}
	nc.SetDeadline(time.Now().Add(20 * time.Second))
	r := bufio.NewReader(nc)
	if l, _ := r.ReadString('\n'); l != "* OK hello\r\n" {
		t.Fatalf("greeting %q", l)
	}
	return nc, r
}

func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	l, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v (%q)", err, l)
	}
	return strings.TrimSuffix(l, "\r\n")
}

// TestSessionProcess: a login goes through the session service to a
// session process (another process, this binary), which answers on the
// client's own socket and reads first what the client pipelined.
func TestSessionProcess(t *testing.T) {
	sys := startSystem(t, false)
	nc, r := sys.dial(t, false)
	fmt.Fprintf(nc, "a1 LOGIN demo@example.test wrong\r\n")
	if l := readLine(t, r); l != "a1 NO failed" {
		t.Fatalf("wrong password: %q", l)
	}
	fmt.Fprintf(nc, "a2 LOGIN demo@example.test demo\r\nsecond line\r\n")
	l := readLine(t, r)
	want := fmt.Sprintf("a2 OK user=demo@example.test mailbox=%s uid=%d pid=", filepath.Join(sys.base, "example.test", "demo"), sys.owner)
	if !strings.HasPrefix(l, want) || strings.HasSuffix(l, fmt.Sprintf("pid=%d tls=false", os.Getpid())) {
		t.Fatalf("session said %q, want %q and another process", l, want)
	}
	if l := readLine(t, r); l != "echo: second line" {
		t.Fatalf("pipelined line: %q", l)
	}
	fmt.Fprintf(nc, "third\r\n")
	if l := readLine(t, r); l != "echo: third" {
		t.Fatalf("later line: %q", l)
	}
	fmt.Fprintf(nc, "exit\r\n")
	if _, err := r.ReadString('\n'); err == nil {
		t.Error("the connection stayed open after the session ended")
	}
	if !strings.Contains(sys.log.String(), "Login: user=<demo@example.test>, method=LOGIN, rip=127.0.0.1, lip=127.0.0.1, mpid=") {
		t.Errorf("no login line:\n%s", sys.log)
	}
}

// TestSessionProcessTLS: under implicit TLS the login process proxies.
func TestSessionProcessTLS(t *testing.T) {
	sys := startSystem(t, true)
	nc, r := sys.dial(t, true)
	fmt.Fprintf(nc, "a1 LOGIN demo@example.test demo\r\nsecond\r\n")
	if l := readLine(t, r); !strings.HasPrefix(l, "a1 OK user=demo@example.test") || !strings.HasSuffix(l, "tls=true") {
		t.Fatalf("session said %q", l)
	}
	if l := readLine(t, r); l != "echo: second" {
		t.Fatalf("pipelined line: %q", l)
	}
	fmt.Fprintf(nc, "third\r\n")
	if l := readLine(t, r); l != "echo: third" {
		t.Fatalf("later line: %q", l)
	}
	// The session service stops: its sessions end with it.
	sys.stopSvc()
	if _, err := r.ReadString('\n'); err == nil {
		t.Error("the session outlived its service")
	}
}

// TestSessionServiceRefuses: the session service answers a request it
// cannot take without starting anything: a wrong password is a failure,
// a request for another protocol or a malformed one a temporary error.
func TestSessionServiceRefuses(t *testing.T) {
	sys := startSystem(t, false)
	good := handoff.Request{Type: handoff.RequestType, Protocol: "imap", Mechanism: "PLAIN", User: "demo@example.test",
		Password: "demo", Tag: "a1", Client: "127.0.0.1:1", Local: "127.0.0.1:143"}
	for _, tc := range []struct {
		name   string
		change func(*handoff.Request)
		temp   bool
		text   string
	}{
		{"wrong password", func(r *handoff.Request) { r.Password = "wrong" }, false, "authentication failure"},
		{"unknown user", func(r *handoff.Request) { r.User = "nobody@example.test" }, false, "authentication failure"},
		{"other protocol", func(r *handoff.Request) { r.Protocol, r.Tag = "pop3", "" }, true, "a pop3 login sent to the imap session service"},
		{"no tag", func(r *handoff.Request) { r.Tag = "" }, true, "handoff request for IMAP without a tag"},
	} {
		req := good
		tc.change(&req)
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		conn, err := ipc.Dial(ctx, sys.sock, ipc.Hello{Channel: handoff.Channel, Version: handoff.Version})
		cancel()
		if err != nil {
			t.Fatal(err)
		}
		f, err := os.Open(os.DevNull)
		if err != nil {
			t.Fatal(err)
		}
		if err := daemon.SendFile(conn.Peer().(*net.UnixConn), f); err != nil {
			t.Fatal(err)
		}
		f.Close()
		conn.SendFlush(req)
		var r handoff.Reply
		if err := conn.Recv(&r); err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		conn.Close()
		if r.OK || r.Temp != tc.temp || r.Text != tc.text || r.Validate() != nil {
			t.Errorf("%s: reply %+v, want temp %v %q", tc.name, r, tc.temp, tc.text)
		}
	}
}

// TestLoginStopEndsProxies: a login process that stops takes its TLS
// sessions' state with it: the client sees the connection close.
func TestLoginStopEndsProxies(t *testing.T) {
	sys := startSystem(t, true)
	nc, r := sys.dial(t, true)
	fmt.Fprintf(nc, "a1 LOGIN demo@example.test demo\r\n")
	if l := readLine(t, r); !strings.HasPrefix(l, "a1 OK ") {
		t.Fatalf("session said %q", l)
	}
	sys.stopLogin()
	nc.SetReadDeadline(time.Now().Add(5 * time.Second))
	if l, err := r.ReadString('\n'); err == nil || errors.Is(err, os.ErrDeadlineExceeded) {
		t.Errorf("after the login process stopped: %q %v, want the connection closed", l, err)
	}
}

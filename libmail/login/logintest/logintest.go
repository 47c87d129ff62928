package logintest

import (
	"bufio"
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"os"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/ipc/handoff"
	"postern.dev/postern/libmail/login"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/testkit"
)

// LoginSystem is a login server (libmail/login) on loopback with a fake
// session service behind it: what the tests of imapd's and pop3d's login
// roles talk to. The fake service takes one password ("demo" for any
// user) and, instead of starting a session process, answers the client
// itself on the descriptor it was passed: Greeting's line, then
// "echo: LINE" for each line the client sends, so a test sees that the
// bytes it pipelined after its login reach the session.
type LoginSystem struct {
	Addr string
	Log  *testkit.LogBuffer
	PKI  *testkit.PKI

	mu       sync.Mutex
	requests []handoff.Request
}

// Requests are the handoff requests the fake session service received.
func (s *LoginSystem) Requests() []handoff.Request {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]handoff.Request(nil), s.requests...)
}

// StartLogin starts a login server speaking proto. greeting is the fake
// session's first line for a request (the tagged OK, the +OK); change
// adjusts the configuration (TLS and plaintext logins are on by
// default: the default config has a certificate and wrapper off).
func StartLogin(t testing.TB, proto login.Protocol, greeting func(handoff.Request) string, change func(*login.Config), limiter login.Limiter) *LoginSystem {
	t.Helper()
	dir := t.TempDir()
	pki := testkit.NewPKI(t, "mail.example.test")
	s := &LoginSystem{Log: &testkit.LogBuffer{}, PKI: pki}
	sock := filepath.Join(dir, "session")
	sl, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		s.fakeSessions(ctx, sl, greeting)
	}()
	cfg := login.Config{Service: proto.Name(), Hostname: "mail.example.test", TLS: pki.ServerConfig(),
		Timeout: 10 * time.Second, SessionSocket: sock}
	if change != nil {
		change(&cfg)
	}
	log, err := maillog.New(maillog.Options{File: "-", Program: proto.Name() + "d", Stderr: s.Log, Hostname: "mail.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	srv := login.NewServer(cfg, proto, log, time.Now)
	if limiter != nil {
		srv.UseLimiter(limiter)
	}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s.Addr = l.Addr().String()
	wg.Add(1)
	go func() {
		defer wg.Done()
		srv.Serve(ctx, l)
	}()
	t.Cleanup(func() {
		cancel()
		sl.Close()
		wg.Wait()
	})
	return s
}

// ClientTLS is a TLS client configuration that trusts the system's CA.
func (s *LoginSystem) ClientTLS() *tls.Config {
	return &tls.Config{RootCAs: s.PKI.Pool, ServerName: "mail.example.test"}
}

func (s *LoginSystem) fakeSessions(ctx context.Context, l net.Listener, greeting func(handoff.Request) string) {
	var wg sync.WaitGroup
	defer wg.Wait()
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	for {
		nc, err := l.Accept()
		if err != nil {
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			s.fakeSession(ctx, nc, greeting)
		}()
	}
}

func (s *LoginSystem) fakeSession(ctx context.Context, nc net.Conn, greeting func(handoff.Request) string) {
	defer nc.Close()
	conn, err := ipc.Accept(nc, handoff.Channel, handoff.Version)
	if err != nil {
		return
	}
	f, err := daemon.ReceiveFile(nc.(*net.UnixConn), "client")
	if err != nil {
		return
	}
	defer f.Close()
	var req handoff.Request
	if conn.Recv(&req) != nil {
		return
	}
	s.mu.Lock()
	s.requests = append(s.requests, req)
	s.mu.Unlock()
	if err := req.Validate(); err != nil || req.Password != "demo" {
		conn.SendFlush(handoff.Reply{Type: handoff.ReplyType, Text: "authentication failure"})
		return
	}
	client, err := net.FileConn(f)
	if err != nil {
		conn.SendFlush(handoff.Reply{Type: handoff.ReplyType, Temp: true, Text: err.Error()})
		return
	}
	conn.SendFlush(handoff.Reply{Type: handoff.ReplyType, OK: true, User: req.User, PID: os.Getpid()})
	defer client.Close()
	stop := context.AfterFunc(ctx, func() { client.Close() })
	defer stop()
	fmt.Fprintf(client, "%s\r\n", greeting(req))
	r := bufio.NewReader(io2(req.Buffered, client))
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		fmt.Fprintf(client, "echo: %s", line)
	}
}

// io2 reads pre, then c.
func io2(pre []byte, c net.Conn) *bufio.Reader {
	return bufio.NewReader(&prefixReader{pre: pre, c: c})
}

type prefixReader struct {
	pre []byte
	c   net.Conn
}

func (p *prefixReader) Read(b []byte) (int, error) {
	if len(p.pre) > 0 {
		n := copy(b, p.pre)
		p.pre = p.pre[n:]
		return n, nil
	}
	return p.c.Read(b)
}

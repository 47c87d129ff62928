package smtp

import (
	"context"
	"crypto/x509"
	"fmt"
	mrand "math/rand/v2"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"postern.dev/postern/libmail/testkit"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/ipc/delivery"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/queue"
)

// testDialer keeps every connection of the agent on loopback: addresses
// the fake resolver hands out (192.0.2.x, documentation addresses) are
// mapped to fake servers on 127.0.0.1, unmapped ones are refused without
// a packet sent. It records the addresses dialed and every write.
type testDialer struct {
	mu     sync.Mutex
	routes map[string]string // "192.0.2.1:2525" -> "127.0.0.1:port"
	dialed []string
	conns  []*recConn
}

func (d *testDialer) route(from, to string) {
	d.mu.Lock()
	defer d.mu.Unlock()
	if d.routes == nil {
		d.routes = map[string]string{}
	}
	d.routes[from] = to
}

func (d *testDialer) dial(ctx context.Context, network, addr string) (net.Conn, error) {
	d.mu.Lock()
	d.dialed = append(d.dialed, addr)
	to, ok := d.routes[addr]
	d.mu.Unlock()
	if !ok {
		host, _, _ := net.SplitHostPort(addr)
		if host != "127.0.0.1" {
			return nil, &net.OpError{Op: "dial", Net: network, Err: os.NewSyscallError("connect", syscall.ECONNREFUSED)}
		}
		to = addr
	}
	syncServer(to)
	var nd net.Dialer
	c, err := nd.DialContext(ctx, network, to)
	if err != nil {
		return nil, err
	}
	rc := &recConn{Conn: c}
	d.mu.Lock()
	d.conns = append(d.conns, rc)
	d.mu.Unlock()
	return rc, nil
}

func (d *testDialer) Dialed() []string {
	d.mu.Lock()
	defer d.mu.Unlock()
	return append([]string(nil), d.dialed...)
}

// recConn records the client's writes, one element per write(2).
type recConn struct {
	net.Conn
	mu     sync.Mutex
	writes []string
}

func (c *recConn) Write(p []byte) (int, error) {
	c.mu.Lock()
	c.writes = append(c.writes, string(p))
	c.mu.Unlock()
	return c.Conn.Write(p)
}

func (c *recConn) Writes() []string {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]string(nil), c.writes...)
}

// testEnv is a spool, a fake resolver, a loopback dialer and an agent.
type testEnv struct {
	t      *testing.T
	dir    string
	spool  *queue.Spool
	agent  *Agent
	log    *testkit.LogBuffer
	res    *testkit.Resolver
	dialer *testDialer
	params config.Params
}

type envOptions struct {
	params func(*config.Params)
	self   *Self
	sts    STSFetcher
	roots  *x509.CertPool
	seed   uint64
}

func newTestEnv(t *testing.T, o envOptions) *testEnv {
	t.Helper()
	dir := t.TempDir()
	root := testkit.MakeSpool(t, filepath.Join(dir, "spool"))
	p := config.Default(config.Options{Hostname: "mail.example.test"}).Params
	p.QueueDirectory = root
	p.SMTPTCPPort = 2525 // never 25: nothing here may leave the machine
	p.SMTPTLSSecurityLevel = "none"
	p.SMTPConnectTimeout = config.Duration(5 * time.Second)
	p.SMTPHeloTimeout = config.Duration(10 * time.Second)
	p.SMTPConnectionCacheTimeLimit = 0
	if o.params != nil {
		o.params(&p)
	}
	cfg, err := NewConfig(&p)
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, dir: dir, log: &testkit.LogBuffer{}, res: testkit.NewResolver(), dialer: &testDialer{}, params: p}
	e.spool = queue.Open(root, time.Now)
	t.Cleanup(func() { e.spool.Close() })
	roots := o.roots
	if roots == nil && cfg.CAFile == "" {
		roots = x509.NewCertPool()
	}
	e.agent, err = NewAgent(cfg, Options{Spool: e.spool, Resolver: e.res, Now: time.Now,
		Log: maillog.ForWriter(e.log, "smtp", "mail.example.test", time.Now), Rand: mrand.New(mrand.NewPCG(o.seed, 1)),
		Self: o.self, STS: o.sts, Roots: roots, Dial: e.dialer.dial})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.agent.Close)
	return e
}

const testMessage = "From: sender@example.org\r\nTo: rcpt@example.net\r\nSubject: test\r\n\r\nHello.\r\n.A line with a dot.\r\n..two dots\r\n.\r\nlast line\r\n"

// enqueue writes an entry and moves it to active/, as qmgr would.
func (e *testEnv) enqueue(env queue.Envelope, msg string, rcpts ...string) queue.ID {
	e.t.Helper()
	env.Recipients = append(env.Recipients, testkit.Recipients(rcpts...)...)
	return testkit.Enqueue(e.t, e.spool, queue.Active, env, msg)
}

// handle runs one delivery request for entry id to nexthop.
func (e *testEnv) handle(id queue.ID, nexthop string, last bool, rcpts ...int) *delivery.Reply {
	e.t.Helper()
	now := time.Now().UnixNano()
	req := &delivery.Request{Type: delivery.RequestType, Seq: 7, ID: string(id), Queue: queue.Active,
		Rcpts: rcpts, Last: last, Nexthop: nexthop, Activated: now, Dispatched: now}
	if err := req.Validate(); err != nil {
		e.t.Fatal(err)
	}
	rep := e.agent.handle(context.Background(), req)
	if rep == nil {
		e.t.Fatal("no reply")
	}
	if rep.Seq != 7 || rep.Type != delivery.ReplyType {
		e.t.Errorf("reply seq %d type %q", rep.Seq, rep.Type)
	}
	if err := rep.Validate(); err != nil {
		e.t.Errorf("reply does not validate: %v", err)
	}
	return rep
}

// read reads entry id back from queue q.
func (e *testEnv) read(q string, id queue.ID) *queue.Entry {
	e.t.Helper()
	f, err := os.Open(e.spool.Path(q, id))
	if err != nil {
		e.t.Fatal(err)
	}
	defer f.Close()
	ent, err := queue.Read(f, id)
	if err != nil {
		e.t.Fatal(err)
	}
	return ent
}

func (e *testEnv) exists(id queue.ID) bool {
	_, err := os.Stat(e.spool.Path(queue.Active, id))
	return err == nil
}

// rcptList returns n addresses at domain.
func rcptList(n int, domain string) []string {
	out := make([]string, n)
	for i := range out {
		out[i] = fmt.Sprintf("user%02d@%s", i, domain)
	}
	return out
}

func seq(n int) []int {
	out := make([]int, n)
	for i := range out {
		out[i] = i
	}
	return out
}

type want struct {
	status, dsn, reply string // reply: a part of it
}

func checkResults(t *testing.T, rep *delivery.Reply, w ...want) {
	t.Helper()
	if len(rep.Results) != len(w) {
		t.Fatalf("%d results %+v, want %d", len(rep.Results), rep.Results, len(w))
	}
	for i, x := range w {
		r := rep.Results[i]
		if r.Status != x.status || r.DSN != x.dsn || !strings.Contains(r.Reply, x.reply) {
			t.Errorf("result %d = %+v, want %s %s (%s)", i, r, x.status, x.dsn, x.reply)
		}
	}
}

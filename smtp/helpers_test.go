package smtp

import (
	"bytes"
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"fmt"
	"io"
	"math/big"
	mrand "math/rand/v2"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/dns"
	"postern.dev/postern/libmail/ipc/delivery"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/queue"
)

// syncBuffer is a log sink that tests may read while the agent writes.
type syncBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (s *syncBuffer) Write(p []byte) (int, error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.Write(p)
}

func (s *syncBuffer) String() string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.b.String()
}

// fakeResolver answers from maps; names it does not know do not exist.
type fakeResolver struct {
	mu     sync.Mutex
	mx     map[string][]dns.MX
	hosts  map[string][]netip.Addr
	tlsa   map[string][]dns.TLSA // by "_port._tcp.host"
	secure map[string]bool       // by name: answers about it are DNSSEC-validated
	temp   map[string]bool       // by name: lookups fail temporarily
	asked  []string
}

func newFakeResolver() *fakeResolver {
	return &fakeResolver{mx: map[string][]dns.MX{}, hosts: map[string][]netip.Addr{},
		tlsa: map[string][]dns.TLSA{}, secure: map[string]bool{}, temp: map[string]bool{}}
}

func (r *fakeResolver) addHost(name string, addrs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range addrs {
		r.hosts[name] = append(r.hosts[name], netip.MustParseAddr(a))
	}
}

func (r *fakeResolver) addMX(domain, host string, pref uint16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mx[domain] = append(r.mx[domain], dns.MX{Host: host, Pref: pref})
}

func (r *fakeResolver) lookup(typ, name string) (bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.asked = append(r.asked, typ+" "+name)
	if r.temp[name] {
		return false, &dns.Error{Name: name, Type: typ, Temporary: true}
	}
	return r.secure[name], nil
}

func (r *fakeResolver) LookupMX(ctx context.Context, domain string) ([]dns.MX, bool, error) {
	sec, err := r.lookup("MX", domain)
	if err != nil {
		return nil, false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.mx[domain]) == 0 {
		return nil, false, &dns.Error{Name: domain, Type: "MX", NotFound: true}
	}
	return append([]dns.MX(nil), r.mx[domain]...), sec, nil
}

func (r *fakeResolver) LookupHost(ctx context.Context, host string) ([]netip.Addr, bool, error) {
	sec, err := r.lookup("A", host)
	if err != nil {
		return nil, false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.hosts[host]) == 0 {
		return nil, false, &dns.Error{Name: host, Type: "A", NotFound: true}
	}
	return append([]netip.Addr(nil), r.hosts[host]...), sec, nil
}

func (r *fakeResolver) LookupTLSA(ctx context.Context, port int, host string) ([]dns.TLSA, bool, error) {
	name := fmt.Sprintf("_%d._tcp.%s", port, host)
	sec, err := r.lookup("TLSA", name)
	if err != nil {
		return nil, false, err
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(r.tlsa[name]) == 0 {
		return nil, false, &dns.Error{Name: name, Type: "TLSA", NotFound: true}
	}
	return r.tlsa[name], sec, nil
}

func (r *fakeResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	return nil, &dns.Error{Name: name, Type: "TXT", NotFound: true}
}

func (r *fakeResolver) LookupPTR(ctx context.Context, ip netip.Addr) ([]string, error) {
	return nil, &dns.Error{Name: ip.String(), Type: "PTR", NotFound: true}
}

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
	log    *syncBuffer
	res    *fakeResolver
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
	root := filepath.Join(dir, "spool")
	if err := os.Mkdir(root, 0o700); err != nil {
		t.Fatal(err)
	}
	for _, d := range queue.Layout {
		if err := os.Mkdir(filepath.Join(root, d.Name), d.Mode); err != nil {
			t.Fatal(err)
		}
	}
	p := config.Default(config.Options{Hostname: "mail.example.test"}).Params
	p.QueueDirectory = root
	p.SMTPPort = 2525 // never 25: nothing here may leave the machine
	p.SMTPTLSSecLevel = "none"
	p.SMTPConnectTimeout = config.Duration(5 * time.Second)
	p.SMTPHeloTimeout = config.Duration(10 * time.Second)
	p.SMTPConnCacheTime = 0
	if o.params != nil {
		o.params(&p)
	}
	cfg, err := NewConfig(&p)
	if err != nil {
		t.Fatal(err)
	}
	e := &testEnv{t: t, dir: dir, log: &syncBuffer{}, res: newFakeResolver(), dialer: &testDialer{}, params: p}
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
	if env.Arrival.IsZero() {
		env.Arrival = time.Now().Add(-time.Second)
	}
	if env.Proto == "" {
		env.Proto = "ESMTP"
	}
	for _, r := range rcpts {
		env.Recipients = append(env.Recipients, queue.Recipient{Addr: r})
	}
	id := e.spool.NewID()
	w, err := e.spool.Create(id, &env)
	if err != nil {
		e.t.Fatal(err)
	}
	if _, err := io.WriteString(w, msg); err != nil {
		e.t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		e.t.Fatal(err)
	}
	if err := e.spool.Move(id, queue.Incoming, queue.Active); err != nil {
		e.t.Fatal(err)
	}
	return id
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

// pki is a test certificate authority and a server certificate it
// issued.
type pki struct {
	caPEM  []byte
	caFile string
	server tls.Certificate
	leaf   *x509.Certificate
}

func newPKI(t *testing.T, names ...string) *pki {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	now := time.Now()
	caTmpl := &x509.Certificate{SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "postern test CA"},
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), IsCA: true, BasicConstraintsValid: true,
		KeyUsage: x509.KeyUsageCertSign}
	caDER, err := x509.CreateCertificate(rand.Reader, caTmpl, caTmpl, caKey.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	ca, _ := x509.ParseCertificate(caDER)
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		t.Fatal(err)
	}
	tmpl := &x509.Certificate{SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: names[0]}, DNSNames: names,
		NotBefore: now.Add(-time.Hour), NotAfter: now.Add(time.Hour), KeyUsage: x509.KeyUsageDigitalSignature,
		ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
	if err != nil {
		t.Fatal(err)
	}
	leaf, _ := x509.ParseCertificate(der)
	p := &pki{caPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER}), leaf: leaf,
		server: tls.Certificate{Certificate: [][]byte{der, caDER}, PrivateKey: key, Leaf: leaf}}
	p.caFile = filepath.Join(t.TempDir(), "ca.pem")
	if err := os.WriteFile(p.caFile, p.caPEM, 0o644); err != nil {
		t.Fatal(err)
	}
	return p
}

func (p *pki) serverConfig() *tls.Config {
	return &tls.Config{Certificates: []tls.Certificate{p.server}, MinVersion: tls.VersionTLS12}
}

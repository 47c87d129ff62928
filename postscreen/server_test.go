package postscreen

import (
	"bufio"
	"bytes"
	"context"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/dns"
	"postern.dev/postern/libmail/ipc/pass"
	"postern.dev/postern/libmail/maillog"
)

// fakeDNS answers A queries from a map; other names are not found.
type fakeDNS map[string][]netip.Addr

func (f fakeDNS) LookupA(ctx context.Context, host string) ([]netip.Addr, bool, error) {
	if as, ok := f[host]; ok {
		return as, false, nil
	}
	return nil, false, &dns.Error{Name: host, Type: "A", NotFound: true}
}

// fakeSMTPD stands for smtpd: it greets the passed client with the final
// 220 line and records the request.
type fakeSMTPD struct {
	mu   sync.Mutex
	reqs []pass.Request
}

func (f *fakeSMTPD) Pass(ctx context.Context, c *net.TCPConn, req pass.Request) error {
	f.mu.Lock()
	f.reqs = append(f.reqs, req)
	f.mu.Unlock()
	_, err := c.Write([]byte("220 smtpd here\r\n"))
	return err
}

func (f *fakeSMTPD) passed() []pass.Request {
	f.mu.Lock()
	defer f.mu.Unlock()
	return append([]pass.Request(nil), f.reqs...)
}

type logBuf struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *logBuf) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.Write(p)
}

func (l *logBuf) String() string {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.b.String()
}

type harness struct {
	t     *testing.T
	addr  string
	smtpd *fakeSMTPD
	log   *logBuf
	srv   *Server
}

func start(t *testing.T, cfg Config, resolver Resolver) *harness {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	h := &harness{t: t, addr: l.Addr().String(), smtpd: &fakeSMTPD{}, log: &logBuf{}}
	h.srv = NewServer(cfg, resolver, h.smtpd, maillog.ForWriter(h.log, "postscreen", "mx", nil), time.Now)
	go h.srv.Serve(l)
	t.Cleanup(func() {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		h.srv.Shutdown(ctx)
	})
	return h
}

func baseConfig() Config {
	return Config{GreetBanner: "mx.example ESMTP postern", GreetWait: 300 * time.Millisecond, GreetEnforce: true,
		Threshold: 1, DNSBLEnforce: true, CacheTTL: time.Hour, CacheLimit: 100, ConnLimit: 100, ClientLimit: 10}
}

// dialog connects from src (an address on loopback), optionally sends
// early right after the first line, and returns every line the client
// hears until the server closes or stops talking.
func (h *harness) dialog(src string, early string) []string {
	h.t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 2 * time.Second}
	c, err := d.Dial("tcp", h.addr)
	if err != nil {
		h.t.Fatal(err)
	}
	defer c.Close()
	c.SetDeadline(time.Now().Add(3 * time.Second))
	r := bufio.NewReader(c)
	var lines []string
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return lines
		}
		lines = append(lines, strings.TrimRight(line, "\r\n"))
		if early != "" && len(lines) == 1 {
			c.Write([]byte(early))
		}
		if strings.HasPrefix(line, "220 ") {
			return lines
		}
	}
}

func (h *harness) waitLog(want string) {
	h.t.Helper()
	for range 200 {
		if strings.Contains(h.log.String(), want) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	h.t.Fatalf("log lacks %q:\n%s", want, h.log.String())
}

func TestPassNewThenOld(t *testing.T) {
	h := start(t, baseConfig(), fakeDNS{})
	lines := h.dialog("127.0.0.1", "")
	if len(lines) != 2 || lines[0] != "220-mx.example ESMTP postern" || lines[1] != "220 smtpd here" {
		t.Fatalf("first connection heard %q", lines)
	}
	h.waitLog("PASS NEW [127.0.0.1]:")
	lines = h.dialog("127.0.0.1", "")
	if len(lines) != 1 || lines[0] != "220 smtpd here" {
		t.Fatalf("second connection heard %q (want straight to smtpd)", lines)
	}
	h.waitLog("PASS OLD [127.0.0.1]:")
	reqs := h.smtpd.passed()
	if len(reqs) != 2 || reqs[0].Verdict != pass.PassNew || reqs[1].Verdict != pass.PassOld || !strings.HasPrefix(reqs[0].Client, "127.0.0.1:") {
		t.Fatalf("passes %+v", reqs)
	}
	if err := reqs[0].Validate(); err != nil {
		t.Error(err)
	}
	h.waitLog("CONNECT from [127.0.0.1]:")
}

func TestPregreet(t *testing.T) {
	h := start(t, baseConfig(), fakeDNS{})
	lines := h.dialog("127.0.0.1", "EHLO bot\r\n")
	if len(lines) != 2 || !strings.HasPrefix(lines[1], "421 4.7.1 Service unavailable") {
		t.Fatalf("pregreeting client heard %q", lines)
	}
	h.waitLog(`PREGREET 10 after `)
	h.waitLog(`from [127.0.0.1]:`)
	h.waitLog(`: EHLO bot\r\n`)
	h.waitLog("DISCONNECT [127.0.0.1]:")
	if len(h.smtpd.passed()) != 0 {
		t.Fatal("a pregreeting client was passed")
	}
	// It is not cached: the next connection is tested again.
	if lines := h.dialog("127.0.0.1", ""); len(lines) != 2 {
		t.Fatalf("after a pregreet: %q", lines)
	}
}

func TestPregreetIgnored(t *testing.T) {
	cfg := baseConfig()
	cfg.GreetEnforce = false
	h := start(t, cfg, fakeDNS{})
	lines := h.dialog("127.0.0.1", "EHLO bot\r\n")
	if len(lines) != 2 || lines[1] != "220 smtpd here" {
		t.Fatalf("heard %q", lines)
	}
	h.waitLog("PREGREET 10")
	if strings.Contains(h.log.String(), "PASS NEW") {
		t.Error("a client that failed an ignored test was logged as PASS NEW")
	}
}

func TestDNSBLScore(t *testing.T) {
	cfg := baseConfig()
	var err error
	cfg.Sites, err = config.ParseDNSBLSites([]string{"bl.example*2", "wl.example=127.0.[0..255].[1..3]*-1", "other.example=127.0.0.9"})
	if err != nil {
		t.Fatal(err)
	}
	cfg.Threshold = 2
	resolver := fakeDNS{
		"2.0.0.127.bl.example":    {netip.MustParseAddr("127.0.0.2")},
		"3.0.0.127.bl.example":    {netip.MustParseAddr("127.0.0.2")},
		"3.0.0.127.wl.example":    {netip.MustParseAddr("127.0.5.2")},
		"2.0.0.127.other.example": {netip.MustParseAddr("127.0.0.2")}, // not the pattern
	}
	h := start(t, cfg, resolver)
	lines := h.dialog("127.0.0.2", "")
	if len(lines) != 2 || lines[1] != "421 4.7.1 Service unavailable; client [127.0.0.2] blocked using bl.example" {
		t.Fatalf("listed client heard %q", lines)
	}
	h.waitLog("DNSBL rank 2 for [127.0.0.2]:")
	// Listed (2) but also allow-listed (-1): below the threshold.
	lines = h.dialog("127.0.0.3", "")
	if len(lines) != 2 || lines[1] != "220 smtpd here" {
		t.Fatalf("client with score 1 heard %q", lines)
	}
	h.waitLog("PASS NEW [127.0.0.3]:")
}

func TestDNSAllowlistEndsGreetWait(t *testing.T) {
	cfg := baseConfig()
	cfg.GreetWait = 2 * time.Second
	cfg.Sites, _ = config.ParseDNSBLSites([]string{"wl.example*-5"})
	cfg.AllowScore = -5
	h := start(t, cfg, fakeDNS{"1.0.0.127.wl.example": {netip.MustParseAddr("127.0.0.2")}})
	t0 := time.Now()
	lines := h.dialog("127.0.0.1", "")
	if len(lines) != 2 || lines[1] != "220 smtpd here" {
		t.Fatalf("heard %q", lines)
	}
	if d := time.Since(t0); d > time.Second {
		t.Errorf("an allow-listed client waited %v", d)
	}
}

func TestAccessList(t *testing.T) {
	cfg := baseConfig()
	var err error
	cfg.Access, err = config.ParseAccessList([]string{"reject 127.0.0.5/32", "permit 127.0.0.6/32"}, nil)
	if err != nil {
		t.Fatal(err)
	}
	h := start(t, cfg, fakeDNS{})
	if lines := h.dialog("127.0.0.5", ""); len(lines) != 1 || !strings.HasPrefix(lines[0], "421 4.7.1") {
		t.Fatalf("denied client heard %q", lines)
	}
	h.waitLog("DENYLISTED [127.0.0.5]:")
	if lines := h.dialog("127.0.0.6", ""); len(lines) != 1 || lines[0] != "220 smtpd here" {
		t.Fatalf("allowed client heard %q", lines)
	}
	h.waitLog("ALLOWLISTED [127.0.0.6]:")
}

func TestClientLimit(t *testing.T) {
	cfg := baseConfig()
	cfg.ClientLimit = 1
	cfg.GreetWait = 2 * time.Second
	h := start(t, cfg, fakeDNS{})
	first, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	defer first.Close()
	bufio.NewReader(first).ReadString('\n')
	lines := h.dialog("127.0.0.1", "")
	if len(lines) != 1 || !strings.HasPrefix(lines[0], "421 4.7.0 Error: too many connections") {
		t.Fatalf("second client heard %q", lines)
	}
	h.waitLog("NOQUEUE: reject: CONNECT from [127.0.0.1]:")
	if h.srv.Held() != 1 {
		t.Errorf("held %d", h.srv.Held())
	}
}

func TestHangup(t *testing.T) {
	h := start(t, baseConfig(), fakeDNS{})
	c, err := net.Dial("tcp", h.addr)
	if err != nil {
		t.Fatal(err)
	}
	bufio.NewReader(c).ReadString('\n')
	c.Close()
	h.waitLog("HANGUP after ")
	if len(h.smtpd.passed()) != 0 {
		t.Fatal("a client that left was passed")
	}
}

func TestCache(t *testing.T) {
	now := time.Unix(1000, 0)
	c := newCache(time.Minute, 2)
	a, b, d := netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("192.0.2.2"), netip.MustParseAddr("192.0.2.3")
	c.add(a, now)
	if !c.passed(a, now.Add(59*time.Second)) || c.passed(a, now.Add(time.Minute)) {
		t.Fatal("TTL not kept")
	}
	c.add(a, now)
	c.add(b, now.Add(30*time.Second))
	c.add(d, now.Add(61*time.Second)) // full: a has expired and goes
	if c.size() != 2 || !c.passed(b, now.Add(61*time.Second)) || !c.passed(d, now.Add(61*time.Second)) {
		t.Fatalf("eviction: size %d", c.size())
	}
	c.expire(now.Add(95 * time.Second))
	if c.size() != 1 {
		t.Fatalf("expire left %d", c.size())
	}
	off := newCache(0, 10)
	off.add(a, now)
	if off.passed(a, now) {
		t.Fatal("a TTL of 0 cached")
	}
}

func TestReverseName(t *testing.T) {
	for in, want := range map[string]string{
		"192.0.2.1":          "1.2.0.192",
		"::ffff:192.0.2.1":   "1.2.0.192",
		"2001:db8::567:89ab": "b.a.9.8.7.6.5.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2",
	} {
		if got := reverseName(netip.MustParseAddr(in)); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

func TestEscape(t *testing.T) {
	if got := escape([]byte("EHLO x\r\n\x00\xff\\")); got != `EHLO x\r\n\000\377\\` {
		t.Errorf("escape: %s", got)
	}
}

package mtasts

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"io"
	"log"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync"
	"testing"
	"time"

	"postern.dev/postern/libmail/dns"
	"postern.dev/postern/libmail/testkit"
)

// page is what the test web server answers for one host.
type page struct {
	status   int
	ctype    string
	body     string
	location string
}

// site is the test web server's content and request counts, by host.
type site struct {
	mu    sync.Mutex
	pages map[string]page
	hits  map[string]int
}

func (s *site) set(host string, p page) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.pages[host] = p
}

func (s *site) count(host string) int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.hits[host]
}

func (s *site) ServeHTTP(w http.ResponseWriter, r *http.Request) {
	s.mu.Lock()
	host, _, _ := strings.Cut(r.Host, ":")
	s.hits[host]++
	p, ok := s.pages[host]
	s.mu.Unlock()
	if !ok || r.URL.Path != "/.well-known/mta-sts.txt" {
		http.NotFound(w, r)
		return
	}
	if p.location != "" {
		w.Header().Set("Location", p.location)
	}
	w.Header().Set("Content-Type", p.ctype)
	w.WriteHeader(p.status)
	w.Write([]byte(p.body))
}

func policyPage(body string) page {
	return page{status: http.StatusOK, ctype: "text/plain", body: body}
}

// clock is a settable time source.
type clock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *clock) now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.t
}

func (c *clock) add(d time.Duration) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.t = c.t.Add(d)
}

// testCA makes a CA and a server certificate it issued for hosts.
func testCA(t *testing.T, hosts ...string) (*x509.CertPool, tls.Certificate) {
	p := testkit.NewPKI(t, hosts...)
	return p.Pool, p.Server
}

// startSite starts an HTTPS server on loopback presenting cert.
func startSite(t *testing.T, cert tls.Certificate) (*site, string) {
	t.Helper()
	s := &site{pages: map[string]page{}, hits: map[string]int{}}
	srv := httptest.NewUnstartedServer(s)
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{cert}}
	// Refused handshakes are what some tests want; keep them out of the output.
	srv.Config.ErrorLog = log.New(io.Discard, "", 0)
	srv.StartTLS()
	t.Cleanup(srv.Close)
	return s, srv.Listener.Addr().String()
}

// client returns an HTTP client that trusts roots and sends every
// connection to mta-sts.*:443 to addr.
func client(roots *x509.CertPool, addr string) *http.Client {
	var d net.Dialer
	return &http.Client{Transport: &http.Transport{
		DialContext: func(ctx context.Context, network, hostport string) (net.Conn, error) {
			if !strings.HasPrefix(hostport, "mta-sts.") || !strings.HasSuffix(hostport, ":443") {
				return nil, &net.AddrError{Err: "test dials only mta-sts.*:443", Addr: hostport}
			}
			return d.DialContext(ctx, network, addr)
		},
		TLSClientConfig: &tls.Config{RootCAs: roots},
	}}
}

// env is a Fetcher wired to a fake DNS and a loopback web server.
type env struct {
	f     *Fetcher
	dns   *testkit.Resolver
	site  *site
	clock *clock
}

func setup(t *testing.T) *env {
	t.Helper()
	roots, cert := testCA(t, "mta-sts.example.test", "mta-sts.a.test", "mta-sts.b.test", "mta-sts.c.test")
	s, addr := startSite(t, cert)
	d := testkit.NewResolver()
	c := &clock{t: time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)}
	return &env{f: NewFetcher(d, client(roots, addr), c.now), dns: d, site: s, clock: c}
}

const enforce = "version: STSv1\r\nmode: enforce\r\nmx: mx.example.test\r\nmx: *.backup.example.test\r\nmax_age: 86400\r\n"

func (e *env) get(t *testing.T, domain string) *Policy {
	t.Helper()
	p, err := e.f.Get(context.Background(), domain)
	if err != nil {
		t.Fatalf("Get(%s): %v", domain, err)
	}
	return p
}

func (e *env) getErr(t *testing.T, domain string) error {
	t.Helper()
	p, err := e.f.Get(context.Background(), domain)
	if err == nil {
		t.Fatalf("Get(%s) = %+v, want an error", domain, p)
	}
	return err
}

func TestGetEnforce(t *testing.T) {
	e := setup(t)
	e.dns.SetTXT("_mta-sts.example.test", "v=spf1 -all", "v=STSv1; id=20300101T000000;")
	e.site.set("mta-sts.example.test", page{status: 200, ctype: "text/plain; charset=utf-8", body: enforce})
	p := e.get(t, "Example.TEST.")
	if p == nil {
		t.Fatal("no policy")
	}
	if p.Mode != ModeEnforce || p.MaxAge != 24*time.Hour || p.ID != "20300101T000000" || !p.Fetched.Equal(e.clock.now()) {
		t.Errorf("policy %+v", p)
	}
	for host, want := range map[string]bool{
		"mx.example.test": true, "MX.example.test.": true, "b1.backup.example.test": true,
		"mx2.example.test": false, "a.b.backup.example.test": false, "mx.example.test.evil": false,
	} {
		if p.Match(host) != want {
			t.Errorf("Match(%q) = %v", host, !want)
		}
	}
}

func TestGetCaches(t *testing.T) {
	e := setup(t)
	e.dns.SetTXT("_mta-sts.example.test", "v=STSv1; id=1")
	e.site.set("mta-sts.example.test", policyPage(enforce))
	e.get(t, "example.test")
	e.clock.add(time.Hour)
	p := e.get(t, "example.test")
	if n := e.site.count("mta-sts.example.test"); n != 1 {
		t.Errorf("id unchanged: %d fetches, want 1", n)
	}
	if p.Mode != ModeEnforce || p.ID != "1" {
		t.Errorf("cached policy %+v", p)
	}
	p.MX[0] = "changed" // the caller's copy, not the cache's
	if p := e.get(t, "example.test"); p.MX[0] != "mx.example.test" {
		t.Errorf("cache shares MX with the caller: %v", p.MX)
	}

	// A new id means a new policy.
	e.dns.SetTXT("_mta-sts.example.test", "v=STSv1; id=2")
	e.site.set("mta-sts.example.test", policyPage(strings.Replace(enforce, "enforce", "testing", 1)))
	p = e.get(t, "example.test")
	if n := e.site.count("mta-sts.example.test"); n != 2 {
		t.Errorf("id changed: %d fetches, want 2", n)
	}
	if p.Mode != ModeTesting || p.ID != "2" {
		t.Errorf("refetched policy %+v", p)
	}
}

func TestGetNoRecord(t *testing.T) {
	e := setup(t)
	e.site.set("mta-sts.example.test", policyPage(enforce))
	if p := e.get(t, "example.test"); p != nil {
		t.Errorf("no TXT, no cache: %+v", p)
	}
	if n := e.site.count("mta-sts.example.test"); n != 0 {
		t.Errorf("fetched without a TXT record")
	}

	e.dns.SetTXT("_mta-sts.example.test", "v=STSv1; id=1")
	e.get(t, "example.test")
	for _, txt := range [][]string{
		nil,                                // deleted: NXDOMAIN
		{"v=STSv1; id=1", "v=STSv1; id=2"}, // ambiguous
		{"v=STSv1; id=no-dashes"},          // malformed
	} {
		if txt == nil {
			e.dns.SetTXT("_mta-sts.example.test")
		} else {
			e.dns.SetTXT("_mta-sts.example.test", txt...)
		}
		if p := e.get(t, "example.test"); p == nil || p.ID != "1" {
			t.Errorf("TXT %q: got %+v, want the cached policy", txt, p)
		}
	}
	if n := e.site.count("mta-sts.example.test"); n != 1 {
		t.Errorf("%d fetches, want 1", n)
	}
}

func TestGetTemporaryDNSFailure(t *testing.T) {
	e := setup(t)
	servfail := &dns.Error{Name: "_mta-sts.example.test", Type: "TXT", Temporary: true}
	e.dns.SetError("_mta-sts.example.test", servfail)
	e.getErr(t, "example.test")

	e.dns.SetError("_mta-sts.example.test", nil)
	e.dns.SetTXT("_mta-sts.example.test", "v=STSv1; id=1")
	e.site.set("mta-sts.example.test", policyPage(enforce))
	e.get(t, "example.test")
	e.dns.SetError("_mta-sts.example.test", servfail)
	if p := e.get(t, "example.test"); p == nil || p.ID != "1" {
		t.Errorf("SERVFAIL with a cached policy: %+v", p)
	}
}

func TestGetExpiry(t *testing.T) {
	e := setup(t)
	e.dns.SetTXT("_mta-sts.example.test", "v=STSv1; id=1")
	e.site.set("mta-sts.example.test", policyPage(strings.Replace(enforce, "86400", "60", 1)))
	e.get(t, "example.test")
	e.clock.add(59 * time.Second)
	e.get(t, "example.test")
	if n := e.site.count("mta-sts.example.test"); n != 1 {
		t.Errorf("within max_age: %d fetches, want 1", n)
	}
	e.clock.add(time.Second)
	if p := e.get(t, "example.test"); p == nil || !p.Fetched.Equal(e.clock.now()) {
		t.Errorf("after max_age: %+v", p)
	}
	if n := e.site.count("mta-sts.example.test"); n != 2 {
		t.Errorf("after max_age: %d fetches, want 2", n)
	}

	// An expired policy is not kept alive by a missing TXT record.
	e.clock.add(time.Minute)
	e.dns.SetTXT("_mta-sts.example.test")
	if p := e.get(t, "example.test"); p != nil {
		t.Errorf("expired policy returned: %+v", p)
	}
}

func TestGetRefusals(t *testing.T) {
	tests := []struct {
		name string
		page page
		want string // in the error
	}{
		{"redirect", page{status: http.StatusMovedPermanently, ctype: "text/plain", location: "https://mta-sts.a.test/.well-known/mta-sts.txt"}, "redirect"},
		{"not found", page{status: http.StatusNotFound, ctype: "text/plain", body: enforce}, "404"},
		{"HTML", page{status: 200, ctype: "text/html", body: enforce}, "content type"},
		{"no content type", page{status: 200, ctype: "", body: enforce}, "content type"},
		{"oversize", page{status: 200, ctype: "text/plain", body: enforce + strings.Repeat("x-pad: yes\n", MaxBody/11)}, "larger"},
		{"invalid policy", page{status: 200, ctype: "text/plain", body: "version: STSv1\nmode: enforce\n"}, "max_age"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			e := setup(t)
			e.dns.SetTXT("_mta-sts.example.test", "v=STSv1; id=1")
			e.site.set("mta-sts.example.test", tt.page)
			e.site.set("mta-sts.a.test", policyPage(enforce)) // the redirect target
			err := e.getErr(t, "example.test")
			if !strings.Contains(err.Error(), tt.want) {
				t.Errorf("error %q does not mention %q", err, tt.want)
			}
			if n := e.site.count("mta-sts.a.test"); n != 0 {
				t.Errorf("redirect followed")
			}
		})
	}
}

func TestGetOversizeBoundary(t *testing.T) {
	e := setup(t)
	e.dns.SetTXT("_mta-sts.example.test", "v=STSv1; id=1")
	body := enforce + "x-pad: " + strings.Repeat("y", MaxBody-len(enforce)-len("x-pad: "))
	e.site.set("mta-sts.example.test", policyPage(body))
	e.get(t, "example.test") // exactly MaxBody bytes is allowed
}

func TestGetBadCertificate(t *testing.T) {
	e := setup(t)
	// The server's certificate does not name mta-sts.other.test.
	e.dns.SetTXT("_mta-sts.other.test", "v=STSv1; id=1")
	e.site.set("mta-sts.other.test", policyPage(enforce))
	if err := e.getErr(t, "other.test"); !strings.Contains(err.Error(), "certificate") {
		t.Errorf("name mismatch: %v", err)
	}

	// A server whose CA the client does not trust.
	_, cert := testCA(t, "mta-sts.example.test")
	s, addr := startSite(t, cert)
	s.set("mta-sts.example.test", policyPage(enforce))
	roots, _ := testCA(t, "unrelated.test")
	f := NewFetcher(e.dns, client(roots, addr), e.clock.now)
	e.dns.SetTXT("_mta-sts.example.test", "v=STSv1; id=1")
	if _, err := f.Get(context.Background(), "example.test"); err == nil || !strings.Contains(err.Error(), "certificate") {
		t.Errorf("untrusted CA: %v", err)
	}
}

func TestGetFetchFailureKeepsCache(t *testing.T) {
	e := setup(t)
	e.dns.SetTXT("_mta-sts.example.test", "v=STSv1; id=1")
	e.site.set("mta-sts.example.test", policyPage(enforce))
	e.get(t, "example.test")
	e.dns.SetTXT("_mta-sts.example.test", "v=STSv1; id=2")
	e.site.set("mta-sts.example.test", page{status: 500, ctype: "text/plain"})
	if p := e.get(t, "example.test"); p == nil || p.ID != "1" || p.Mode != ModeEnforce {
		t.Errorf("fetch failed: got %+v, want the cached policy", p)
	}
	// Once it can be fetched, the new policy replaces the old.
	e.site.set("mta-sts.example.test", policyPage("version: STSv1\nmode: none\nmax_age: 86400\n"))
	if p := e.get(t, "example.test"); p == nil || p.ID != "2" || p.Mode != ModeNone {
		t.Errorf("mode none: got %+v", p)
	}
}

func TestGetBadDomain(t *testing.T) {
	e := setup(t)
	for _, d := range []string{"", "example.test/evil", "user@example.test", "example.test:25", "a..b"} {
		e.getErr(t, d)
	}
}

func TestGetCancelled(t *testing.T) {
	e := setup(t)
	e.dns.SetTXT("_mta-sts.example.test", "v=STSv1; id=1")
	e.site.set("mta-sts.example.test", policyPage(enforce))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := e.f.Get(ctx, "example.test"); err == nil {
		t.Error("Get with a cancelled context succeeded")
	}
}

func TestCacheBounded(t *testing.T) {
	e := setup(t)
	e.f.cache.max = 2
	for _, d := range []string{"a.test", "b.test", "c.test"} {
		e.dns.SetTXT("_mta-sts."+d, "v=STSv1; id=1")
		e.site.set("mta-sts."+d, policyPage(enforce))
		e.get(t, d)
		e.clock.add(time.Second)
	}
	if n := e.f.cache.len(); n != 2 {
		t.Errorf("cache holds %d policies, want 2", n)
	}
	// a.test was the oldest: evicted, so fetched again.
	e.get(t, "c.test")
	e.get(t, "a.test")
	if a, c := e.site.count("mta-sts.a.test"), e.site.count("mta-sts.c.test"); a != 2 || c != 1 {
		t.Errorf("fetches: a.test %d (want 2), c.test %d (want 1)", a, c)
	}
}

func TestCacheEvictsExpiredFirst(t *testing.T) {
	c := newCache(2)
	t0 := time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC)
	c.put("old.test", &Policy{MaxAge: time.Hour, Fetched: t0}, t0)
	c.put("short.test", &Policy{MaxAge: time.Minute, Fetched: t0.Add(time.Second)}, t0)
	now := t0.Add(2 * time.Minute)
	c.put("new.test", &Policy{MaxAge: time.Hour, Fetched: now}, now)
	if c.get("old.test", now) == nil || c.get("new.test", now) == nil || c.len() != 2 {
		t.Errorf("expired policy not evicted first: %d entries", c.len())
	}
}

func TestGetConcurrent(t *testing.T) {
	e := setup(t)
	e.dns.SetTXT("_mta-sts.example.test", "v=STSv1; id=1")
	e.site.set("mta-sts.example.test", policyPage(enforce))
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			if p, err := e.f.Get(context.Background(), "example.test"); err != nil || p == nil {
				t.Errorf("Get: %v, %v", p, err)
			}
		})
	}
	wg.Wait()
}

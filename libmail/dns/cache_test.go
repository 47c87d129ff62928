package dns

import (
	"sync"
	"testing"
	"time"

	miekg "github.com/miekg/dns"

	"postern.dev/postern/libmail/dns/dnstest"
)

// manualClock is a clock the cache tests move by hand.
type manualClock struct {
	mu sync.Mutex
	t  time.Time
}

func (c *manualClock) now() time.Time { c.mu.Lock(); defer c.mu.Unlock(); return c.t }
func (c *manualClock) add(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.mu.Unlock()
}

// cachedTest is newTest with the cache on, on a manual clock.
func cachedTest(t *testing.T) (*Client, *dnstest.Server, *manualClock) {
	t.Helper()
	s := dnstest.New(t, testZone+"$ORIGIN nosoa.test.\nshort 5 TXT \"five seconds\"\nzero 0 TXT \"never kept\"\n")
	c, err := New([]string{s.Addr()}, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	clk := &manualClock{t: time.Date(2026, 12, 7, 0, 0, 0, 0, time.UTC)}
	c.cache.now = clk.now
	return c, s, clk
}

// TestCache: an answer is kept for its TTL and asked again after; a
// denial is kept for the SOA's negative TTL (RFC 2308), and not at all
// without an SOA; a TTL of 0 and a failure are never kept.
func TestCache(t *testing.T) {
	c, s, clk := cachedTest(t)
	ctx := t.Context()
	asks := func(name string, n int) {
		t.Helper()
		before := s.Queries()
		for range n {
			c.LookupTXT(ctx, name)
		}
		if got := s.Queries() - before; got != 1 {
			t.Errorf("%d lookups of %s asked the server %d times, want once", n, name, got)
		}
	}
	asks("example", 5)
	asks("nope.example", 3) // NXDOMAIN, SOA MINIMUM 300
	clk.add(299 * time.Second)
	before := s.Queries()
	c.LookupTXT(ctx, "example")
	if s.Queries() != before {
		t.Errorf("asked again within the TTL")
	}
	clk.add(time.Second)
	asks("example", 2) // expired: asked once more, then kept again
	asks("short.nosoa.test", 2)
	clk.add(5 * time.Second)
	asks("short.nosoa.test", 2)

	for _, name := range []string{"zero.nosoa.test", "missing.nosoa.test"} {
		before := s.Queries()
		c.LookupTXT(ctx, name)
		c.LookupTXT(ctx, name)
		if got := s.Queries() - before; got != 2 {
			t.Errorf("%s: asked %d times in 2 lookups, want 2 (not kept)", name, got)
		}
	}

	s.Fail("fails.example", miekg.RcodeServerFailure)
	if _, err := c.LookupTXT(ctx, "fails.example"); !IsTemporary(err) {
		t.Fatalf("SERVFAIL: %v", err)
	}
	s.Fail("fails.example", miekg.RcodeSuccess)
	if _, err := c.LookupTXT(ctx, "fails.example"); IsTemporary(err) {
		t.Errorf("a failure was kept: %v", err)
	}
}

// TestCacheBound: a flood of distinct names does not grow the cache past
// its bound.
func TestCacheBound(t *testing.T) {
	k := newCache(time.Now)
	r := new(miekg.Msg)
	r.Answer = []miekg.RR{&miekg.TXT{Hdr: miekg.RR_Header{Name: "x.", Rrtype: miekg.TypeTXT, Class: miekg.ClassINET, Ttl: 60}, Txt: []string{"x"}}}
	for i := range cacheSize + 100 {
		k.put(string(rune('a'+i%26))+time.Duration(i).String()+".test.", miekg.TypeTXT, r)
	}
	if n := len(k.m); n > cacheSize {
		t.Errorf("cache holds %d entries, bound %d", n, cacheSize)
	}
}

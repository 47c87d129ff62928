package dns

import (
	"strings"
	"sync"
	"time"

	miekg "github.com/miekg/dns"
)

// Cache bounds. An MTA asks the same few names again and again (the SPF
// and DMARC records of a busy sender, the MX of a big destination), and
// each question to even a local resolver costs a round trip in the
// middle of an SMTP transaction, so answers are kept for their TTL, as
// the resolver library of a C program keeps them through nscd or a local
// cache. The bounds keep a flood of distinct names from growing it.
const (
	cacheSize   = 8192
	cacheMaxTTL = time.Hour
)

// cache holds answers (NOERROR with records, and NXDOMAIN or NODATA
// with an SOA to time them by, RFC 2308) for their TTL. Failures are
// never kept: the next lookup asks again.
type cache struct {
	now func() time.Time

	mu sync.Mutex
	m  map[cacheKey]cacheEntry
}

type cacheKey struct {
	name  string // lower case, absolute
	qtype uint16
}

type cacheEntry struct {
	r       *miekg.Msg // shared: never changed after it is stored
	expires time.Time
}

func newCache(now func() time.Time) *cache {
	return &cache{now: now, m: map[cacheKey]cacheEntry{}}
}

func (c *cache) get(name string, qtype uint16) *miekg.Msg {
	k := cacheKey{strings.ToLower(name), qtype}
	c.mu.Lock()
	defer c.mu.Unlock()
	e, ok := c.m[k]
	if !ok {
		return nil
	}
	if !c.now().Before(e.expires) {
		delete(c.m, k)
		return nil
	}
	return e.r
}

func (c *cache) put(name string, qtype uint16, r *miekg.Msg) {
	ttl := answerTTL(r)
	if ttl <= 0 {
		return
	}
	k := cacheKey{strings.ToLower(name), qtype}
	c.mu.Lock()
	defer c.mu.Unlock()
	if len(c.m) >= cacheSize {
		// Drop an entry or so at random (map order): cheaper than keeping
		// an LRU, and a full cache is already the unusual case.
		for old := range c.m {
			delete(c.m, old)
			break
		}
	}
	c.m[k] = cacheEntry{r: r, expires: c.now().Add(min(ttl, cacheMaxTTL))}
}

// answerTTL is how long an answer may be kept: the smallest TTL of its
// answer records; for one without records, the negative TTL of RFC 2308
// §5 (the SOA's TTL or MINIMUM, whichever is smaller), or nothing
// without an SOA.
func answerTTL(r *miekg.Msg) time.Duration {
	var ttl uint32
	first := true
	if len(r.Answer) > 0 {
		for _, rr := range r.Answer {
			if t := rr.Header().Ttl; first || t < ttl {
				ttl, first = t, false
			}
		}
		return time.Duration(ttl) * time.Second
	}
	for _, rr := range r.Ns {
		if soa, ok := rr.(*miekg.SOA); ok {
			return time.Duration(min(soa.Hdr.Ttl, soa.Minttl)) * time.Second
		}
	}
	return 0
}

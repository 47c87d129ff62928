package postscreen

import (
	"net/netip"
	"sync"
	"time"
)

// cache remembers the clients that passed every test, until their entry
// expires (postscreen_cache_ttl), so that their next connections skip
// the tests (PASS OLD). It lives in memory: a restart forgets it, which
// costs each client one greet wait.
type cache struct {
	ttl   time.Duration
	limit int

	mu      sync.Mutex
	entries map[netip.Addr]time.Time // expiry
}

func newCache(ttl time.Duration, limit int) *cache {
	return &cache{ttl: ttl, limit: limit, entries: map[netip.Addr]time.Time{}}
}

// passed reports whether addr passed within the TTL.
func (c *cache) passed(addr netip.Addr, now time.Time) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	exp, ok := c.entries[addr]
	if ok && !now.Before(exp) {
		delete(c.entries, addr)
		ok = false
	}
	return ok
}

// add remembers that addr passed at now.
func (c *cache) add(addr netip.Addr, now time.Time) {
	if c.ttl <= 0 || c.limit <= 0 {
		return
	}
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.entries[addr]; !ok && len(c.entries) >= c.limit {
		c.makeRoom(now)
	}
	c.entries[addr] = now.Add(c.ttl)
}

// makeRoom drops the expired entries, or, if none has expired, one
// arbitrary entry: a full cache only costs a few clients one more greet
// wait each.
func (c *cache) makeRoom(now time.Time) {
	n := len(c.entries)
	for a, exp := range c.entries {
		if !now.Before(exp) {
			delete(c.entries, a)
		}
	}
	if len(c.entries) < n {
		return
	}
	for a := range c.entries {
		delete(c.entries, a)
		return
	}
}

// expire drops the expired entries; Run calls it now and then so that
// the cache does not hold clients that never come back.
func (c *cache) expire(now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for a, exp := range c.entries {
		if !now.Before(exp) {
			delete(c.entries, a)
		}
	}
}

// size is the number of entries, for tests.
func (c *cache) size() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.entries)
}

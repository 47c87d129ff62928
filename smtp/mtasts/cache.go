package mtasts

import (
	"sync"
	"time"
)

// cacheSize bounds the number of cached policies, so that mail to many
// distinct domains cannot grow the agent without limit. A policy evicted
// early is simply fetched again, at the cost of the protection it gave
// while the TXT record or HTTPS fetch is being blocked.
const cacheSize = 10000

// cache holds the latest policy of each domain.
type cache struct {
	mu  sync.Mutex
	max int
	m   map[string]*Policy
}

func newCache(max int) *cache {
	return &cache{max: max, m: make(map[string]*Policy)}
}

// get returns a copy of domain's policy if it is still valid at now.
func (c *cache) get(domain string, now time.Time) *Policy {
	c.mu.Lock()
	defer c.mu.Unlock()
	p := c.m[domain]
	if p == nil {
		return nil
	}
	if !now.Before(p.Expires()) {
		delete(c.m, domain)
		return nil
	}
	return p.clone()
}

// put stores p as domain's policy. When the cache is full it first drops
// expired policies and then, if that freed nothing, the one fetched
// longest ago. Scanning the map costs O(n), but only when a new domain
// arrives at a full cache, which fetching over HTTPS dwarfs anyway.
func (c *cache) put(domain string, p *Policy, now time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if _, ok := c.m[domain]; !ok && len(c.m) >= c.max {
		for d, q := range c.m {
			if !now.Before(q.Expires()) {
				delete(c.m, d)
			}
		}
		if len(c.m) >= c.max {
			oldest := ""
			for d, q := range c.m {
				if oldest == "" || q.Fetched.Before(c.m[oldest].Fetched) {
					oldest = d
				}
			}
			delete(c.m, oldest)
		}
	}
	c.m[domain] = p.clone()
}

func (c *cache) len() int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return len(c.m)
}

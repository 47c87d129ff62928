package smtp

import (
	"sync"
	"time"

	"postern.dev/postern/libmail/esmtp"
)

// connCache keeps sessions that finished a transaction cleanly, keyed by
// nexthop, TLS level and the credentials the session logged in with (if
// it did), so that the next request to the same
// destination skips DNS, TCP, the greeting, EHLO and the TLS handshake.
// A session waits at most idleTime for its next use, and is not reused
// once it is older than maxAge (smtp_connection_cache_time_limit and
// smtp_connection_reuse_time_limit). It is safe for concurrent use.
type connCache struct {
	idleTime, maxAge time.Duration
	max              int // idle sessions kept at most, over all keys
	now              func() time.Time

	mu     sync.Mutex
	idle   map[string][]*idleSession
	n      int
	closed bool
}

type idleSession struct {
	c     *esmtp.Client
	timer *time.Timer
}

func newConnCache(idleTime, maxAge time.Duration, max int, now func() time.Time) *connCache {
	return &connCache{idleTime: idleTime, maxAge: maxAge, max: max, now: now, idle: map[string][]*idleSession{}}
}

// put keeps c for the next request to key, or ends it with QUIT if it
// cannot be kept.
func (cc *connCache) put(key string, c *esmtp.Client) {
	if c.Broken() || cc.idleTime <= 0 || cc.now().Sub(c.Born()) >= cc.maxAge {
		c.Quit()
		return
	}
	cc.mu.Lock()
	if cc.closed || cc.n >= cc.max {
		cc.mu.Unlock()
		c.Quit()
		return
	}
	s := &idleSession{c: c}
	s.timer = time.AfterFunc(cc.idleTime, func() {
		if cc.remove(key, s) {
			c.Quit()
		}
	})
	cc.idle[key] = append(cc.idle[key], s)
	cc.n++
	cc.mu.Unlock()
}

// remove takes s out of the cache if it is still there.
func (cc *connCache) remove(key string, s *idleSession) bool {
	cc.mu.Lock()
	defer cc.mu.Unlock()
	list := cc.idle[key]
	for i, x := range list {
		if x == s {
			list = append(list[:i], list[i+1:]...)
			if len(list) == 0 {
				delete(cc.idle, key)
			} else {
				cc.idle[key] = list
			}
			cc.n--
			return true
		}
	}
	return false
}

// take returns a cached session for key, or nil. Sessions grown too old
// are ended. The session is marked as needing RSET: the next transaction
// sends it first, in the same write as MAIL FROM when the server
// pipelines (RFC 2920 allows RSET in a group), and requires 250 before
// it sends any message data; a session whose server timed it out fails
// there, and its recipients go through a new connection (see deliver).
// That saves a round trip per reused session, which is most of them.
func (cc *connCache) take(key string) *esmtp.Client {
	for {
		cc.mu.Lock()
		list := cc.idle[key]
		if len(list) == 0 {
			cc.mu.Unlock()
			return nil
		}
		// The most recently used first: it is the least likely to have
		// been timed out by the server.
		s := list[len(list)-1]
		if len(list) == 1 {
			delete(cc.idle, key)
		} else {
			cc.idle[key] = list[:len(list)-1]
		}
		cc.n--
		cc.mu.Unlock()
		s.timer.Stop()
		c := s.c
		if cc.now().Sub(c.Born()) >= cc.maxAge {
			c.Quit()
			continue
		}
		c.RsetFirst()
		return c
	}
}

// close ends every cached session and keeps new ones from being cached.
func (cc *connCache) close() {
	cc.mu.Lock()
	cc.closed = true
	var all []*idleSession
	for _, list := range cc.idle {
		all = append(all, list...)
	}
	cc.idle, cc.n = map[string][]*idleSession{}, 0
	cc.mu.Unlock()
	for _, s := range all {
		s.timer.Stop()
		s.c.Quit()
	}
}

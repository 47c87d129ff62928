package qmgr

import (
	"strings"
	"sync"
	"testing"

	"postern.dev/postern/libmail/queue"
)

// backAgain answers deliveries to the domains in down as unreachable
// (connection refused), the others as sent; up brings a domain back.
type backAgain struct {
	mu   sync.Mutex
	down map[string]bool
}

func (b *backAgain) answer(s seen) answer {
	b.mu.Lock()
	dead := b.down[s.req.Nexthop]
	b.mu.Unlock()
	if !dead {
		return sent(s)
	}
	a := reply(queue.Deferred, "4.4.1", "none", "connect to mx."+s.req.Nexthop+"[192.0.2.9]:25: Connection refused")(s)
	a.unreachable = true
	return a
}

func (b *backAgain) up(domain string) {
	b.mu.Lock()
	delete(b.down, domain)
	b.mu.Unlock()
}

// deadHarness has the destinations a.example and b.example dead, one
// entry deferred for each, and both peers back up again.
func deadHarness(t *testing.T) (h *harness, a, b queue.ID) {
	peers := &backAgain{down: map[string]bool{"a.example": true, "b.example": true}}
	h = newHarness(t, harnessOptions{answer: peers.answer})
	a = h.enqueue(entrySpec{sender: "s@example.org", rcpts: rcpts("u@a.example")})
	b = h.enqueue(entrySpec{sender: "s@example.org", rcpts: rcpts("u@b.example")})
	h.start()
	h.waitIn(a, queue.DeferredQueue)
	h.waitIn(b, queue.DeferredQueue)
	h.next()
	h.next()
	if !strings.Contains(h.log.String(), "destination a.example is unreachable") {
		t.Fatalf("a.example was not marked dead:\n%s", h.log.String())
	}
	peers.up("a.example")
	peers.up("b.example")
	return h, a, b
}

// TestFlushRevivesDeadDestinations: after a peer comes back, postern
// flush tries its deferred mail at once, as postqueue -f does, instead of
// answering "delivery temporarily suspended" until the dead period of a
// destination (minimal_backoff_time) ends.
func TestFlushRevivesDeadDestinations(t *testing.T) {
	h, a, b := deadHarness(t)
	h.m.post(wakeEvent{scan: true})
	for _, id := range []queue.ID{a, b} {
		h.waitIn(id, queue.Spare)
	}
	if n := strings.Count(h.log.String(), "delivery temporarily suspended"); n != 0 {
		t.Errorf("%d deliveries suspended after the flush:\n%s", n, h.log.String())
	}
}

// TestFlushSite: postern flush -s SITE revives and retries only that
// destination's mail.
func TestFlushSite(t *testing.T) {
	h, a, b := deadHarness(t)
	h.m.post(wakeEvent{scan: true, site: "A.example"})
	h.waitIn(a, queue.Spare)
	if s := h.next(); s.req.Nexthop != "a.example" {
		t.Errorf("flush -s a.example delivered to %s", s.req.Nexthop)
	}
	h.barrier()
	h.noMore()
	if w := h.where(b); len(w) != 1 || w[0] != queue.DeferredQueue {
		t.Errorf("b.example's entry is in %v after flush -s a.example, want deferred", w)
	}
}

package qmgr

import (
	"os"
	"sync"
	"testing"
	"time"

	"postern.dev/postern/libmail/queue"
)

// TestQueueRunBesideNewMail: a queue run's look at deferred/ (a stat of
// every entry, long with 100,000 of them) does not hold up new mail:
// while the run is still looking, an entry that smtpd announces is
// dispatched; once the run has looked, the due entry it found is taken.
func TestQueueRunBesideNewMail(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	old := h.enqueue(entrySpec{sender: "sender@example.org", rcpts: rcpts("old@example.test")})
	due := h.clock.Now().Add(-time.Minute)
	if err := os.Chtimes(h.spool.Path(queue.Incoming, old), due, due); err != nil {
		t.Fatal(err)
	}
	if err := h.spool.Move(old, queue.Incoming, queue.DeferredQueue); err != nil {
		t.Fatal(err)
	}
	looking, release := make(chan struct{}), make(chan struct{})
	var once sync.Once
	h.m.due = func(now time.Time) ([]queue.ID, error) {
		once.Do(func() { close(looking) })
		<-release
		return h.spool.Due(queue.DeferredQueue, now)
	}
	h.start()
	defer func() {
		select {
		case <-release:
		default:
			close(release) // let a stuck loop go, so that the harness stops
		}
	}()
	<-looking
	id := h.enqueue(entrySpec{sender: "sender@example.org", rcpts: rcpts("new@example.test")})
	h.wake(false, id)
	if s := h.next(); s.req.ID != string(id) {
		t.Fatalf("first request for %s, want the new entry %s", s.req.ID, id)
	}
	close(release)
	if s := h.next(); s.req.ID != string(old) {
		t.Fatalf("request for %s, want the due entry %s", s.req.ID, old)
	}
}

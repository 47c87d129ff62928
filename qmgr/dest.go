package qmgr

import (
	"context"
	"time"

	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/queue"
)

// destKey names a destination: a transport and a next hop. Recipients of
// one message for the same destination travel in the same requests.
type destKey struct{ transport, nexthop string }

// dest is the scheduling state of one remote destination, as Postfix's
// queue manager keeps it per next hop: a concurrency window that starts
// small and grows with each delivery that reached the destination (slow
// start), requests waiting for a slot, a pause between deliveries when a
// rate delay is set, and a dead state after consecutive failed
// connections, during which its mail is deferred without trying.
//
// Local deliveries have no dest: local limits its own concurrency.
type dest struct {
	key       destKey
	window    int // deliveries allowed in flight now
	active    int // deliveries in flight
	fresh     []*request
	retry     []*request // from entries that were deferred before
	takeRetry bool       // alternate between fresh and retry mail
	failures  int        // consecutive unreachable replies
	lastError string     // the reason of the last of them, for the log
	deadUntil time.Time
	nextAt    time.Time // the rate delay: no dispatch before this
	timer     bool      // a destReady event is scheduled
}

// destReady is posted when a rate delay ends.
type destReady struct{ d *dest }

func (d *dest) pending() int { return len(d.fresh) + len(d.retry) }

// limit is the concurrency allowed now. A rate delay means one delivery at
// a time, as in Postfix.
func (m *Manager) limit(d *dest) int {
	if m.cfg.DestRateDelay > 0 {
		return 1
	}
	return d.window
}

// pop takes the next waiting request, alternating between fresh and
// retried mail so that a backlog of deferred mail cannot starve new mail
// nor the reverse.
func (d *dest) pop() *request {
	d.takeRetry = !d.takeRetry
	if d.takeRetry && len(d.retry) > 0 || len(d.fresh) == 0 {
		r := d.retry[0]
		d.retry = d.retry[1:]
		return r
	}
	r := d.fresh[0]
	d.fresh = d.fresh[1:]
	return r
}

// destFor returns the state of destination k, creating it.
func (m *Manager) destFor(k destKey) *dest {
	d := m.dests[k]
	if d == nil {
		d = &dest{key: k, window: m.cfg.InitialDestConc}
		m.dests[k] = d
	}
	return d
}

// submit schedules a request for its destination.
func (m *Manager) submit(ctx context.Context, r *request) {
	d := r.dest
	if m.now().Before(d.deadUntil) {
		m.suspendRequest(r, d)
		return
	}
	if r.msg.e.Attempts > 0 {
		d.retry = append(d.retry, r)
	} else {
		d.fresh = append(d.fresh, r)
	}
	m.pump(ctx, d)
}

// pump sends waiting requests while the destination has room.
func (m *Manager) pump(ctx context.Context, d *dest) {
	for d.active < m.limit(d) && d.pending() > 0 {
		now := m.now()
		if now.Before(d.nextAt) {
			if !d.timer {
				d.timer = true
				time.AfterFunc(d.nextAt.Sub(now), func() { m.post(destReady{d}) })
			}
			return
		}
		r := d.pop()
		d.active++
		if m.cfg.DestRateDelay > 0 {
			d.nextAt = now.Add(m.cfg.DestRateDelay)
		}
		m.send(ctx, r)
	}
	m.forget(d)
}

// forget drops an idle destination's state, so that the table does not
// grow with every domain ever seen. A dead one is kept until it revives.
func (m *Manager) forget(d *dest) {
	if d.active == 0 && d.pending() == 0 && !d.timer && !m.now().Before(d.deadUntil) && !m.now().Before(d.nextAt) {
		delete(m.dests, d.key)
	}
}

// destDone updates a destination with the outcome of one delivery: one
// that reached the destination widens the window, one that could not
// (Unreachable) counts towards a dead destination.
func (m *Manager) destDone(ctx context.Context, d *dest, unreachable bool, reason string) {
	d.active--
	if !unreachable {
		d.failures = 0
		if d.window < m.cfg.DestConcLimit {
			d.window++
		}
		m.pump(ctx, d)
		return
	}
	d.failures++
	d.lastError = reason
	d.window = m.cfg.InitialDestConc
	if d.failures < m.cfg.FailedCohortLimit {
		m.pump(ctx, d)
		return
	}
	// Dead: what waits is deferred now rather than tried one by one
	// against a destination that does not answer. After a backoff the
	// next message probes it again.
	d.deadUntil = m.now().Add(m.cfg.MinBackoff)
	m.log.Info("%s: destination %s is unreachable; deferring its mail for %s", d.key.transport, d.key.nexthop, maillog.Seconds(m.cfg.MinBackoff)+"s")
	waiting := append(d.retry, d.fresh...)
	d.retry, d.fresh = nil, nil
	for _, r := range waiting {
		m.suspendRequest(r, d)
	}
	// Wake up when it may be probed again, to forget it if idle.
	d.timer = true
	time.AfterFunc(m.cfg.MinBackoff, func() { m.post(destReady{d}) })
}

// suspendRequest defers a request's recipients without trying, because
// its destination is dead.
func (m *Manager) suspendRequest(r *request, d *dest) {
	reason := "delivery temporarily suspended"
	if d.lastError != "" {
		reason += ": " + d.lastError
	}
	m.deferRcpts(r.msg, r.req.Rcpts, "4.4.1", reason)
	r.msg.inflight--
	if r.msg.inflight == 0 {
		m.finish(r.msg)
	}
}

// ready handles the end of a rate delay or of a dead period.
func (m *Manager) ready(ctx context.Context, d *dest) {
	d.timer = false
	if m.dests[d.key] != d {
		return
	}
	m.pump(ctx, d)
}

// deferRcpts records recipients as deferred for reason, without a
// delivery attempt, and logs them as Postfix logs a suspended delivery.
func (m *Manager) deferRcpts(ms *msg, rcpts []int, dsn, reason string) {
	f, err := m.spool.OpenEntry(queue.Active, ms.id, true)
	if err != nil {
		m.log.Warn("%s: %v", ms.id, err)
		return
	}
	defer f.Close()
	var recs []queue.Record
	now := m.now()
	for _, i := range rcpts {
		recs = append(recs, queue.ResultRecord{Result: queue.Result{Rcpt: i, Status: queue.Deferred, DSN: dsn, Relay: "none", Reply: reason}})
		d := maillog.Delivery{QueueID: string(ms.id), To: ms.e.Recipients[i].Addr, Relay: "none",
			Delay: now.Sub(ms.e.Arrival), Delays: maillog.Delays{Before: ms.activeAt.Sub(ms.e.Arrival), InQmgr: now.Sub(ms.activeAt)},
			DSN: dsn, Status: "deferred", Reply: reason}
		m.countResult(d)
		m.log.Info("%s", d.Line())
	}
	// A lost deferral record only means the recipient is tried again, so
	// it is not worth an fsync.
	if err := queue.AppendNoSync(f, recs...); err != nil {
		m.log.Warn("%s: %v", ms.id, err)
	}
}

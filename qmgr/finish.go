package qmgr

import (
	"errors"
	"fmt"
	"os"
	"time"

	"postern.dev/postern/libmail/dsn"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/queue"
)

// finish decides what becomes of an entry once no delivery is in flight:
// removed when nothing is left, bounced for permanent failures, deferred
// with backoff for temporary ones, expired when it has been in the queue
// too long. It rereads the entry, because the agents recorded their
// results in it.
func (m *Manager) finish(ms *msg) {
	delete(m.active, ms.id)
	f, err := m.spool.OpenEntry(queue.Active, ms.id, true)
	if errors.Is(err, os.ErrNotExist) || errors.Is(err, queue.ErrMoved) {
		return // removed by an agent after all
	}
	if err != nil {
		m.log.Warn("%s: %v", ms.id, err)
		return
	}
	defer f.Close()
	e, err := queue.Read(f, ms.id)
	if err != nil {
		f.Close()
		m.corrupt(ms.id, err)
		return
	}
	if ms.redo && len(ms.lost) == 0 {
		// An agent stopped before it was done: schedule again at once what
		// is left (the agent is restarted, or another is there).
		ms.redo, ms.e = false, e
		m.active[ms.id] = ms
		m.redo = append(m.redo, ms)
		return
	}
	now := m.now()
	if len(ms.lost) > 0 {
		m.logLost(ms, e, now)
		// The agent may have delivered some of the lost recipients and
		// died before recording it: the next attempt checks first.
		if !e.Interrupted {
			if err := m.spool.Append(f, queue.InterruptedRecord{}); err != nil {
				m.log.Warn("%s: %v", ms.id, err)
			}
			e.Interrupted = true
		}
	}
	lifetime := m.cfg.MaxLifetime
	if e.Sender == "" {
		lifetime = m.cfg.BounceLifetime
	}
	var deferred []int
	for i, st := range e.State {
		if st.Status != queue.Sent && st.Status != queue.Failed {
			deferred = append(deferred, i)
		}
	}
	if len(deferred) > 0 && (e.Expired || now.Sub(e.Arrival) >= lifetime) {
		m.expire(e, f, deferred, now)
		deferred = nil
	}
	var failed, succeeded []int
	for i, st := range e.State {
		switch {
		case st.Notified:
		case st.Status == queue.Failed:
			failed = append(failed, i)
		case st.Status == queue.Sent && wantsSuccessNotice(e.Recipients[i].Notify):
			succeeded = append(succeeded, i)
		}
	}
	for _, n := range []struct {
		kind  dsn.Kind
		rcpts []int
	}{{dsn.Failure, failed}, {dsn.Success, succeeded}} {
		if len(n.rcpts) == 0 {
			continue
		}
		if err := m.notify(n.kind, e, f, n.rcpts, now); err != nil {
			// Without the DSN the outcome would go unreported; keep the
			// entry and try again on the next run.
			m.log.Warn("%s: cannot queue delivery status notification: %v", ms.id, err)
			m.deferEntry(ms.id, e, f, now)
			return
		}
	}
	if len(deferred) > 0 && m.cfg.DelayWarning > 0 && !e.Warned && now.Sub(e.Arrival) >= m.cfg.DelayWarning {
		m.warn(e, f, deferred, now)
	}
	if len(deferred) == 0 {
		if err := m.spool.RecycleOpen(f, queue.Active, ms.id); err != nil {
			m.log.Warn("%s: remove: %v", ms.id, err)
			return
		}
		m.log.Info("%s: removed", ms.id)
		return
	}
	m.deferEntry(ms.id, e, f, now)
}

// logLost logs the recipients whose agent connection broke as deferred,
// as Postfix logs an "unknown mail transport error", unless the agent
// recorded (and so logged) a result for them before the break. The
// deferral itself is not recorded in the entry: the agent may still be
// at work and record a delivery, which a later record of ours would
// overwrite, and the recipient would get the message twice.
func (m *Manager) logLost(ms *msg, e *queue.Entry, now time.Time) {
	for _, i := range ms.lost {
		if i >= len(e.State) || e.State[i].Result != ms.e.State[i].Result {
			continue // the agent recorded a result, and logged it
		}
		d := maillog.Delivery{QueueID: string(ms.id), To: e.Recipients[i].Addr, Relay: "none",
			Delay: now.Sub(e.Arrival), Delays: maillog.Delays{Before: ms.activeAt.Sub(e.Arrival), InQmgr: now.Sub(ms.activeAt)},
			DSN: "4.3.0", Status: "deferred", Reply: ms.lostWhy}
		m.countResult(d)
		m.log.Info("%s", d.Line())
	}
}

// deferEntry moves an entry to deferred/ until its next attempt, which
// its mtime records so a scan of deferred/ only needs stat(2).
func (m *Manager) deferEntry(id queue.ID, e *queue.Entry, f *os.File, now time.Time) {
	attempts := e.Attempts + 1
	next := now.Add(m.cfg.backoff(attempts))
	// Losing this record in a crash only makes the next attempt come
	// sooner, so it is not worth an fsync.
	if err := queue.AppendNoSync(f, queue.AttemptRecord{Attempts: attempts, Next: next}); err != nil {
		m.log.Warn("%s: %v", id, err)
	}
	if err := os.Chtimes(f.Name(), now, next); err != nil {
		m.log.Warn("%s: %v", id, err)
	}
	if err := m.spool.Move(id, queue.Active, queue.DeferredQueue); err != nil {
		m.log.Warn("%v", err)
	}
}

// expire fails the recipients that ran out of time, as Postfix does after
// maximal_queue_lifetime, or whose message the administrator expired
// (postern queue expire, Postfix's postsuper -e), logging status=expired.
func (m *Manager) expire(e *queue.Entry, f *os.File, rcpts []int, now time.Time) {
	var recs []queue.Record
	for _, i := range rcpts {
		last := e.State[i].Reply
		reason := "message expired after " + maillog.Seconds(now.Sub(e.Arrival)) + "s in the queue"
		if e.Expired {
			reason = "message is administratively expired"
		}
		if last != "" {
			reason = fmt.Sprintf("%s; last error: %s", reason, last)
		}
		res := queue.Result{Rcpt: i, Status: queue.Failed, DSN: expiredDSN(e.State[i].DSN), Relay: e.State[i].Relay, Reply: reason}
		if res.Relay == "" {
			res.Relay = "none"
		}
		recs = append(recs, queue.ResultRecord{Result: res})
		e.State[i].Result = res
		m.countResult(maillog.Delivery{To: e.Recipients[i].Addr, Status: "expired", Delay: now.Sub(e.Arrival)})
		m.log.Info("%s: to=<%s>, relay=%s, delay=%s, dsn=%s, status=expired, returned to sender (%s)",
			e.ID, e.Recipients[i].Addr, res.Relay, maillog.Seconds(now.Sub(e.Arrival)), res.DSN, reason)
	}
	if err := m.spool.Append(f, recs...); err != nil {
		m.log.Warn("%s: %v", e.ID, err)
	}
}

// expiredDSN turns the last temporary status into a permanent one: 4.4.1
// becomes 5.4.1, and no status at all becomes 5.4.7 (delivery time expired).
func expiredDSN(last string) string {
	if len(last) > 1 && last[0] == '4' {
		return "5" + last[1:]
	}
	return "5.4.7"
}

// notify queues a DSN about rcpts and records that the sender was told,
// in that order: the DSN must be durable before the record that makes the
// outcome final.
func (m *Manager) notify(kind dsn.Kind, e *queue.Entry, f *os.File, rcpts []int, now time.Time) error {
	id, err := m.bounce.Notify(kind, e, f, rcpts, now)
	if err != nil {
		return err
	}
	if err := m.spool.Append(f, queue.NotifiedRecord{Rcpts: rcpts}); err != nil {
		return err
	}
	for _, i := range rcpts {
		e.State[i].Notified = true
	}
	if id != "" {
		what := map[dsn.Kind]string{dsn.Failure: "non-delivery", dsn.Success: "delivery", dsn.Delay: "delay"}[kind]
		m.log.Info("%s: sender %s notification: %s", e.ID, what, id)
		m.pending = append(m.pending, id)
	}
	return nil
}

// warn tells the sender that the message is delayed (delay_warning_time),
// once per message, as Postfix does.
func (m *Manager) warn(e *queue.Entry, f *os.File, rcpts []int, now time.Time) {
	id, err := m.bounce.Notify(dsn.Delay, e, f, rcpts, now)
	if err != nil {
		m.log.Warn("%s: cannot queue delay notification: %v", e.ID, err)
		return
	}
	// A lost record means a second warning, which is harmless.
	if err := queue.AppendNoSync(f, queue.WarnedRecord{}); err != nil {
		m.log.Warn("%s: %v", e.ID, err)
	}
	e.Warned = true
	if id != "" {
		m.log.Info("%s: sender delay notification: %s", e.ID, id)
		m.pending = append(m.pending, id)
	}
}

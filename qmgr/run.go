package qmgr

import (
	"context"
	"net"
	"sort"
	"time"

	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/ipc/wake"
	"postern.dev/postern/libmail/queue"
)

// Events from the wake-up socket and the timers.
type (
	wakeEvent struct {
		ids  []queue.ID
		scan bool   // postern flush
		site string // postern flush -s SITE
	}
	// dueEvent carries entries of deferred/ whose next attempt has come,
	// oldest first, from a queue run (startQueueRun); last marks its
	// final batch.
	dueEvent struct {
		ids  []queue.ID
		last bool
	}
)

// Run is qmgr's life.
func Run(ctx context.Context, env *daemon.Env) error {
	cfg := NewConfig(env.Config, env.Params)
	// Bounces and delay notices are new entries: made durable as
	// sync_method says, like smtpd's.
	spool, err := queue.OpenSync(cfg.Spool, env.Now, env.Params.SyncMethod)
	if err != nil {
		return err
	}
	defer spool.Close()
	b := NewBouncer(env.Params, spool, env.Now)
	m := New(cfg, spool, b, env.Log, env.Now)
	m.UseMetrics(env.Metrics)
	for _, l := range env.Listeners {
		go m.acceptWakes(ctx, l)
	}
	return m.Run(ctx, env.Ready)
}

// Run recovers the active queue, then schedules until ctx ends. ready is
// called once qmgr listens.
func (m *Manager) Run(ctx context.Context, ready func()) error {
	m.recover()
	ready()
	m.scan(ctx, queue.Incoming)
	m.startQueueRun(ctx)
	// Dispatch what the scan left: DSNs it queued, redos.
	m.catchUp(ctx)
	inc := time.NewTicker(m.cfg.ScanInterval)
	def := time.NewTicker(m.cfg.QueueRunDelay)
	defer inc.Stop()
	defer def.Stop()
	for {
		select {
		case <-ctx.Done():
			m.shutdown(ctx)
			return nil
		case <-inc.C:
			m.scan(ctx, queue.Incoming)
			m.spool.TrimSpare(m.now())
		case <-def.C:
			m.startQueueRun(ctx)
			m.spool.TrimSpare(m.now())
		case ev := <-m.events:
			m.handle(ctx, ev)
		}
		// Handle whatever else is waiting before flushing, so one write
		// carries many requests under load.
		for drained := false; !drained; {
			select {
			case ev := <-m.events:
				m.handle(ctx, ev)
			default:
				drained = true
			}
		}
		m.catchUp(ctx)
	}
}

func (m *Manager) handle(ctx context.Context, ev any) {
	switch e := ev.(type) {
	case wakeEvent:
		for _, id := range e.ids {
			m.take(ctx, id, queue.Incoming)
		}
		if e.scan {
			m.flush(ctx, e.site)
		}
	case agentReply:
		if e.a.conn == e.conn {
			m.reply(ctx, e.a, e.reply)
		}
	case agentDown:
		m.lost(ctx, e.a, e.conn, e.err)
	case dueEvent:
		for _, id := range e.ids {
			if len(m.active) >= m.cfg.ActiveLimit {
				break // the rest waits for the next queue run
			}
			m.take(ctx, id, queue.DeferredQueue)
		}
		if e.last {
			m.queueRun = false
		}
	case destReady:
		m.ready(ctx, e.d)
	case retryAgents:
	}
}

// catchUp dispatches what the last events left to do.
func (m *Manager) catchUp(ctx context.Context) {
	m.sendQueued(ctx)
	for len(m.redo) > 0 {
		ms := m.redo[0]
		m.redo = m.redo[1:]
		m.dispatch(ctx, ms)
	}
	for len(m.pending) > 0 {
		id := m.pending[0]
		m.pending = m.pending[1:]
		m.take(ctx, id, queue.Incoming)
	}
	if m.backlog && len(m.active) < m.cfg.ActiveLimit/2 {
		m.backlog = false
		m.scan(ctx, queue.Incoming)
	}
}

// recover moves entries a previous qmgr had in hand back to incoming/.
// Their last attempt was cut short, and an agent may have delivered
// without recording it; the mark it leaves first tells local to look for
// its own earlier delivery (queue.InterruptedRecord).
func (m *Manager) recover() {
	ids, err := m.spool.List(queue.Active)
	if err != nil {
		m.log.Warn("%v", err)
		return
	}
	if err := m.spool.MarkInterrupted(queue.Active, ids); err != nil {
		m.log.Warn("%v", err)
	}
	for _, id := range ids {
		if err := m.spool.Move(id, queue.Active, queue.Incoming); err != nil {
			m.log.Warn("%v", err)
		}
	}
	if len(ids) > 0 {
		m.log.Info("moved %d entries from active back to incoming", len(ids))
	}
}

// scan takes every entry in a queue directory, oldest first.
func (m *Manager) scan(ctx context.Context, q string) {
	ids, err := m.spool.List(q)
	if err != nil {
		m.log.Warn("%v", err)
		return
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		if len(m.active) >= m.cfg.ActiveLimit {
			m.backlog = true
			return
		}
		m.take(ctx, id, q)
	}
}

// startQueueRun begins a queue run: the deferred entries whose next
// attempt has come are taken, oldest first. Finding them means a stat of
// every entry in deferred/, which with 100,000 of them takes a good
// fraction of a second, so it runs beside the loop rather than in it:
// new mail is dispatched meanwhile, and the due entries come back to the
// loop in batches (dueEvent), between other events. One run at a time;
// a timer tick during a run is skipped.
func (m *Manager) startQueueRun(ctx context.Context) {
	if m.queueRun {
		return
	}
	m.queueRun = true
	now := m.now() // the clock is read in the loop only
	go func() {
		ids, err := m.due(now)
		if err != nil {
			m.log.Warn("%v", err)
		}
		for {
			n := min(len(ids), dueBatch)
			ev := dueEvent{ids: ids[:n], last: n == len(ids)}
			ids = ids[n:]
			select {
			case m.events <- ev:
			case <-ctx.Done():
				return
			}
			if ev.last {
				return
			}
		}
	}()
}

// dueBatch is how many due entries one dueEvent carries: enough that a
// run costs few events, few enough that new mail waits little behind one.
const dueBatch = 256

// flushDeferred takes every deferred entry, due or not, for which want
// says yes (all when want is nil): postern flush.
func (m *Manager) flushDeferred(ctx context.Context, want func(queue.ID) bool) {
	ids, err := m.spool.List(queue.DeferredQueue)
	if err != nil {
		m.log.Warn("%v", err)
		return
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	for _, id := range ids {
		if want != nil && !want(id) {
			continue
		}
		if len(m.active) >= m.cfg.ActiveLimit {
			return
		}
		m.take(ctx, id, queue.DeferredQueue)
	}
}

// shutdown gives deliveries in flight a moment to report, so their
// entries do not wait for the next qmgr; whatever is still active then
// is moved back to incoming/ by the next qmgr.
func (m *Manager) shutdown(ctx context.Context) {
	deadline := time.After(3 * time.Second)
	for m.inflight() > 0 {
		select {
		case ev := <-m.events:
			switch e := ev.(type) {
			case agentReply:
				if e.a.conn == e.conn {
					m.reply(ctx, e.a, e.reply)
				}
			case agentDown:
				m.lost(ctx, e.a, e.conn, e.err)
			}
		case <-deadline:
			return
		}
	}
}

func (m *Manager) inflight() int {
	n := 0
	for _, a := range m.agents {
		n += len(a.inflight)
	}
	return n
}

// acceptWakes serves the wake-up socket.
func (m *Manager) acceptWakes(ctx context.Context, l net.Listener) {
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() == nil {
				m.log.Warn("wake socket: %v", err)
			}
			return
		}
		go m.serveWakes(c)
	}
}

func (m *Manager) serveWakes(c net.Conn) {
	conn, err := ipc.Accept(c, wake.Channel, wake.Version)
	if err != nil {
		m.log.Warn("wake socket: %v", err)
		return
	}
	defer conn.Close()
	for {
		var f wake.Frame
		if err := conn.Recv(&f); err != nil {
			return
		}
		if err := f.Validate(); err != nil {
			m.log.Warn("wake socket: %v", err)
			return
		}
		ev := wakeEvent{scan: f.Scan, site: f.Site}
		for _, id := range f.IDs {
			ev.ids = append(ev.ids, queue.ID(id))
		}
		m.post(ev)
	}
}

package qmgr

import (
	"context"
	"errors"
	"os"
	"time"

	"postern.dev/postern/libmail/dsn"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/metrics"
	"postern.dev/postern/libmail/queue"
)

// Manager is the queue manager's state. It is owned by the goroutine in
// Run; everything else posts events.
type Manager struct {
	cfg    Config
	spool  *queue.Spool
	log    *maillog.Logger
	now    func() time.Time
	bounce Bouncer
	// metrics counts what qmgr logs as to= lines itself, or is nil.
	metrics *metrics.Set
	events  chan any

	active map[queue.ID]*msg
	agents map[string]*agent
	dests  map[destKey]*dest
	// backlog says entries were left in incoming/ because the active
	// queue was full; a scan picks them up when there is room.
	backlog bool
	// redo holds entries to dispatch again at once (an agent stopped
	// before it was done with them); pending holds new entries qmgr made
	// itself (DSNs) to take.
	redo    []*msg
	pending []queue.ID
	// queueRun says a queue run is looking for due entries in deferred/
	// (startQueueRun); due finds them, the spool's Due unless a test
	// says otherwise.
	queueRun bool
	due      func(now time.Time) ([]queue.ID, error)
}

// msg is an entry in the active queue.
type msg struct {
	id       queue.ID
	e        *queue.Entry
	activeAt time.Time
	inflight int
	redo     bool // an agent stopped before it was done with it (Retry)
	// lost holds the recipients of requests whose agent connection
	// broke before the agent answered, and lostWhy the reason, for the
	// log (see lost).
	lost    []int
	lostWhy string
}

// Bouncer turns recipients' outcomes into delivery status notifications
// in the queue (see bounce.go).
type Bouncer interface {
	// Notify queues a DSN of kind about rcpts of the entry open in f and
	// returns its ID, or "" when none is due (null sender, NOTIFY).
	Notify(kind dsn.Kind, e *queue.Entry, f *os.File, rcpts []int, now time.Time) (queue.ID, error)
}

// New returns a manager.
func New(cfg Config, spool *queue.Spool, bounce Bouncer, log *maillog.Logger, now func() time.Time) *Manager {
	m := &Manager{cfg: cfg, spool: spool, log: log, now: now, bounce: bounce,
		events: make(chan any, 4096), active: map[queue.ID]*msg{}, agents: map[string]*agent{}, dests: map[destKey]*dest{}}
	m.due = func(now time.Time) ([]queue.ID, error) { return spool.Due(queue.DeferredQueue, now) }
	for t, a := range cfg.Agents {
		m.agents[t] = &agent{transport: t, path: a.Path, inflight: map[uint64]*request{}}
	}
	return m
}

// UseMetrics makes the manager count the deferrals and expiries it logs
// itself in set (the agents count their own results).
func (m *Manager) UseMetrics(set *metrics.Set) { m.metrics = set }

// countResult counts a to= line qmgr logged, under the transport the
// recipient is routed to.
func (m *Manager) countResult(d maillog.Delivery) {
	if m.metrics == nil {
		return
	}
	t, _ := m.route(d.To)
	m.metrics.Delivery(t, d)
}

// post hands an event to the loop.
func (m *Manager) post(ev any) { m.events <- ev }

// take moves an entry from queue q into active/ and schedules it.
func (m *Manager) take(ctx context.Context, id queue.ID, q string) {
	if _, ok := m.active[id]; ok {
		return
	}
	if len(m.active) >= m.cfg.ActiveLimit {
		m.backlog = true
		return
	}
	if q != queue.Active {
		if err := m.spool.Move(id, q, queue.Active); err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				m.log.Warn("%v", err)
			}
			return
		}
	}
	f, err := m.spool.OpenEntry(queue.Active, id, false)
	if err != nil {
		m.log.Warn("%s: open: %v", id, err)
		return
	}
	e, err := queue.Read(f, id)
	f.Close()
	if err != nil {
		m.corrupt(id, err)
		return
	}
	ms := &msg{id: id, e: e, activeAt: m.now()}
	m.active[id] = ms
	m.log.Info("%s: from=<%s>, size=%d, nrcpt=%d (queue active)", id, e.Sender, e.Size, len(e.Recipients))
	m.dispatch(ctx, ms)
}

// corrupt moves an unreadable entry aside for a human.
func (m *Manager) corrupt(id queue.ID, err error) {
	if errors.Is(err, queue.ErrCorrupt) {
		m.log.Warn("%s: %v; moved to %s/", id, err, queue.Corrupt)
		if merr := m.spool.MoveCorrupt(id, queue.Active); merr != nil {
			m.log.Warn("%v", merr)
		}
		return
	}
	m.log.Warn("%s: %v", id, err)
}

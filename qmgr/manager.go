package qmgr

import (
	"context"
	"errors"
	"os"
	"strings"
	"time"

	"postern.dev/postern/libmail/address"
	"postern.dev/postern/libmail/ipc/delivery"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/queue"
)

// maxRcptsPerRequest is how many recipients go in one delivery request,
// Postfix's default_destination_recipient_limit.
const maxRcptsPerRequest = 50

// Manager is the queue manager's state. It is owned by the goroutine in
// Run; everything else posts events.
type Manager struct {
	cfg    Config
	spool  *queue.Spool
	log    *maillog.Logger
	now    func() time.Time
	bounce Bouncer
	events chan any

	active map[queue.ID]*msg
	agents map[string]*agent
	// backlog says entries were left in incoming/ because the active
	// queue was full; a scan picks them up when there is room.
	backlog bool
	// redo holds entries to dispatch again (an agent connection broke);
	// pending holds new entries qmgr made itself (DSNs) to take.
	redo    []*msg
	pending []queue.ID
}

// msg is an entry in the active queue.
type msg struct {
	id       queue.ID
	e        *queue.Entry
	activeAt time.Time
	inflight int
	redo     bool // an agent connection broke while delivering it
}

// Bouncer turns failed recipients into a delivery status notification in
// the queue (see bounce.go).
type Bouncer interface {
	// Bounce queues a DSN about rcpts of the entry open in f and returns
	// its ID, or "" when no DSN is due (null sender, NOTIFY=NEVER).
	Bounce(e *queue.Entry, f *os.File, rcpts []int, now time.Time) (queue.ID, error)
}

// New returns a manager.
func New(cfg Config, spool *queue.Spool, bounce Bouncer, log *maillog.Logger, now func() time.Time) *Manager {
	m := &Manager{cfg: cfg, spool: spool, log: log, now: now, bounce: bounce,
		events: make(chan any, 4096), active: map[queue.ID]*msg{}, agents: map[string]*agent{}}
	for t, p := range cfg.Agents {
		m.agents[t] = &agent{transport: t, path: p, inflight: map[uint64]*request{}}
	}
	return m
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

// route picks the transport and next hop for a recipient.
func (m *Manager) route(rcpt string) (transport, nexthop string) {
	_, domain := address.Split(rcpt)
	domain = strings.ToLower(domain)
	if m.cfg.LocalDomains[domain] {
		return "local", ""
	}
	if m.cfg.RelayHost != "" {
		return "smtp", m.cfg.RelayHost
	}
	return "smtp", domain
}

// dispatch sends delivery requests for every recipient still to do.
func (m *Manager) dispatch(ctx context.Context, ms *msg) {
	type key struct{ transport, nexthop string }
	groups := map[key][]int{}
	var order []key
	var unrouted []int
	needsBounce := false
	for i, st := range ms.e.State {
		if st.Status == queue.Failed && !st.Notified {
			needsBounce = true
		}
		if st.Status == queue.Sent || st.Status == queue.Failed {
			continue
		}
		t, hop := m.route(ms.e.Recipients[i].Addr)
		if m.agents[t] == nil {
			unrouted = append(unrouted, i)
			continue
		}
		k := key{t, hop}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	if len(unrouted) > 0 {
		m.suspend(ms, unrouted)
	}
	last := len(order) == 1 && len(unrouted) == 0 && !needsBounce && len(groups[order[0]]) <= maxRcptsPerRequest
	for _, k := range order {
		rcpts := groups[k]
		for len(rcpts) > 0 {
			n := min(len(rcpts), maxRcptsPerRequest)
			r := &request{msg: ms, agent: m.agents[k.transport], req: delivery.Request{
				Type: delivery.RequestType, ID: string(ms.id), Queue: queue.Active, Rcpts: rcpts[:n],
				Last: last, Nexthop: k.nexthop, Activated: ms.activeAt.UnixNano(),
			}}
			rcpts = rcpts[n:]
			ms.inflight++
			m.send(ctx, r)
		}
	}
	if ms.inflight == 0 {
		m.finish(ms)
	}
}

// suspend defers recipients whose transport has no agent configured, so
// they wait safely in the queue until one is.
func (m *Manager) suspend(ms *msg, rcpts []int) {
	f, err := m.spool.OpenEntry(queue.Active, ms.id, true)
	if err != nil {
		m.log.Warn("%s: %v", ms.id, err)
		return
	}
	defer f.Close()
	reason := "delivery temporarily suspended: no delivery agent for this destination"
	var recs []queue.Record
	for _, i := range rcpts {
		recs = append(recs, queue.ResultRecord{Result: queue.Result{Rcpt: i, Status: queue.Deferred, DSN: "4.3.0", Relay: "none", Reply: reason}})
		m.log.Info("%s", maillog.Delivery{QueueID: string(ms.id), To: ms.e.Recipients[i].Addr, Relay: "none",
			Delay: m.now().Sub(ms.e.Arrival), Delays: maillog.Delays{Before: ms.activeAt.Sub(ms.e.Arrival), InQmgr: m.now().Sub(ms.activeAt)},
			DSN: "4.3.0", Status: "deferred", Reply: reason}.Line())
	}
	if err := queue.AppendNoSync(f, recs...); err != nil {
		m.log.Warn("%s: %v", ms.id, err)
	}
}

// reply handles an agent's answer to a request.
func (m *Manager) reply(a *agent, rep delivery.Reply) {
	r, ok := a.inflight[rep.Seq]
	if !ok {
		m.log.Warn("%s delivery agent answered unknown request %d", a.transport, rep.Seq)
		return
	}
	delete(a.inflight, rep.Seq)
	ms := r.msg
	ms.inflight--
	if rep.Removed {
		// The agent delivered everything, removed the entry and logged it.
		delete(m.active, ms.id)
		return
	}
	if ms.inflight == 0 {
		m.finish(ms)
	}
}

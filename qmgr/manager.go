package qmgr

import (
	"context"
	"errors"
	"os"
	"strings"
	"time"

	"postern.dev/postern/libmail/address"
	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/dsn"
	"postern.dev/postern/libmail/ipc/delivery"
	"postern.dev/postern/libmail/maillog"
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
	events chan any

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

// route picks the transport and next hop for a recipient: transport_maps
// first (the domain, then its parents as ".parent"), then the local
// domains, then relayhost, then the recipient's domain itself.
func (m *Manager) route(rcpt string) (transport, nexthop string) {
	_, domain := address.Split(rcpt)
	domain = strings.ToLower(domain)
	if r, ok := m.transportMap(domain); ok {
		if r.Nexthop == "" && r.Transport != "local" {
			return r.Transport, domain
		}
		return r.Transport, r.Nexthop
	}
	if m.cfg.LocalDomains[domain] {
		return "local", ""
	}
	if m.cfg.RelayHost != "" {
		return "smtp", m.cfg.RelayHost
	}
	return "smtp", domain
}

// transportMap finds the most specific transport_maps entry for domain.
func (m *Manager) transportMap(domain string) (config.Route, bool) {
	if len(m.cfg.Routes) == 0 {
		return config.Route{}, false
	}
	for _, r := range m.cfg.Routes {
		if r.Pattern == domain {
			return r, true
		}
	}
	for d := domain; ; {
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return config.Route{}, false
		}
		d = d[i+1:]
		for _, r := range m.cfg.Routes {
			if r.Pattern == "."+d {
				return r, true
			}
		}
	}
}

// dispatch sends delivery requests for every recipient still to do,
// grouped by destination, at most DestRcptLimit recipients per request.
func (m *Manager) dispatch(ctx context.Context, ms *msg) {
	groups := map[destKey][]int{}
	var order []destKey
	var unrouted []int
	keep := false // the entry must come back to qmgr (DSNs to send)
	for i, st := range ms.e.State {
		if st.Status == queue.Failed && !st.Notified {
			keep = true
		}
		if st.Status == queue.Sent || st.Status == queue.Failed {
			continue
		}
		if wantsSuccessNotice(ms.e.Recipients[i].Notify) {
			keep = true
		}
		t, hop := m.route(ms.e.Recipients[i].Addr)
		if m.agents[t] == nil {
			unrouted = append(unrouted, i)
			continue
		}
		k := destKey{t, hop}
		if _, ok := groups[k]; !ok {
			order = append(order, k)
		}
		groups[k] = append(groups[k], i)
	}
	if len(unrouted) > 0 {
		m.deferRcpts(ms, unrouted, "4.3.0", "delivery temporarily suspended: no delivery agent for this destination")
	}
	perRequest := max(m.cfg.DestRcptLimit, 1)
	var reqs []*request
	for _, k := range order {
		rcpts := groups[k]
		for len(rcpts) > 0 {
			n := min(len(rcpts), perRequest)
			if k.transport == "local" {
				// local delivers one recipient's mailboxes at a time anyway;
				// the limit is for remote sessions.
				n = len(rcpts)
			}
			r := &request{msg: ms, agent: m.agents[k.transport], req: delivery.Request{
				Type: delivery.RequestType, ID: string(ms.id), Queue: queue.Active, Rcpts: rcpts[:n],
				Nexthop: k.nexthop, Activated: ms.activeAt.UnixNano(),
			}}
			if k.transport != "local" {
				r.dest = m.destFor(k)
			}
			rcpts = rcpts[n:]
			reqs = append(reqs, r)
		}
	}
	// Last lets the agent remove the entry itself when it delivers all
	// of it, saving qmgr a round: only when one request carries all that
	// is left and no DSN is due afterwards.
	if len(reqs) == 1 && len(unrouted) == 0 && !keep {
		reqs[0].req.Last = true
	}
	// Count them all before sending any: a request deferred at once for a
	// dead destination must not finish the entry while others are due.
	ms.inflight += len(reqs)
	for _, r := range reqs {
		if r.dest != nil {
			m.submit(ctx, r)
		} else {
			m.send(ctx, r)
		}
	}
	if ms.inflight == 0 {
		m.finish(ms)
	}
}

// reply handles an agent's answer to a request.
func (m *Manager) reply(ctx context.Context, a *agent, rep delivery.Reply) {
	r, ok := a.inflight[rep.Seq]
	if !ok {
		m.log.Warn("%s delivery agent answered unknown request %d", a.transport, rep.Seq)
		return
	}
	delete(a.inflight, rep.Seq)
	ms := r.msg
	ms.inflight--
	if rep.Retry {
		// The agent stops (a reload restarts it) and gave the request up:
		// no one's fault, so no backoff and no mark on the destination.
		ms.redo = true
		if r.dest != nil {
			r.dest.active--
			m.pump(ctx, r.dest)
		}
	} else if r.dest != nil {
		reason := ""
		if len(rep.Results) > 0 {
			reason = rep.Results[0].Reply
		}
		m.destDone(ctx, r.dest, rep.Unreachable, reason)
	}
	if rep.Removed {
		// The agent delivered everything, removed the entry and logged it.
		delete(m.active, ms.id)
		return
	}
	if ms.inflight == 0 {
		m.finish(ms)
	}
}

package qmgr

import (
	"context"

	"postern.dev/postern/libmail/ipc/delivery"
	"postern.dev/postern/libmail/queue"
)

// dispatch sends delivery requests for every recipient still to do,
// grouped by destination, at most DestRcptLimit recipients per request.
func (m *Manager) dispatch(ctx context.Context, ms *msg) {
	if ms.e.Expired {
		// postern queue expire: nothing more is tried; finish returns
		// what is left to the sender.
		m.finish(ms)
		return
	}
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
			if m.isLocal(k.transport) {
				// local delivers one recipient's mailboxes at a time anyway;
				// the limit is for remote sessions.
				n = len(rcpts)
			}
			r := &request{msg: ms, agent: m.agents[k.transport], req: delivery.Request{
				Type: delivery.RequestType, ID: string(ms.id), Queue: queue.Active, Rcpts: rcpts[:n],
				Nexthop: k.nexthop, Activated: ms.activeAt.UnixNano(),
			}}
			if !m.isLocal(k.transport) {
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

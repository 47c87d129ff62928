package qmgr

import (
	"context"
	"time"

	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/ipc/delivery"
)

// maxInflight caps the requests outstanding on one agent connection. It
// is below the capacity of the writer's channel, so the scheduling loop
// never blocks on an agent: a loop blocked writing to an agent that is
// itself blocked writing its replies back would deadlock.
const (
	maxInflight = 512
	outCapacity = 1024
)

// agent is qmgr's connection to one delivery agent (local, smtp). Requests
// are pipelined: a writer goroutine batches them into few writes, and
// replies come back in any order.
type agent struct {
	transport string
	path      string
	conn      *ipc.Conn
	out       chan delivery.Request // to the writer goroutine of conn
	seq       uint64
	inflight  map[uint64]*request
	queued    []*request // waiting for a connection or for room
	retryAt   time.Time  // do not redial before this
}

// request is one delivery request.
type request struct {
	msg   *msg
	req   delivery.Request
	agent *agent
	dest  *dest // nil for local deliveries
}

// Events from agent connections.
type (
	agentReply struct {
		a     *agent
		conn  *ipc.Conn
		reply delivery.Reply
	}
	agentDown struct {
		a    *agent
		conn *ipc.Conn
		err  error
	}
	// retryAgents is posted when a failed agent may be dialled again.
	retryAgents struct{}
)

// connect dials the agent if it is not connected and may be redialled.
func (m *Manager) connect(ctx context.Context, a *agent) bool {
	if a.conn != nil {
		return true
	}
	if m.now().Before(a.retryAt) {
		return false
	}
	dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	c, err := ipc.Dial(dctx, a.path, ipc.Hello{Channel: delivery.Channel, Version: delivery.Version})
	if err != nil {
		a.retryAt = m.now().Add(time.Second)
		m.log.Warn("connect to %s delivery agent: %v", a.transport, err)
		time.AfterFunc(time.Second, func() { m.post(retryAgents{}) })
		return false
	}
	a.conn = c
	a.out = make(chan delivery.Request, outCapacity)
	go m.writeRequests(a, c, a.out)
	go m.readReplies(a, c)
	return true
}

// writeRequests writes what the loop queued, flushing once per batch.
func (m *Manager) writeRequests(a *agent, c *ipc.Conn, out <-chan delivery.Request) {
	for r := range out {
		err := c.Send(r)
		for more := true; more && err == nil; {
			select {
			case r, ok := <-out:
				if !ok {
					more = false
					break
				}
				err = c.Send(r)
			default:
				more = false
			}
		}
		if err == nil {
			err = c.Flush()
		}
		if err != nil {
			m.post(agentDown{a, c, err})
			for range out {
			}
			return
		}
	}
}

// readReplies forwards an agent's replies to the loop.
func (m *Manager) readReplies(a *agent, c *ipc.Conn) {
	for {
		var r delivery.Reply
		err := c.Recv(&r)
		if err == nil {
			err = r.Validate()
		}
		if err != nil {
			m.post(agentDown{a, c, err})
			return
		}
		m.post(agentReply{a, c, r})
	}
}

// send hands a request to its agent's writer, or queues it until the
// agent is reachable and has room.
func (m *Manager) send(ctx context.Context, r *request) {
	a := r.agent
	if len(a.inflight) >= maxInflight || !m.connect(ctx, a) {
		a.queued = append(a.queued, r)
		return
	}
	a.seq++
	r.req.Seq = a.seq
	r.req.Dispatched = m.now().UnixNano()
	a.inflight[r.req.Seq] = r
	a.out <- r.req
}

// lost handles a broken agent connection (the agent crashed, or sent
// what qmgr cannot read): every delivery in flight on it is deferred
// with the usual backoff, as Postfix defers for an "unknown mail
// transport error". What the agent recorded in the entries before the
// break stays recorded, and finish reads it, so nothing recorded is sent
// twice. Scheduling the entries again at once instead would let an
// agent that breaks on some delivery, every time, spin without end. (An
// agent that stops in order answers what it gives up with Retry first;
// see reply.) Reconnecting to the agent itself is quick: other mail
// needs it.
func (m *Manager) lost(ctx context.Context, a *agent, c *ipc.Conn, err error) {
	if a.conn != c {
		return
	}
	a.conn.Close()
	close(a.out)
	a.conn, a.out = nil, nil
	a.retryAt = m.now().Add(200 * time.Millisecond)
	time.AfterFunc(200*time.Millisecond, func() { m.post(retryAgents{}) })
	if len(a.inflight) > 0 {
		m.log.Warn("lost connection with %s delivery agent (%v); deferring %d deliveries", a.transport, err, len(a.inflight))
	}
	var dests []*dest
	for seq, r := range a.inflight {
		delete(a.inflight, seq)
		if r.dest != nil {
			r.dest.active--
			dests = append(dests, r.dest)
		}
		ms := r.msg
		ms.inflight--
		if ctx.Err() != nil {
			// qmgr stops: the entry stays in active/, and the next qmgr
			// takes it again.
			continue
		}
		ms.lost = append(ms.lost, r.req.Rcpts...)
		ms.lostWhy = "unknown mail transport error: lost connection with " + a.transport + " delivery agent"
		if ms.inflight == 0 {
			m.finish(ms)
		}
	}
	if ctx.Err() != nil {
		return
	}
	// The slots are free: what waits for these destinations goes on,
	// through the agent once it is connected again.
	for _, d := range dests {
		if m.dests[d.key] == d {
			m.pump(ctx, d)
		}
	}
}

// sendQueued sends what waits for an agent, as far as there is room.
func (m *Manager) sendQueued(ctx context.Context) {
	for _, a := range m.agents {
		for len(a.queued) > 0 && len(a.inflight) < maxInflight {
			r := a.queued[0]
			a.queued = a.queued[1:]
			m.send(ctx, r)
			if a.conn == nil {
				break
			}
		}
	}
}

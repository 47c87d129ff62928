package local

import (
	"context"
	"net"
	"os"
	"time"

	"postern.dev/postern/libmail/agent"
	"postern.dev/postern/libmail/commit"
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/ipc/delivery"
	"postern.dev/postern/libmail/maildir"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/metrics"
	"postern.dev/postern/libmail/queue"
	"postern.dev/postern/libmail/recipient"
)

// Waker tells qmgr about new entries (forwarded mail).
type Waker interface{ Wake(queue.ID) }

// Agent is the local delivery agent.
type Agent struct {
	cfg   Config
	spool *queue.Spool
	dir   *recipient.Directory
	mw    *maildir.Writer
	wake  Waker
	log   *maillog.Logger
	now   func() time.Time
	vmail *daemon.User // owner of virtual mailboxes
	self  string       // path of this program, for per-delivery children
	sem   chan struct{}

	metrics   *metrics.Set // what /metrics shows, or nil
	transport string       // this agent's service name, for the metrics
}

// UseMetrics makes the agent count its results in set under the
// transport name (its service's).
func (a *Agent) UseMetrics(set *metrics.Set, transport string) {
	a.metrics, a.transport = set, transport
}

// NewAgent returns an agent.
func NewAgent(cfg Config, spool *queue.Spool, dir *recipient.Directory, vmail *daemon.User, wake Waker, log *maillog.Logger, now func() time.Time) (*Agent, error) {
	self, err := os.Executable()
	if err != nil {
		return nil, err
	}
	policy, err := commit.ForMethod(cfg.SyncMethod)
	if err != nil {
		return nil, err
	}
	mw := maildir.NewWriterPolicy(cfg.Hostname, os.Getpid(), now, policy)
	return &Agent{cfg: cfg, spool: spool, dir: dir, mw: mw, wake: wake,
		log: log, now: now, vmail: vmail, self: self, sem: make(chan struct{}, cfg.Concurrency)}, nil
}

// Serve accepts qmgr's connections on l until ctx ends, working on at
// most local_delivery_concurrency requests at once.
func (a *Agent) Serve(ctx context.Context, l net.Listener) {
	agent.Serve(ctx, l, a.handle, a.sem, a.log)
}

// handle delivers the recipients of one request and records the results
// in the entry before answering.
func (a *Agent) handle(ctx context.Context, req *delivery.Request) *delivery.Reply {
	id := queue.ID(req.ID)
	f, e, fail := agent.Open(a.spool, req, a.log, "local")
	if fail != nil {
		return fail
	}
	defer f.Close()
	start := a.now()
	rep := &delivery.Reply{Type: delivery.ReplyType, Seq: req.Seq}
	var recs []queue.Record
	for _, i := range req.Rcpts {
		if ctx.Err() != nil {
			return a.abandon(id, f, recs)
		}
		res, to := a.deliver(ctx, e, f, i)
		if ctx.Err() != nil && res.Status == queue.Deferred {
			// The interruption made this deferral (a reload restarts
			// local; qmgr went away): it says nothing about the
			// recipient, so it is no result, and recording it would
			// cost the message a backoff.
			return a.abandon(id, f, recs)
		}
		a.logResult(e, req, i, to, res, start)
		rep.Results = append(rep.Results, delivery.FromQueue(res))
		recs = append(recs, queue.ResultRecord{Result: res})
	}
	return agent.Record(a.spool, f, req, rep, recs, a.log, "local")
}

// abandon gives a request up because its context ended: qmgr's
// successor, or qmgr told by Retry, schedules the rest again. What was
// delivered is recorded, so that it is not delivered twice.
func (a *Agent) abandon(id queue.ID, f *os.File, recs []queue.Record) *delivery.Reply {
	if err := a.spool.Append(f, recs...); err != nil {
		a.log.Warn("%s: record results: %v", id, err)
	}
	return nil
}

// logResult writes the classic to= line.
func (a *Agent) logResult(e *queue.Entry, req *delivery.Request, i int, to string, res queue.Result, start time.Time) {
	now := a.now()
	activated := time.Unix(0, req.Activated)
	dispatched := time.Unix(0, req.Dispatched)
	status := string(res.Status)
	if res.Status == queue.Failed {
		status = "bounced"
	}
	d := maillog.Delivery{QueueID: string(e.ID), To: to, OrigTo: e.Recipients[i].Addr, Relay: "local",
		Delay: now.Sub(e.Arrival), Delays: maillog.Delays{Before: activated.Sub(e.Arrival), InQmgr: dispatched.Sub(activated),
			Transmit: now.Sub(start)}, DSN: res.DSN, Status: status, Reply: res.Reply}
	a.metrics.Delivery(a.transport, d)
	a.log.Info("%s", d.Line())
}

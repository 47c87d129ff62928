package smtp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"math/rand/v2"
	"net"
	"sync"
	"time"

	"postern.dev/postern/libmail/agent"
	"postern.dev/postern/libmail/dns"
	"postern.dev/postern/libmail/esmtp"
	"postern.dev/postern/libmail/ipc/delivery"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/metrics"
	"postern.dev/postern/libmail/queue"
)

// Options are the agent's collaborators. Nothing the agent uses is
// global: tests give it a fake resolver, a fixed random source, their own
// idea of which addresses are this machine, and a dialer that keeps every
// connection on loopback.
type Options struct {
	Spool    *queue.Spool
	Resolver dns.Resolver
	Log      *maillog.Logger
	Now      func() time.Time
	Rand     *rand.Rand // shuffles MX records of equal preference
	Self     *Self      // this machine, for loop detection; nil: none
	// Roots are the trusted certificate authorities for verify and
	// MTA-STS (the system's plus smtp_tls_CAfile; see LoadRoots).
	Roots *x509.CertPool
	// STS gives MTA-STS policies; nil turns MTA-STS off.
	STS STSFetcher
	// Dial opens TCP connections; nil means a net.Dialer.
	Dial func(ctx context.Context, network, address string) (net.Conn, error)
}

// copyBufferSize is the buffer a message streams through from the queue
// file to the session: as large as the session's write buffer, so a
// large message costs few reads and writes and stays out of memory.
const copyBufferSize = 64 << 10

// Agent is the outbound SMTP delivery agent.
type Agent struct {
	cfg         Config
	client      esmtp.Config // what every session gets
	spool       *queue.Spool
	res         dns.Resolver
	log         *maillog.Logger
	now         func() time.Time
	self        *Self
	roots       *x509.CertPool
	sts         STSFetcher
	dial        func(ctx context.Context, network, address string) (net.Conn, error)
	tlsSessions tls.ClientSessionCache
	cache       *connCache
	passwords   *passwordFile // smtp_sasl_password_maps; nil without smtp_sasl_auth_enable
	sem         chan struct{}
	bufs        sync.Pool    // *[]byte of copyBufferSize: message data on its way from the queue file
	metrics     *metrics.Set // what /metrics shows, or nil
	transport   string       // this agent's service name, for the metrics

	randMu sync.Mutex
	rand   *rand.Rand
}

// NewAgent returns an agent. Close it to end its cached sessions.
func NewAgent(cfg Config, o Options) (*Agent, error) {
	if o.Spool == nil || o.Resolver == nil || o.Log == nil || o.Now == nil || o.Rand == nil {
		return nil, errors.New("smtp: NewAgent needs a spool, resolver, logger, clock and random source")
	}
	roots := o.Roots
	if roots == nil {
		var err error
		if roots, err = LoadRoots(cfg.CAFile); err != nil {
			return nil, err
		}
	}
	dial := o.Dial
	if dial == nil {
		dial = (&net.Dialer{}).DialContext
	}
	sts := o.STS
	if !cfg.MTASTS {
		sts = nil
	}
	a := &Agent{cfg: cfg, client: esmtp.Config{Helo: cfg.HeloName, Timeouts: cfg.Timeouts, LineLimit: cfg.Content.LineLimit},
		spool: o.Spool, res: o.Resolver, log: o.Log, now: o.Now, self: o.Self,
		roots: roots, sts: sts, dial: dial, tlsSessions: tls.NewLRUClientSessionCache(1024),
		cache: newConnCache(cfg.CacheTime, cfg.ReuseTime, cfg.Concurrency, o.Now),
		sem:   make(chan struct{}, cfg.Concurrency), rand: o.Rand}
	if cfg.SASL.PasswordFile != "" {
		a.passwords = newPasswordFile(cfg.SASL.PasswordFile, o.Log)
	}
	a.bufs.New = func() any {
		b := make([]byte, copyBufferSize)
		return &b
	}
	return a, nil
}

// Close ends the cached sessions with QUIT.
func (a *Agent) Close() { a.cache.close() }

func (a *Agent) buffer() *[]byte { return a.bufs.Get().(*[]byte) }

// Serve accepts qmgr's connections on l until ctx ends, working on at
// most smtp_delivery_concurrency requests at once.
func (a *Agent) Serve(ctx context.Context, l net.Listener) {
	agent.Serve(ctx, l, a.handle, a.sem, a.log)
}

// handle delivers the recipients of one request and records the results
// in the entry (fsynced) before answering.
func (a *Agent) handle(ctx context.Context, req *delivery.Request) *delivery.Reply {
	id := queue.ID(req.ID)
	start := a.now()
	f, e, fail := agent.Open(a.spool, req, a.log, "none")
	if fail != nil {
		return fail
	}
	defer f.Close()
	if req.Nexthop == "" {
		a.log.Warn("%s: delivery request without nexthop", id)
		return a.failAll(req, "4.3.5", "mail system configuration error: no nexthop")
	}
	j := &job{id: id, e: e, msg: message{env: &e.Envelope, body: e.Message(f), size: e.Size},
		start: start, now: a.now}
	for _, i := range req.Rcpts {
		j.rcpts = append(j.rcpts, e.Recipients[i])
	}
	j.res = make([]outcome, len(j.rcpts))
	unreachable := a.deliver(ctx, j, req.Nexthop)

	rep := &delivery.Reply{Type: delivery.ReplyType, Seq: req.Seq, Unreachable: unreachable}
	recs := make([]queue.Record, 0, len(j.res))
	for k, o := range j.res {
		o.Rcpt = req.Rcpts[k]
		if ctx.Err() != nil && o.Status == queue.Deferred {
			// qmgr is gone or the agent stops: a deferral caused by the
			// interruption is no result. What was delivered is recorded
			// below, so that it is not delivered twice.
			continue
		}
		a.logResult(j, req, k, &o)
		rep.Results = append(rep.Results, delivery.FromQueue(o.Result))
		recs = append(recs, queue.ResultRecord{Result: o.Result})
	}
	if ctx.Err() != nil {
		if err := a.spool.Append(f, recs...); err != nil {
			a.log.Warn("%s: record results: %v", id, err)
		}
		return nil
	}
	return agent.Record(a.spool, f, req, rep, recs, a.log, "none")
}

// failAll answers a request that could not be worked on at all.
func (a *Agent) failAll(req *delivery.Request, dsn, reason string) *delivery.Reply {
	return agent.DeferAll(req, dsn, "none", reason)
}

// logResult writes the classic to= line.
func (a *Agent) logResult(j *job, req *delivery.Request, k int, o *outcome) {
	now := a.now()
	activated := time.Unix(0, req.Activated)
	dispatched := time.Unix(0, req.Dispatched)
	status := string(o.Status)
	if o.Status == queue.Failed {
		status = "bounced"
	}
	d := maillog.Delivery{QueueID: string(j.id), To: j.rcpts[k].Addr, Relay: o.Relay,
		Delay: now.Sub(j.e.Arrival), Delays: maillog.Delays{Before: activated.Sub(j.e.Arrival), InQmgr: dispatched.Sub(activated),
			Setup: o.setup, Transmit: o.xmit}, DSN: o.DSN, Status: status, Reply: o.log}
	a.metrics.Delivery(a.transport, d)
	a.log.Info("%s", d.Line())
}

// UseMetrics makes the agent count its results and TLS sessions in set
// under the transport name (its service's).
func (a *Agent) UseMetrics(set *metrics.Set, transport string) {
	a.metrics, a.transport = set, transport
}

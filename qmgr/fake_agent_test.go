package qmgr

import (
	"context"
	"io"
	"net"
	"os"
	"path/filepath"
	"sort"
	"sync"
	"testing"
	"time"

	"postern.dev/postern/libmail/testkit"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/ipc/delivery"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/queue"
)

// seen is one delivery request as a fake agent received it, with the
// entry it names as it was on disk at that moment.
type seen struct {
	transport string
	req       delivery.Request
	entry     *queue.Entry
	msg       string
}

// answer is what a fake agent does with a request.
type answer struct {
	results []queue.Result // one per requested recipient (Rcpt is filled in)
	record  bool           // append the results to the entry (a real agent always does)
	keep    bool           // never remove the entry, even when a Last request was all sent
	drop    bool           // close the connection instead of replying
	retry   bool           // reply Retry, as an agent that stops does
	// unreachable sets the reply's Unreachable flag: the destination
	// could not be reached.
	unreachable bool
}

// reply makes an answer: every requested recipient gets status st.
func reply(st queue.Status, dsn, relay, text string) func(seen) answer {
	return func(s seen) answer {
		var a answer
		for range s.req.Rcpts {
			a.results = append(a.results, queue.Result{Status: st, DSN: dsn, Relay: relay, Reply: text})
		}
		a.record = true
		return a
	}
}

var sent = reply(queue.Sent, "2.0.0", "local", "delivered to maildir")

// fakeAgent is a delivery agent on a Unix socket that answers as the
// test says, recording results in the entry before it replies and
// removing the entry when a Last request was all sent, as the protocol
// requires.
type fakeAgent struct {
	t         *testing.T
	transport string
	spool     *queue.Spool
	l         net.Listener
	answer    func(seen) answer
	seen      chan seen
	// concurrent answers each request in its own goroutine, as the real
	// agents do, so that an answer that blocks holds only its request.
	concurrent bool

	mu    sync.Mutex
	conns []net.Conn
	wg    sync.WaitGroup
}

func newFakeAgent(t *testing.T, spool *queue.Spool, transport, path string, seenCh chan seen, answer func(seen) answer, concurrent bool) *fakeAgent {
	t.Helper()
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	a := &fakeAgent{t: t, transport: transport, spool: spool, l: l, answer: answer, seen: seenCh, concurrent: concurrent}
	a.wg.Add(1)
	go a.serve()
	t.Cleanup(a.close)
	return a
}

func (a *fakeAgent) close() {
	a.l.Close()
	a.mu.Lock()
	for _, c := range a.conns {
		c.Close()
	}
	a.mu.Unlock()
	a.wg.Wait()
}

func (a *fakeAgent) serve() {
	defer a.wg.Done()
	for {
		c, err := a.l.Accept()
		if err != nil {
			return
		}
		a.mu.Lock()
		a.conns = append(a.conns, c)
		a.mu.Unlock()
		a.wg.Add(1)
		go func() {
			defer a.wg.Done()
			a.serveConn(c)
		}()
	}
}

func (a *fakeAgent) serveConn(c net.Conn) {
	defer c.Close()
	conn, err := ipc.Accept(c, delivery.Channel, delivery.Version)
	if err != nil {
		a.t.Errorf("fake %s agent: %v", a.transport, err)
		return
	}
	for {
		var req delivery.Request
		if err := conn.Recv(&req); err != nil {
			return
		}
		if err := req.Validate(); err != nil {
			a.t.Errorf("fake %s agent: invalid request %+v: %v", a.transport, req, err)
			return
		}
		if a.concurrent {
			a.wg.Add(1)
			go func() {
				defer a.wg.Done()
				if rep, ok := a.handle(req); ok {
					conn.SendFlush(rep)
				} else {
					c.Close()
				}
			}()
			continue
		}
		rep, ok := a.handle(req)
		if !ok {
			return // drop the connection
		}
		if err := conn.SendFlush(rep); err != nil {
			return
		}
	}
}

func (a *fakeAgent) handle(req delivery.Request) (*delivery.Reply, bool) {
	// As a real agent does: a shared lock while reading, so that nobody
	// recycles the file under us.
	f, err := a.spool.OpenEntry(queue.Active, queue.ID(req.ID), true)
	if err != nil {
		a.t.Errorf("fake %s agent: %v", a.transport, err)
		return nil, false
	}
	defer f.Close()
	e, err := queue.Read(f, queue.ID(req.ID))
	if err != nil {
		a.t.Errorf("fake %s agent: %v", a.transport, err)
		return nil, false
	}
	msg, err := io.ReadAll(e.Message(f))
	if err != nil {
		a.t.Errorf("fake %s agent: %v", a.transport, err)
		return nil, false
	}
	s := seen{transport: a.transport, req: req, entry: e, msg: string(msg)}
	ans := a.answer(s)
	select {
	case a.seen <- s:
	default:
		a.t.Errorf("fake agent: too many requests")
	}
	if ans.results != nil && len(ans.results) != len(req.Rcpts) {
		a.t.Errorf("test answers %d results to %d recipients", len(ans.results), len(req.Rcpts))
	}
	rep := &delivery.Reply{Type: delivery.ReplyType, Seq: req.Seq, Unreachable: ans.unreachable}
	allSent := true
	var recs []queue.Record
	for i, r := range ans.results {
		r.Rcpt = req.Rcpts[i]
		rep.Results = append(rep.Results, delivery.FromQueue(r))
		recs = append(recs, queue.ResultRecord{Result: r})
		allSent = allSent && r.Status == queue.Sent
	}
	if ans.record {
		if req.Last && allSent && !ans.keep {
			if err := a.spool.RecycleOpen(f, queue.Active, queue.ID(req.ID)); err != nil {
				a.t.Errorf("fake agent: %v", err)
			}
			rep.Removed = true
		} else if err := queue.Append(f, recs...); err != nil {
			a.t.Errorf("fake agent: %v", err)
		}
	}
	if ans.drop {
		return nil, false
	}
	if ans.retry {
		rep = &delivery.Reply{Type: delivery.ReplyType, Seq: req.Seq, Retry: true}
	}
	return rep, true
}

// clock is the manager's clock. Unless frozen it follows the real clock
// plus an offset the test moves: qmgr's reconnect timers are real-time.
type clock struct {
	mu     sync.Mutex
	frozen bool
	t      time.Time // the frozen time, or the offset base
	off    time.Duration
}

func (c *clock) Now() time.Time {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.frozen {
		return c.t
	}
	return time.Now().Add(c.off)
}

func (c *clock) Advance(d time.Duration) {
	c.mu.Lock()
	c.t = c.t.Add(d)
	c.off += d
	c.mu.Unlock()
}

// harness is a spool, fake agents for local and smtp, and a manager.
type harness struct {
	t      *testing.T
	root   string
	spool  *queue.Spool
	clock  *clock
	cfg    Config
	seen   chan seen
	m      *Manager
	log    *testkit.LogBuffer
	stash  []seen // requests next has yet to return (set aside by barrier)
	cancel context.CancelFunc
	done   chan error
}

type harnessOptions struct {
	frozen   bool // a manual clock
	agents   []string
	answer   func(seen) answer
	config   func(*Config)
	noAgents bool
	// concurrent: the fake agents answer requests concurrently.
	concurrent bool
}

func newHarness(t *testing.T, o harnessOptions) *harness {
	t.Helper()
	// Socket paths must stay short; t.TempDir() can be long.
	root := testkit.MakeSpool(t, t.TempDir())
	h := &harness{t: t, root: root, seen: make(chan seen, 1000), log: &testkit.LogBuffer{},
		clock: &clock{frozen: o.frozen, t: time.Now().Truncate(time.Second)}}
	h.spool = queue.Open(root, time.Now)
	t.Cleanup(func() { h.spool.Close() })
	h.cfg = Config{
		Spool:          root,
		LocalDomains:   map[string]bool{"example.test": true, "mail.example.test": true},
		Hostname:       "mail.example.test",
		ScanInterval:   time.Hour,
		QueueRunDelay:  time.Hour,
		MinBackoff:     300 * time.Second,
		MaxBackoff:     4000 * time.Second,
		MaxLifetime:    5 * 24 * time.Hour,
		BounceLifetime: 5 * 24 * time.Hour,
		ActiveLimit:    100,
		Agents:         map[string]Agent{},
		// The transports are the built-in services' names, as NewConfig
		// resolves them; "smtp" stands for the outbound service here.
		DefaultTransport: "smtp", LocalTransport: "local",
		// Postfix's defaults, as the parameters have them.
		InitialDestConc: 5, DestConcLimit: 20, DestRcptLimit: 50, FailedCohortLimit: 1,
	}
	agents := o.agents
	if agents == nil && !o.noAgents {
		agents = []string{"local", "smtp"}
	}
	test := o.answer
	if test == nil {
		test = sent
	}
	ans := func(s seen) answer {
		if len(s.entry.Recipients) == 1 && s.entry.Recipients[0].Addr == probeRcpt {
			return sent(s)
		}
		return test(s)
	}
	for _, tr := range agents {
		path := filepath.Join(root, "private", tr)
		h.cfg.Agents[tr] = Agent{Path: path, Local: tr == "local"}
		newFakeAgent(t, h.spool, tr, path, h.seen, ans, o.concurrent)
	}
	if o.config != nil {
		o.config(&h.cfg)
	}
	p := config.Default(config.Options{Hostname: "mail.example.test"}).Params
	p.BounceSizeLimit = 50000
	log := maillog.ForWriter(h.log, "qmgr", "mail.example.test", h.clock.Now)
	h.m = New(h.cfg, h.spool, NewBouncer(&p, h.spool, h.clock.Now), log, h.clock.Now)
	return h
}

// start runs the manager until the test ends.
func (h *harness) start() {
	h.t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	h.cancel = cancel
	h.done = make(chan error, 1)
	ready := make(chan struct{})
	go func() { h.done <- h.m.Run(ctx, func() { close(ready) }) }()
	<-ready
	h.t.Cleanup(h.stop)
}

func (h *harness) stop() {
	if h.cancel == nil {
		return
	}
	h.cancel()
	h.cancel = nil
	select {
	case err := <-h.done:
		if err != nil {
			h.t.Errorf("Run: %v", err)
		}
	case <-time.After(10 * time.Second):
		h.t.Errorf("Run did not return")
	}
}

// wake posts a wake-up as the wake socket would.
func (h *harness) wake(scan bool, ids ...queue.ID) { h.m.post(wakeEvent{ids: ids, scan: scan}) }

// deferredBarrier returns once the manager has run a scan of deferred/
// that started after the call: it puts a due probe entry into deferred/,
// which only such a scan takes, and waits for its delivery request.
func (h *harness) deferredBarrier() {
	h.t.Helper()
	id := h.enqueue(entrySpec{sender: "probe@example.org", rcpts: rcpts(probeRcpt)})
	// Due before it is in deferred/: a scan that runs between the move
	// and a later chtimes could take it (its mtime is the real time, due
	// for a clock the test moved on) and make the chtimes fail.
	due := h.clock.Now().Add(-time.Second)
	if err := os.Chtimes(h.spool.Path(queue.Incoming, id), due, due); err != nil {
		h.t.Fatal(err)
	}
	if err := h.spool.Move(id, queue.Incoming, queue.DeferredQueue); err != nil {
		h.t.Fatal(err)
	}
	h.waitProbe(id)
}

// probeRcpt is the recipient of barrier entries; answer functions made by
// the harness deliver it at once.
const probeRcpt = "probe@example.test"

// barrier returns once the manager has handled every event posted before
// it: it wakes the manager for a probe entry and waits for the probe's
// delivery request (the manager handles events in order). Requests that
// arrive meanwhile are kept for next.
func (h *harness) barrier() {
	h.t.Helper()
	id := h.enqueue(entrySpec{sender: "probe@example.org", rcpts: rcpts(probeRcpt)})
	h.wake(false, id)
	h.waitProbe(id)
}

// waitProbe waits for the request for probe id, keeping others for next.
func (h *harness) waitProbe(id queue.ID) {
	h.t.Helper()
	for {
		select {
		case s := <-h.seen:
			if s.req.ID == string(id) {
				h.waitIn(id, queue.Spare)
				return
			}
			h.stash = append(h.stash, s)
		case <-time.After(10 * time.Second):
			h.t.Fatalf("barrier: no probe request within 10 s\nlog:\n%s", h.log.String())
		}
	}
}

type entrySpec struct {
	sender  string
	rcpts   []queue.Recipient
	arrival time.Time
	bounce  bool
	double  bool
	ret     string
	msg     string
}

const testMsg = "From: sender@example.org\r\nTo: user@example.test\r\nSubject: hello\r\nMessage-Id: <m1@example.org>\r\n\r\nBody.\r\n"

func rcpts(addrs ...string) []queue.Recipient {
	var out []queue.Recipient
	for _, a := range addrs {
		out = append(out, queue.Recipient{Addr: a})
	}
	return out
}

// enqueue commits an entry into incoming/.
func (h *harness) enqueue(s entrySpec) queue.ID {
	h.t.Helper()
	if s.arrival.IsZero() {
		s.arrival = h.clock.Now().Add(-time.Minute)
	}
	if s.msg == "" {
		s.msg = testMsg
	}
	env := queue.Envelope{Arrival: s.arrival, Sender: s.sender, Recipients: s.rcpts, Bounce: s.bounce, DoubleBounce: s.double, Ret: s.ret}
	return testkit.Enqueue(h.t, h.spool, queue.Incoming, env, s.msg)
}

// next returns the next request an agent received.
func (h *harness) next() seen {
	h.t.Helper()
	if len(h.stash) > 0 {
		s := h.stash[0]
		h.stash = h.stash[1:]
		return s
	}
	select {
	case s := <-h.seen:
		return s
	case <-time.After(10 * time.Second):
		h.t.Fatalf("no delivery request within 10 s\nlog:\n%s", h.log.String())
	}
	panic("unreachable")
}

// noMore checks that no request is waiting. Callers first wait for a
// state on disk that the manager reaches only after any request it would
// have sent.
func (h *harness) noMore() {
	h.t.Helper()
	for _, s := range h.stash {
		h.t.Errorf("unexpected request %+v for %s", s.req, s.entry.Envelope.Recipients)
	}
	h.stash = nil
	select {
	case s := <-h.seen:
		h.t.Errorf("unexpected request %+v for %s", s.req, s.entry.Envelope.Recipients)
	default:
	}
}

// where returns the queue directories that hold id.
func (h *harness) where(id queue.ID) []string {
	var out []string
	for _, d := range queue.Layout {
		if _, err := os.Stat(filepath.Join(h.root, d.Name, string(id))); err == nil {
			out = append(out, d.Name)
		}
	}
	return out
}

// waitIn polls until id is in queue q (and nowhere else).
func (h *harness) waitIn(id queue.ID, q string) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		w := h.where(id)
		if len(w) == 1 && w[0] == q {
			return
		}
		if time.Now().After(deadline) {
			h.t.Fatalf("%s is in %v, want %s\nlog:\n%s", id, w, q, h.log.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// waitFor polls cond.
func (h *harness) waitFor(what string, cond func() bool) {
	h.t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			h.t.Fatalf("timed out waiting for %s\nlog:\n%s", what, h.log.String())
		}
		time.Sleep(2 * time.Millisecond)
	}
}

// read reads entry id from queue q.
func (h *harness) read(q string, id queue.ID) *queue.Entry {
	h.t.Helper()
	f, err := os.Open(h.spool.Path(q, id))
	if err != nil {
		h.t.Fatal(err)
	}
	defer f.Close()
	e, err := queue.Read(f, id)
	if err != nil {
		h.t.Fatal(err)
	}
	return e
}

// ids lists queue q, sorted.
func (h *harness) ids(q string) []queue.ID {
	h.t.Helper()
	ids, err := h.spool.List(q)
	if err != nil {
		h.t.Fatal(err)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

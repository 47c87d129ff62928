package qmgr

import (
	"fmt"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/queue"
)

// TestSlowStart: deliveries to one destination start InitialDestConc at
// a time and widen, never beyond DestConcLimit.
func TestSlowStart(t *testing.T) {
	const n = 60
	var mu sync.Mutex
	inflight, peak := 0, 0
	gate := make(chan struct{})
	h := newHarness(t, harnessOptions{concurrent: true, config: func(c *Config) {
		c.InitialDestConc, c.DestConcLimit = 3, 8
	}, answer: func(s seen) answer {
		mu.Lock()
		inflight++
		peak = max(peak, inflight)
		mu.Unlock()
		<-gate
		time.Sleep(2 * time.Millisecond)
		mu.Lock()
		inflight--
		mu.Unlock()
		return reply(queue.Sent, "2.0.0", "mx.remote.example[192.0.2.1]:25", "250 ok")(s)
	}})
	var ids []queue.ID
	for range n {
		ids = append(ids, h.enqueue(entrySpec{sender: "s@example.org", rcpts: rcpts("u@remote.example")}))
	}
	var once sync.Once
	open := func() { once.Do(func() { close(gate) }) }
	t.Cleanup(open) // runs before the harness's cleanups, which wait for the agents
	h.start()
	// Before anything has succeeded, only the initial window is out.
	inFlight := func() int {
		mu.Lock()
		defer mu.Unlock()
		return inflight
	}
	for deadline := time.Now().Add(10 * time.Second); inFlight() < 3 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Millisecond)
	}
	time.Sleep(200 * time.Millisecond)
	if early := inFlight(); early != 3 {
		t.Errorf("%d deliveries in flight before any succeeded, want 3", early)
	}
	open()
	for range n {
		h.next()
	}
	for _, id := range ids {
		h.waitIn(id, queue.Spare)
	}
	if peak > 8 || peak <= 3 {
		t.Errorf("peak concurrency %d, want more than 3 and at most 8", peak)
	}
}

// TestDeadDestination: once deliveries report the destination
// unreachable (a failed cohort), the mail waiting for it is deferred
// without being tried, and the log says so.
func TestDeadDestination(t *testing.T) {
	const n = 10
	h := newHarness(t, harnessOptions{config: func(c *Config) { c.InitialDestConc = 2 }, answer: func(s seen) answer {
		a := reply(queue.Deferred, "4.4.1", "none", "connect to mx.dead.example[192.0.2.9]:25: Connection refused")(s)
		a.unreachable = true
		return a
	}})
	var ids []queue.ID
	for range n {
		ids = append(ids, h.enqueue(entrySpec{sender: "s@example.org", rcpts: rcpts("u@dead.example")}))
	}
	h.start()
	for _, id := range ids {
		h.waitIn(id, queue.DeferredQueue)
	}
	tried := len(h.seen)
	if tried > 2 {
		t.Errorf("%d deliveries tried against a dead destination, want at most the initial window (2)", tried)
	}
	log := h.log.String()
	if !strings.Contains(log, "destination dead.example is unreachable") {
		t.Errorf("log lacks the dead-destination line:\n%s", log)
	}
	if c := strings.Count(log, "status=deferred (delivery temporarily suspended: connect to mx.dead.example"); c != n-tried {
		t.Errorf("%d suspended deliveries logged, want %d:\n%s", c, n-tried, log)
	}
	for range tried {
		h.next()
	}
	// Other destinations are not affected.
	id := h.enqueue(entrySpec{sender: "s@example.org", rcpts: rcpts("u@example.test")})
	h.wake(false, id)
	if s := h.next(); s.transport != "local" {
		t.Errorf("local mail went to %s", s.transport)
	}
}

// TestRateDelay: with a rate delay, deliveries to one destination go one
// at a time, at least the delay apart.
func TestRateDelay(t *testing.T) {
	const delay = 150 * time.Millisecond
	h := newHarness(t, harnessOptions{concurrent: true, config: func(c *Config) { c.DestRateDelay = delay },
		answer: reply(queue.Sent, "2.0.0", "mx[192.0.2.1]:25", "250 ok")})
	for range 4 {
		h.enqueue(entrySpec{sender: "s@example.org", rcpts: rcpts("u@slow.example")})
	}
	h.start()
	// The times qmgr dispatched the requests (its clock is the real one
	// here), not when the fake agent got round to them: on a loaded
	// machine the agent's goroutines may run late and bunch up.
	var times []time.Time
	for range 4 {
		times = append(times, time.Unix(0, h.next().req.Dispatched))
	}
	slices.SortFunc(times, func(a, b time.Time) int { return a.Compare(b) })
	for i := 1; i < len(times); i++ {
		if gap := times[i].Sub(times[i-1]); gap < delay-10*time.Millisecond {
			t.Errorf("deliveries %d and %d only %v apart, want at least %v", i-1, i, gap, delay)
		}
	}
}

// TestTransportMaps: transport_maps routes before mydestination and
// relayhost, the exact domain before a parent pattern.
func TestTransportMaps(t *testing.T) {
	h := newHarness(t, harnessOptions{config: func(c *Config) {
		c.RelayHost = "[smarthost.example]"
		c.Routes, _ = config.ParseTransportMaps([]string{
			"special.example smtp:[10.0.0.1]:2525", ".corp.example smtp:", "example.test smtp:[inbound.example]",
			"loc.example local:", "a.corp.example smtp:gw.example",
		})
	}})
	for _, tt := range []struct{ rcpt, transport, nexthop string }{
		{"u@special.example", "smtp", "[10.0.0.1]:2525"},
		{"u@x.corp.example", "smtp", "x.corp.example"},
		{"u@a.corp.example", "smtp", "gw.example"},
		{"u@corp.example", "smtp", "[smarthost.example]"},
		{"u@example.test", "smtp", "[inbound.example]"},
		{"u@loc.example", "local", ""},
		{"u@other.example", "smtp", "[smarthost.example]"},
	} {
		if tr, hop := h.m.route(tt.rcpt); tr != tt.transport || hop != tt.nexthop {
			t.Errorf("route(%s) = %s %q, want %s %q", tt.rcpt, tr, hop, tt.transport, tt.nexthop)
		}
	}
}

// TestSuccessNotice: NOTIFY=SUCCESS gets a delivery report, "delivered"
// for local mail and "relayed" for mail handed to another MTA; others get
// none.
func TestSuccessNotice(t *testing.T) {
	h := newHarness(t, harnessOptions{answer: func(s seen) answer {
		if s.transport == "smtp" && !s.entry.Bounce {
			return reply(queue.Sent, "2.0.0", "mx.remote.example[192.0.2.1]:25", "250 2.0.0 ok")(s)
		}
		return sent(s)
	}})
	id := h.enqueue(entrySpec{sender: "sender@example.org", rcpts: []queue.Recipient{
		{Addr: "a@example.test", Notify: "SUCCESS"},
		{Addr: "b@remote.example", Notify: "SUCCESS,FAILURE"},
		{Addr: "c@example.test"},
	}})
	h.start()
	var notice seen
	for range 3 {
		if s := h.next(); s.entry.Bounce {
			notice = s
		}
	}
	if notice.entry == nil {
		t.Fatalf("no success notice\n%s", h.log.String())
	}
	h.waitIn(id, queue.Spare)
	r := parseDSN(t, notice.msg)
	if len(r.perRcpt) != 2 {
		t.Fatalf("%d recipients in the notice, want 2", len(r.perRcpt))
	}
	got := map[string]string{}
	for _, b := range r.perRcpt {
		got[b.Get("Final-Recipient")] = b.Get("Action")
	}
	want := map[string]string{"rfc822; a@example.test": "delivered", "rfc822; b@remote.example": "relayed"}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("actions %v, want %v", got, want)
	}
	if !strings.Contains(r.header.Get("Subject"), "Successful") {
		t.Errorf("subject %q", r.header.Get("Subject"))
	}
	if !strings.Contains(h.log.String(), string(id)+": sender delivery notification: ") {
		t.Errorf("log lacks the notification line")
	}
}

// TestDelayWarning: past delay_warning_time a deferred message gets one
// delay notice, and only one.
func TestDelayWarning(t *testing.T) {
	h := newHarness(t, harnessOptions{config: func(c *Config) { c.DelayWarning = time.Hour }, answer: func(s seen) answer {
		if s.entry.Bounce {
			return sent(s)
		}
		return reply(queue.Deferred, "4.4.1", "none", "connect to mx[192.0.2.1]:25: Connection timed out")(s)
	}})
	id := h.enqueue(entrySpec{sender: "sender@example.org", rcpts: rcpts("u@remote.example"), arrival: time.Now().Add(-2 * time.Hour)})
	h.start()
	var notice seen
	for range 2 {
		if s := h.next(); s.entry.Bounce {
			notice = s
		}
	}
	if notice.entry == nil {
		t.Fatalf("no delay notice\n%s", h.log.String())
	}
	h.waitIn(id, queue.DeferredQueue)
	r := parseDSN(t, notice.msg)
	if len(r.perRcpt) != 1 || r.perRcpt[0].Get("Action") != "delayed" || r.perRcpt[0].Get("Status") != "4.4.1" {
		t.Errorf("delay notice recipients %v", r.perRcpt)
	}
	if e := h.read(queue.DeferredQueue, id); !e.Warned {
		t.Errorf("entry not marked warned")
	}
	// A flush retries it: no second warning.
	h.wake(true)
	h.next()
	h.waitIn(id, queue.DeferredQueue)
	h.barrier()
	if c := strings.Count(h.log.String(), "sender delay notification"); c != 1 {
		t.Errorf("%d delay notifications, want 1", c)
	}
}

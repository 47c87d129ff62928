package qmgr

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"postern.dev/postern/libmail/dsn"
	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/ipc/wake"
	"postern.dev/postern/libmail/queue"
)

func TestBackoff(t *testing.T) {
	tests := []struct {
		min, max time.Duration
		attempts []int
		want     []time.Duration
	}{
		{300 * time.Second, 4000 * time.Second,
			[]int{0, 1, 2, 3, 4, 5, 6, 100},
			[]time.Duration{300, 300, 600, 1200, 2400, 4000, 4000, 4000}},
		{time.Second, 8 * time.Second,
			[]int{1, 2, 3, 4, 5},
			[]time.Duration{1, 2, 4, 8, 8}},
		{500 * time.Second, 300 * time.Second, // minimum above maximum: the maximum wins
			[]int{1, 2},
			[]time.Duration{300, 300}},
		{300 * time.Second, 300 * time.Second,
			[]int{1, 9},
			[]time.Duration{300, 300}},
	}
	for _, tt := range tests {
		c := Config{MinBackoff: tt.min, MaxBackoff: tt.max}
		unit := time.Second
		for i, n := range tt.attempts {
			if got, want := c.backoff(n), tt.want[i]*unit; got != want {
				t.Errorf("backoff(%d) with %v..%v = %v, want %v", n, tt.min, tt.max, got, want)
			}
		}
	}
}

func TestWants(t *testing.T) {
	for _, tt := range []struct {
		kind   dsn.Kind
		notify string
		want   bool
	}{
		{dsn.Failure, "", true}, {dsn.Failure, "FAILURE", true}, {dsn.Failure, "failure", true},
		{dsn.Failure, "SUCCESS,FAILURE", true}, {dsn.Failure, "DELAY,FAILURE", true},
		{dsn.Failure, "NEVER", false}, {dsn.Failure, "SUCCESS", false}, {dsn.Failure, "SUCCESS,DELAY", false},
		{dsn.Delay, "", true}, {dsn.Delay, "DELAY", true}, {dsn.Delay, "FAILURE", false}, {dsn.Delay, "NEVER", false},
		{dsn.Success, "", false}, {dsn.Success, "SUCCESS", true}, {dsn.Success, "FAILURE,SUCCESS", true}, {dsn.Success, "NEVER", false},
	} {
		if got := wants(tt.kind, tt.notify); got != tt.want {
			t.Errorf("wants(%v, %q) = %v, want %v", tt.kind, tt.notify, got, tt.want)
		}
	}
}

func TestExpiredDSN(t *testing.T) {
	for last, want := range map[string]string{"4.4.1": "5.4.1", "4.2.2": "5.2.2", "": "5.4.7", "5.1.1": "5.4.7", "4": "5.4.7"} {
		if got := expiredDSN(last); got != want {
			t.Errorf("expiredDSN(%q) = %q, want %q", last, got, want)
		}
	}
}

func TestRelayHost(t *testing.T) {
	for relay, want := range map[string]string{
		"mx.example.com[192.0.2.1]:25": "mx.example.com",
		"mx.example.com":               "mx.example.com",
	} {
		if got := relayHost(relay); got != want {
			t.Errorf("relayHost(%q) = %q, want %q", relay, got, want)
		}
	}
}

func TestRoute(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	tests := []struct{ rcpt, transport, nexthop string }{
		{"user@example.test", "local", ""},
		{"USER@Example.TEST", "local", ""},
		{"postmaster@mail.example.test", "local", ""},
		{"a@remote.example", "smtp", "remote.example"},
		{"a@Remote.Example", "smtp", "remote.example"},
		{`"odd@local"@remote.example`, "smtp", "remote.example"},
	}
	for _, tt := range tests {
		tr, hop := h.m.route(tt.rcpt)
		if tr != tt.transport || hop != tt.nexthop {
			t.Errorf("route(%s) = %s %q, want %s %q", tt.rcpt, tr, hop, tt.transport, tt.nexthop)
		}
	}
	h.m.cfg.RelayHost = "[smarthost.example]:587"
	if tr, hop := h.m.route("a@remote.example"); tr != "smtp" || hop != "[smarthost.example]:587" {
		t.Errorf("with relayhost: %s %q", tr, hop)
	}
	if tr, hop := h.m.route("user@example.test"); tr != "local" || hop != "" {
		t.Errorf("local with relayhost: %s %q", tr, hop)
	}
}

func TestDispatchAndRemove(t *testing.T) {
	tests := []struct {
		name  string
		rcpts []string
		keep  bool // the agent records results but never removes the entry
		want  []string
	}{
		{"agent removes", []string{"user@example.test"}, false, []string{"local [0] last"}},
		{"qmgr removes", []string{"user@example.test"}, true, []string{"local [0] last"}},
		{"two local", []string{"a@example.test", "b@example.test"}, false, []string{"local [0 1] last"}},
		{"by nexthop", []string{"a@example.test", "x@remote.example", "y@Remote.Example", "z@other.example"}, false,
			[]string{"local [0]", "smtp [1 2] remote.example", "smtp [3] other.example"}},
		{"many remote rcpts", manyRcpts(51, "remote.example"), false,
			[]string{"smtp " + fmt.Sprint(seq(0, 50)) + " remote.example", "smtp [50] remote.example"}},
		{"many local rcpts", manyRcpts(51, "example.test"), false, []string{"local " + fmt.Sprint(seq(0, 51)) + " last"}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{answer: func(s seen) answer {
				a := sent(s)
				a.keep = tt.keep
				return a
			}})
			id := h.enqueue(entrySpec{sender: "sender@example.org", rcpts: rcpts(tt.rcpts...)})
			h.start()
			var got []string
			for range tt.want {
				s := h.next()
				if s.req.ID != string(id) || s.req.Queue != queue.Active || s.req.Activated == 0 || s.req.Dispatched < s.req.Activated {
					t.Errorf("request %+v", s.req)
				}
				d := s.transport + " " + fmt.Sprint(s.req.Rcpts)
				if s.req.Nexthop != "" {
					d += " " + s.req.Nexthop
				}
				if s.req.Last {
					d += " last"
				}
				got = append(got, d)
			}
			slices.Sort(got)
			want := slices.Clone(tt.want)
			slices.Sort(want)
			if !slices.Equal(got, want) {
				t.Errorf("requests %q, want %q", got, want)
			}
			h.waitIn(id, queue.Spare)
			h.barrier()
			h.noMore()
			for _, q := range []string{queue.Incoming, queue.Active, queue.DeferredQueue} {
				if ids := h.ids(q); len(ids) != 0 {
					t.Errorf("%s/ holds %v", q, ids)
				}
			}
			// The agent removes the entry only when its one request was the
			// last; otherwise qmgr does, once all are answered.
			byQmgr := tt.keep || len(tt.want) > 1
			if removed := strings.Contains(h.log.String(), string(id)+": removed"); removed != byQmgr {
				t.Errorf("qmgr logged the removal: %v, want %v", removed, byQmgr)
			}
		})
	}
}

func manyRcpts(n int, domain string) []string {
	var out []string
	for i := range n {
		out = append(out, fmt.Sprintf("u%d@%s", i, domain))
	}
	return out
}

func seq(from, to int) []int {
	var out []int
	for i := from; i < to; i++ {
		out = append(out, i)
	}
	return out
}

// dsnReport is a DSN taken apart with the standard library.
type dsnReport struct {
	header       mail.Header
	perMessage   textproto.MIMEHeader
	perRcpt      []textproto.MIMEHeader
	returnedType string
	returned     string
}

func parseDSN(t *testing.T, raw string) *dsnReport {
	t.Helper()
	msg, err := mail.ReadMessage(strings.NewReader(raw))
	if err != nil {
		t.Fatalf("DSN does not parse: %v", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" || params["report-type"] != "delivery-status" {
		t.Fatalf("DSN Content-Type %q (%v)", msg.Header.Get("Content-Type"), err)
	}
	r := &dsnReport{header: msg.Header}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	var parts [][]byte
	var types []string
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("DSN part: %v", err)
		}
		b, err := io.ReadAll(p)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, b)
		types = append(types, p.Header.Get("Content-Type"))
	}
	if len(parts) != 3 {
		t.Fatalf("DSN has %d parts, want 3", len(parts))
	}
	tr := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(parts[1], "\r\n"...))))
	for {
		hdr, err := tr.ReadMIMEHeader()
		if len(hdr) > 0 {
			if r.perMessage == nil {
				r.perMessage = hdr
			} else {
				r.perRcpt = append(r.perRcpt, hdr)
			}
		}
		if err != nil {
			break
		}
	}
	r.returnedType, r.returned = types[2], string(parts[2])
	return r
}

// failOriginals fails the recipients of entries from a non-null sender
// and delivers everything else (the notifications).
func failOriginals(s seen) answer {
	if s.entry.Bounce {
		return sent(s)
	}
	if s.transport == "smtp" {
		return reply(queue.Failed, "5.1.1", "mx.remote.example[192.0.2.1]:25", "550 5.1.1 <x@remote.example>: Recipient address rejected")(s)
	}
	return reply(queue.Failed, "5.1.1", "local", `unknown user: "nobody"`)(s)
}

func TestFailureBounces(t *testing.T) {
	h := newHarness(t, harnessOptions{answer: failOriginals})
	id := h.enqueue(entrySpec{sender: "sender@example.org", rcpts: []queue.Recipient{
		{Addr: "nobody@example.test"},
		{Addr: "x@remote.example", ORcpt: "rfc822;X@remote.example", Notify: "FAILURE"},
	}})
	h.start()
	var bounce seen
	for range 3 {
		s := h.next()
		if s.entry.Bounce {
			bounce = s
		}
	}
	if bounce.entry == nil {
		t.Fatal("no DSN was dispatched")
	}
	h.waitIn(id, queue.Spare)
	h.waitIn(bounce.entry.ID, queue.Spare)

	// The original is finished: failed and notified.
	orig := h.read(queue.Spare, id)
	for i, st := range orig.State {
		if st.Status != queue.Failed || !st.Notified {
			t.Errorf("original recipient %d: %+v", i, st)
		}
	}

	// The DSN entry: from the null sender to the original sender.
	e := bounce.entry
	if e.Sender != "" || !e.Bounce || e.DoubleBounce || len(e.Recipients) != 1 || e.Recipients[0].Addr != "sender@example.org" {
		t.Errorf("DSN envelope %+v", e.Envelope)
	}
	if bounce.transport != "smtp" || bounce.req.Nexthop != "example.org" {
		t.Errorf("DSN routed to %s %q", bounce.transport, bounce.req.Nexthop)
	}
	if !strings.Contains(h.log.String(), string(id)+": sender non-delivery notification: "+string(e.ID)) {
		t.Errorf("log lacks the notification line:\n%s", h.log.String())
	}
	r := parseDSN(t, bounce.msg)
	if r.header.Get("To") != "<sender@example.org>" {
		t.Errorf("DSN To: %q", r.header.Get("To"))
	}
	if got := r.perMessage.Get("X-Postern-Queue-ID"); got != string(id) {
		t.Errorf("DSN names queue ID %q, want %s", got, id)
	}
	if len(r.perRcpt) != 2 {
		t.Fatalf("DSN has %d recipient blocks", len(r.perRcpt))
	}
	byFinal := map[string]textproto.MIMEHeader{}
	for _, b := range r.perRcpt {
		byFinal[b.Get("Final-Recipient")] = b
	}
	local, remote := byFinal["rfc822; nobody@example.test"], byFinal["rfc822; x@remote.example"]
	if local == nil || remote == nil {
		t.Fatalf("DSN recipients %v", r.perRcpt)
	}
	for name, want := range map[string]string{"Action": "failed", "Status": "5.1.1", "Diagnostic-Code": `x-unix; unknown user: "nobody"`} {
		if got := local.Get(name); got != want {
			t.Errorf("local recipient %s: %q, want %q", name, got, want)
		}
	}
	if local.Get("Remote-MTA") != "" {
		t.Errorf("local recipient has Remote-MTA %q", local.Get("Remote-MTA"))
	}
	for name, want := range map[string]string{
		"Action": "failed", "Status": "5.1.1", "Remote-MTA": "dns; mx.remote.example",
		"Diagnostic-Code":    "smtp; 550 5.1.1 <x@remote.example>: Recipient address rejected",
		"Original-Recipient": "rfc822;X@remote.example",
	} {
		if got := remote.Get(name); got != want {
			t.Errorf("remote recipient %s: %q, want %q", name, got, want)
		}
	}
	if r.returnedType != "message/rfc822" || r.returned != testMsg {
		t.Errorf("returned %s %q", r.returnedType, r.returned)
	}
}

func TestNoNotification(t *testing.T) {
	tests := []struct {
		name   string
		sender string
		bounce bool
		double bool
		notify string
	}{
		{"null sender", "", false, false, ""},
		{"notify never", "sender@example.org", false, false, "NEVER"},
		{"notify success", "sender@example.org", false, false, "SUCCESS,DELAY"},
		{"double bounce", "", true, true, ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{answer: reply(queue.Failed, "5.1.1", "local", "unknown user")})
			id := h.enqueue(entrySpec{sender: tt.sender, bounce: tt.bounce, double: tt.double,
				rcpts: []queue.Recipient{{Addr: "nobody@example.test", Notify: tt.notify}}})
			h.start()
			h.next()
			h.waitIn(id, queue.Spare)
			if e := h.read(queue.Spare, id); !e.State[0].Notified || e.State[0].Status != queue.Failed {
				t.Errorf("state %+v", e.State[0])
			}
			h.barrier()
			h.noMore()
			for _, q := range []string{queue.Incoming, queue.Active, queue.DeferredQueue} {
				if ids := h.ids(q); len(ids) != 0 {
					t.Errorf("%s/ holds %v", q, ids)
				}
			}
			if strings.Contains(h.log.String(), "notification") {
				t.Errorf("log mentions a notification:\n%s", h.log.String())
			}
		})
	}
}

func TestDoubleBounce(t *testing.T) {
	// Everything fails: the bounce, and then the notice to the postmaster.
	h := newHarness(t, harnessOptions{answer: reply(queue.Failed, "5.1.1", "mx.example.org[192.0.2.7]:25", "550 5.1.1 no such user")})
	id := h.enqueue(entrySpec{sender: "", bounce: true, rcpts: rcpts("sender@example.org"), msg: "Subject: a bounce\r\n\r\nbody\r\n"})
	h.start()
	first := h.next()
	if first.req.ID != string(id) {
		t.Fatalf("first request for %s", first.req.ID)
	}
	dbl := h.next()
	e := dbl.entry
	if e.Sender != "" || !e.Bounce || !e.DoubleBounce || len(e.Recipients) != 1 || e.Recipients[0].Addr != "postmaster@mail.example.test" {
		t.Errorf("double bounce envelope %+v", e.Envelope)
	}
	if dbl.transport != "local" {
		t.Errorf("double bounce went to %s", dbl.transport)
	}
	r := parseDSN(t, dbl.msg)
	if r.header.Get("To") != "<postmaster@mail.example.test>" || len(r.perRcpt) != 1 ||
		r.perRcpt[0].Get("Final-Recipient") != "rfc822; sender@example.org" {
		t.Errorf("double bounce report: To %q, recipients %v", r.header.Get("To"), r.perRcpt)
	}
	h.waitIn(id, queue.Spare)
	h.waitIn(e.ID, queue.Spare)
	h.barrier()
	h.noMore()
	for _, q := range []string{queue.Incoming, queue.Active, queue.DeferredQueue} {
		if ids := h.ids(q); len(ids) != 0 {
			t.Errorf("%s/ holds %v: a failed double bounce must not bounce again", q, ids)
		}
	}
}

// waitAttempts waits until id is in deferred/ with n attempts recorded.
func (h *harness) waitAttempts(id queue.ID, n int) *queue.Entry {
	h.t.Helper()
	var e *queue.Entry
	h.waitFor(fmt.Sprintf("%s deferred after attempt %d", id, n), func() bool {
		w := h.where(id)
		if len(w) != 1 || w[0] != queue.DeferredQueue {
			return false
		}
		e = h.read(queue.DeferredQueue, id)
		return e.Attempts == n
	})
	return e
}

func TestDeferBackoff(t *testing.T) {
	// deferred/ is scanned on its timer (queue_run_delay), made short here;
	// the clock the scans compare with is the test's.
	h := newHarness(t, harnessOptions{frozen: true, config: func(c *Config) { c.QueueRunDelay = 5 * time.Millisecond },
		answer: reply(queue.Deferred, "4.4.1", "mx.remote.example[192.0.2.1]:25", "421 4.4.1 try later")})
	id := h.enqueue(entrySpec{sender: "sender@example.org", rcpts: rcpts("x@remote.example")})
	h.start()
	waits := []time.Duration{300, 600, 1200, 2400, 4000, 4000}
	for n, wait := range waits {
		wait *= time.Second
		s := h.next()
		if s.req.ID != string(id) || fmt.Sprint(s.req.Rcpts) != "[0]" || !s.req.Last {
			t.Fatalf("attempt %d: request %+v", n+1, s.req)
		}
		now := h.clock.Now()
		e := h.waitAttempts(id, n+1)
		if want := now.Add(wait); !e.NextAttempt.Equal(want) {
			t.Errorf("attempt %d: next attempt %v, want now+%v", n+1, e.NextAttempt, wait)
		}
		st, err := os.Stat(h.spool.Path(queue.DeferredQueue, id))
		if err != nil {
			t.Fatal(err)
		}
		if !st.ModTime().Equal(e.NextAttempt) {
			t.Errorf("attempt %d: mtime %v, want the next attempt time %v", n+1, st.ModTime(), e.NextAttempt)
		}
		if s := e.State[0]; s.Status != queue.Deferred || s.DSN != "4.4.1" || s.Reply != "421 4.4.1 try later" {
			t.Errorf("attempt %d: state %+v", n+1, s)
		}
		// Not due yet: a scan leaves it alone.
		h.clock.Advance(wait - time.Second)
		h.deferredBarrier()
		h.noMore()
		if w := h.where(id); len(w) != 1 || w[0] != queue.DeferredQueue {
			t.Fatalf("attempt %d: taken before it was due (in %v)", n+1, w)
		}
		// Due: the next scan takes it.
		h.clock.Advance(time.Second)
	}
	h.next()
	h.waitAttempts(id, len(waits)+1)
}

func TestExpire(t *testing.T) {
	const lifetime = 5 * 24 * time.Hour
	tests := []struct {
		name    string
		sender  string
		age     time.Duration
		expired bool
		dsn     bool
	}{
		{"expired", "sender@example.org", lifetime + time.Second, true, true},
		{"just expired", "sender@example.org", lifetime, true, true},
		{"not yet", "sender@example.org", lifetime - time.Minute, false, false},
		{"null sender uses bounce lifetime", "", time.Hour + time.Second, true, false},
		{"bounce lifetime is not the sender's", "sender@example.org", time.Hour + time.Second, false, false},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			h := newHarness(t, harnessOptions{frozen: true, config: func(c *Config) { c.BounceLifetime = time.Hour },
				answer: func(s seen) answer {
					if s.entry.Bounce {
						return sent(s)
					}
					return reply(queue.Deferred, "4.4.1", "mx.remote.example[192.0.2.1]:25", "421 4.4.1 try later")(s)
				}})
			id := h.enqueue(entrySpec{sender: tt.sender, rcpts: rcpts("x@remote.example"), arrival: h.clock.Now().Add(-tt.age)})
			h.start()
			h.next()
			if !tt.expired {
				h.waitAttempts(id, 1)
				return
			}
			h.waitIn(id, queue.Spare)
			e := h.read(queue.Spare, id)
			st := e.State[0]
			if st.Status != queue.Failed || st.DSN != "5.4.1" || !st.Notified ||
				!strings.HasPrefix(st.Reply, "message expired after ") || !strings.HasSuffix(st.Reply, "; last error: 421 4.4.1 try later") {
				t.Errorf("expired state %+v", st)
			}
			if !strings.Contains(h.log.String(), "status=expired, returned to sender") {
				t.Errorf("no status=expired log line:\n%s", h.log.String())
			}
			if !tt.dsn {
				h.barrier()
				h.noMore()
				if ids := h.ids(queue.Incoming); len(ids) != 0 {
					t.Errorf("incoming/ holds %v", ids)
				}
				return
			}
			b := h.next()
			if !b.entry.Bounce || b.entry.Recipients[0].Addr != tt.sender {
				t.Fatalf("second request is not the DSN: %+v", b.entry.Envelope)
			}
			r := parseDSN(t, b.msg)
			if len(r.perRcpt) != 1 || r.perRcpt[0].Get("Status") != "5.4.1" || r.perRcpt[0].Get("Remote-MTA") != "dns; mx.remote.example" ||
				!strings.Contains(r.perRcpt[0].Get("Diagnostic-Code"), "message expired after") {
				t.Errorf("DSN recipient block %v", r.perRcpt)
			}
		})
	}
}

// TestExpireWithoutAgent expires recipients no agent ever saw (no smtp
// agent configured), and the DSN, which cannot go out either, waits in
// deferred/.
func TestExpireWithoutAgent(t *testing.T) {
	h := newHarness(t, harnessOptions{frozen: true, agents: []string{"local"}})
	id := h.enqueue(entrySpec{sender: "sender@example.org", rcpts: rcpts("x@remote.example"), arrival: h.clock.Now().Add(-6 * 24 * time.Hour)})
	h.start()
	h.waitIn(id, queue.Spare)
	// The DSN made during the start-up scan waits for the next event
	// (see TestStartupCatchUp); any event will do.
	h.wake(false)
	var dsnID queue.ID
	h.waitFor("the DSN in deferred/", func() bool {
		ids := h.ids(queue.DeferredQueue)
		if len(ids) == 1 {
			dsnID = ids[0]
		}
		return len(ids) == 1
	})
	e := h.read(queue.DeferredQueue, dsnID)
	if e.Sender != "" || !e.Bounce || e.Recipients[0].Addr != "sender@example.org" || e.State[0].DSN != "4.3.0" {
		t.Errorf("DSN entry %+v state %+v", e.Envelope, e.State)
	}
	orig := h.read(queue.Spare, id)
	if st := orig.State[0]; st.Status != queue.Failed || st.DSN != "5.3.0" || st.Relay != "none" || !st.Notified {
		t.Errorf("expired state %+v", st)
	}
}

func TestNoAgentSuspends(t *testing.T) {
	h := newHarness(t, harnessOptions{frozen: true, agents: []string{"local"}})
	id := h.enqueue(entrySpec{sender: "sender@example.org", rcpts: rcpts("a@example.test", "x@remote.example")})
	h.start()
	s := h.next()
	if fmt.Sprint(s.req.Rcpts) != "[0]" || s.req.Last {
		t.Errorf("request %+v: the local part alone, not last", s.req)
	}
	e := h.waitAttempts(id, 1)
	if e.State[0].Status != queue.Sent || e.State[1].Status != queue.Deferred || e.State[1].DSN != "4.3.0" ||
		!strings.Contains(e.State[1].Reply, "no delivery agent") {
		t.Errorf("state %+v", e.State)
	}
}

func TestPartialFailure(t *testing.T) {
	h := newHarness(t, harnessOptions{frozen: true, answer: func(s seen) answer {
		switch {
		case s.entry.Bounce:
			return sent(s)
		case s.transport == "local":
			return reply(queue.Failed, "5.1.1", "local", "unknown user")(s)
		case s.entry.Attempts == 0:
			return reply(queue.Deferred, "4.4.1", "mx.remote.example[192.0.2.1]:25", "421 4.4.1 later")(s)
		}
		return reply(queue.Sent, "2.0.0", "mx.remote.example[192.0.2.1]:25", "250 2.0.0 ok")(s)
	}})
	id := h.enqueue(entrySpec{sender: "sender@example.org", rcpts: rcpts("nobody@example.test", "x@remote.example")})
	h.start()
	var dsn seen
	for range 3 {
		if s := h.next(); s.entry.Bounce {
			dsn = s
		}
	}
	if dsn.entry == nil {
		t.Fatal("no DSN")
	}
	if r := parseDSN(t, dsn.msg); len(r.perRcpt) != 1 || r.perRcpt[0].Get("Final-Recipient") != "rfc822; nobody@example.test" {
		t.Errorf("DSN recipients %v", r.perRcpt)
	}
	e := h.waitAttempts(id, 1)
	if !e.State[0].Notified || e.State[0].Status != queue.Failed || e.State[1].Status != queue.Deferred {
		t.Errorf("state %+v", e.State)
	}
	h.clock.Advance(time.Hour)
	h.wake(true)
	s := h.next()
	if s.req.ID != string(id) || fmt.Sprint(s.req.Rcpts) != "[1]" || !s.req.Last || s.transport != "smtp" {
		t.Errorf("retry %s %+v", s.transport, s.req)
	}
	h.waitIn(id, queue.Spare)
	h.barrier()
	h.noMore()
	if ids := h.ids(queue.Incoming); len(ids) != 0 {
		t.Errorf("a second DSN? incoming/ holds %v", ids)
	}
}

// TestAgentDrop: when an agent's connection breaks before it answers,
// what it recorded stays recorded and the rest is deferred with the
// usual backoff, as Postfix defers for an "unknown mail transport
// error". It used to be dispatched again at once, and an agent that
// broke on the same delivery every time (a reply too large for a frame)
// spun without end.
func TestAgentDrop(t *testing.T) {
	tests := []struct {
		name string
		// first answers the first request; later ones are delivered.
		first answer
		rcpts []string
		// the second request's recipients, "" for none
		retry string
		// recipients qmgr logs as deferred for the break (the agent
		// logged the others)
		logged []string
	}{
		{"nothing recorded", answer{drop: true}, []string{"a@example.test"}, "[0]", []string{"a@example.test"}},
		{"partly recorded", answer{drop: true, record: true, results: []queue.Result{{Status: queue.Sent, DSN: "2.0.0", Relay: "local", Reply: "ok"},
			{Status: queue.Deferred, DSN: "4.2.0", Relay: "local", Reply: "busy"}}},
			[]string{"a@example.test", "b@example.test"}, "[1]", nil},
		{"removed, reply lost", answer{drop: true, record: true, results: []queue.Result{{Status: queue.Sent, DSN: "2.0.0", Relay: "local", Reply: "ok"}}},
			[]string{"a@example.test"}, "", nil},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var calls atomic.Int32
			// The clock runs: qmgr redials an agent after 200 ms.
			h := newHarness(t, harnessOptions{config: func(c *Config) { c.QueueRunDelay = 5 * time.Millisecond },
				answer: func(s seen) answer {
					if calls.Add(1) == 1 {
						return tt.first
					}
					return sent(s)
				}})
			id := h.enqueue(entrySpec{sender: "sender@example.org", rcpts: rcpts(tt.rcpts...)})
			h.start()
			h.next()
			if tt.retry == "" {
				h.waitIn(id, queue.Spare)
				h.barrier()
				h.noMore()
				return
			}
			e := h.waitAttempts(id, 1)
			if wait := e.NextAttempt.Sub(h.clock.Now()); wait < h.cfg.MinBackoff-2*time.Second || wait > h.cfg.MinBackoff {
				t.Errorf("next attempt in %v, want %v", wait, h.cfg.MinBackoff)
			}
			if tt.first.record && e.State[0].Status != queue.Sent {
				t.Errorf("the recorded delivery was lost: %+v", e.State[0])
			}
			// Not due yet: no attempt, however often deferred/ is scanned.
			h.deferredBarrier()
			h.deferredBarrier()
			h.noMore()
			log := h.log.String()
			if !strings.Contains(log, "lost connection with local delivery agent") {
				t.Errorf("log:\n%s", log)
			}
			const why = "dsn=4.3.0, status=deferred (unknown mail transport error: lost connection with local delivery agent)"
			if n := strings.Count(log, why); n != len(tt.logged) {
				t.Errorf("%d recipients logged as deferred for the break, want %v:\n%s", n, tt.logged, log)
			}
			for _, r := range tt.logged {
				if !strings.Contains(log, "to=<"+r+">, relay=none") {
					t.Errorf("log lacks the deferral of %s:\n%s", r, log)
				}
			}
			h.clock.Advance(h.cfg.MinBackoff)
			s := h.next()
			if s.req.ID != string(id) || fmt.Sprint(s.req.Rcpts) != tt.retry || !s.req.Last {
				t.Errorf("retry %+v, want rcpts %s, last", s.req, tt.retry)
			}
			h.waitIn(id, queue.Spare)
			h.barrier()
			h.noMore()
		})
	}
}

// TestAgentDropEveryTime: an agent that breaks the connection on every
// attempt gets one attempt per backoff, not one after the other, and the
// entry does not grow but by an attempt record each time.
func TestAgentDropEveryTime(t *testing.T) {
	var calls atomic.Int32
	h := newHarness(t, harnessOptions{frozen: true, config: func(c *Config) { c.QueueRunDelay = 5 * time.Millisecond },
		answer: func(s seen) answer {
			calls.Add(1)
			return answer{drop: true}
		}})
	id := h.enqueue(entrySpec{sender: "sender@example.org", rcpts: rcpts("a@remote.example")})
	h.start()
	var size int64
	for n, wait := range []time.Duration{300, 600, 1200} {
		wait *= time.Second
		h.next()
		now := h.clock.Now()
		e := h.waitAttempts(id, n+1)
		if !e.NextAttempt.Equal(now.Add(wait)) {
			t.Errorf("attempt %d: next attempt %v, want now+%v", n+1, e.NextAttempt, wait)
		}
		h.deferredBarrier()
		h.noMore()
		st, err := os.Stat(h.spool.Path(queue.DeferredQueue, id))
		if err != nil {
			t.Fatal(err)
		}
		if n > 0 && st.Size()-size > 100 {
			t.Errorf("attempt %d: the entry grew by %d bytes", n+1, st.Size()-size)
		}
		size = st.Size()
		h.clock.Advance(wait)
	}
	if n := calls.Load(); n != 3 {
		t.Errorf("%d attempts, want 3", n)
	}
}

// TestAgentRetry: an agent that stops (a reload restarts it) answers the
// requests it gives up with Retry; they are dispatched again at once,
// not deferred.
func TestAgentRetry(t *testing.T) {
	var calls atomic.Int32
	h := newHarness(t, harnessOptions{frozen: true, answer: func(s seen) answer {
		if calls.Add(1) == 1 {
			return answer{retry: true}
		}
		return sent(s)
	}})
	id := h.enqueue(entrySpec{sender: "sender@example.org", rcpts: rcpts("a@example.test", "b@remote.example")})
	h.start()
	first := []seen{h.next(), h.next()}
	s := h.next()
	if s.req.ID != string(id) || s.entry.Attempts != 0 {
		t.Errorf("request %+v (attempts %d), want the one given up, again", s.req, s.entry.Attempts)
	}
	for _, f := range first {
		if f.transport == s.transport && fmt.Sprint(f.req.Rcpts) != fmt.Sprint(s.req.Rcpts) {
			t.Errorf("sent again %v, first %v", s.req.Rcpts, f.req.Rcpts)
		}
	}
	h.waitIn(id, queue.Spare)
	if strings.Contains(h.log.String(), "deferred") {
		t.Errorf("log:\n%s", h.log.String())
	}
}

func TestRecover(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	var ids []queue.ID
	for range 3 {
		id := h.enqueue(entrySpec{sender: "sender@example.org", rcpts: rcpts("a@example.test")})
		if err := h.spool.Move(id, queue.Incoming, queue.Active); err != nil {
			t.Fatal(err)
		}
		ids = append(ids, id)
	}
	h.m.recover()
	for _, id := range ids {
		if w := h.where(id); len(w) != 1 || w[0] != queue.Incoming {
			t.Errorf("%s in %v after recover, want incoming", id, w)
			continue
		}
		// The attempt was cut short: local is told to look for its own
		// earlier delivery.
		f, err := os.Open(h.spool.Path(queue.Incoming, id))
		if err != nil {
			t.Fatal(err)
		}
		e, err := queue.Read(f, id)
		f.Close()
		if err != nil || !e.Interrupted {
			t.Errorf("%s after recover: interrupted %v, %v", id, e != nil && e.Interrupted, err)
		}
	}
	if !strings.Contains(h.log.String(), "moved 3 entries from active back to incoming") {
		t.Errorf("log:\n%s", h.log.String())
	}
}

// TestRecoverResumes: an entry a previous qmgr left in active/, partly
// delivered, is scheduled again for the rest only.
func TestRecoverResumes(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	id := h.enqueue(entrySpec{sender: "sender@example.org", rcpts: rcpts("a@example.test", "b@example.test", "c@example.test")})
	if err := h.spool.Move(id, queue.Incoming, queue.Active); err != nil {
		t.Fatal(err)
	}
	f, err := os.OpenFile(h.spool.Path(queue.Active, id), os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	err = queue.Append(f, queue.ResultRecord{Result: queue.Result{Rcpt: 1, Status: queue.Sent, DSN: "2.0.0", Relay: "local", Reply: "done"}})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	h.start()
	s := h.next()
	if s.req.ID != string(id) || fmt.Sprint(s.req.Rcpts) != "[0 2]" || !s.req.Last {
		t.Errorf("request %+v, want rcpts [0 2], last", s.req)
	}
	h.waitIn(id, queue.Spare)
}

func TestCorruptEntry(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	id := h.spool.NewID()
	if err := os.WriteFile(h.spool.Path(queue.Incoming, id), []byte("postern-queue 1\ngarbage\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	h.start()
	h.waitIn(id, queue.Corrupt)
	if !strings.Contains(h.log.String(), "moved to corrupt/") {
		t.Errorf("log:\n%s", h.log.String())
	}
}

func TestActiveLimit(t *testing.T) {
	h := newHarness(t, harnessOptions{config: func(c *Config) { c.ActiveLimit = 2 }})
	var ids []queue.ID
	for range 7 {
		ids = append(ids, h.enqueue(entrySpec{sender: "sender@example.org", rcpts: rcpts("a@example.test")}))
	}
	h.start()
	for _, id := range ids {
		h.waitIn(id, queue.Spare)
	}
}

func TestWakeSocket(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	path := filepath.Join(h.root, "public", "qmgr")
	l, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	h.start()
	accepted := make(chan struct{})
	go func() {
		h.m.acceptWakes(t.Context(), l)
		close(accepted)
	}()
	t.Cleanup(func() {
		l.Close()
		<-accepted
	})
	// Committed after the start-up scan: only the wake-up can bring it.
	id := h.enqueue(entrySpec{sender: "sender@example.org", rcpts: rcpts("a@example.test")})
	c, err := ipc.Dial(t.Context(), path, ipc.Hello{Channel: wake.Channel, Version: wake.Version})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.SendFlush(wake.Frame{Type: wake.Type, IDs: []string{string(id)}}); err != nil {
		t.Fatal(err)
	}
	if s := h.next(); s.req.ID != string(id) {
		t.Errorf("request for %s, want %s", s.req.ID, id)
	}
	h.waitIn(id, queue.Spare)
	// A frame with a bad ID ends the connection.
	if err := c.SendFlush(wake.Frame{Type: wake.Type, IDs: []string{"../../etc/passwd"}}); err != nil {
		t.Fatal(err)
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	var ack ipc.Ack
	if err := c.Recv(&ack); err == nil {
		t.Errorf("connection still open after a bad frame")
	}
	// A client for the wrong channel is refused.
	if _, err := ipc.Dial(t.Context(), path, ipc.Hello{Channel: "delivery", Version: 1}); err == nil {
		t.Errorf("wake socket accepted the delivery channel")
	}
}

// TestStartupCatchUp: work that the start-up scan leaves for catchUp (a
// DSN to take, an entry to redo) must not wait for the next event. Here
// a previous qmgr died after the agent recorded a failure but before the
// DSN was queued; the new qmgr queues the DSN during its first scan, and
// then nothing dispatches it until a wake-up or the incoming scan timer
// (qmgr_scan_interval) comes along.
func TestStartupCatchUp(t *testing.T) {
	h := newHarness(t, harnessOptions{})
	id := h.enqueue(entrySpec{sender: "sender@example.org", rcpts: rcpts("nobody@example.test")})
	f, err := os.OpenFile(h.spool.Path(queue.Incoming, id), os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	err = queue.Append(f, queue.ResultRecord{Result: queue.Result{Rcpt: 0, Status: queue.Failed, DSN: "5.1.1", Relay: "local", Reply: "unknown user"}})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	h.start()
	h.waitIn(id, queue.Spare)
	select {
	case s := <-h.seen:
		if !s.entry.Bounce {
			t.Errorf("request %+v is not the DSN", s.req)
		}
	case <-time.After(3 * time.Second):
		t.Errorf("the DSN queued during the start-up scan was not dispatched; incoming/ holds %v", h.ids(queue.Incoming))
	}
}

// TestFlushRetriesDeferred: `postern flush` ("ask the queue manager to
// retry deferred mail now") sends a wake-up with Scan set, but qmgr then
// takes only the deferred entries that are due anyway, so a flush never
// retries anything early.
func TestFlushRetriesDeferred(t *testing.T) {
	h := newHarness(t, harnessOptions{frozen: true, answer: func(s seen) answer {
		if s.entry.Attempts == 0 {
			return reply(queue.Deferred, "4.4.1", "mx.remote.example[192.0.2.1]:25", "421 4.4.1 later")(s)
		}
		return sent(s)
	}})
	id := h.enqueue(entrySpec{sender: "sender@example.org", rcpts: rcpts("x@remote.example")})
	h.start()
	h.next()
	h.waitAttempts(id, 1)
	h.wake(true) // postern flush
	h.barrier()
	if w := h.where(id); len(w) == 1 && w[0] == queue.DeferredQueue {
		t.Fatalf("after flush the entry is still deferred, want it retried")
	}
	// Delivered and recycled: in spare/, or already gone from it, since
	// the harness's own next writer (the barrier's probe, which shares
	// the spool) may have taken the spare file as soon as it was there.
	h.waitFor("the entry recycled", func() bool {
		w := h.where(id)
		return len(w) == 0 || len(w) == 1 && w[0] == queue.Spare
	})
}

// TestAdministrativeExpire: an entry the administrator expired (postern
// queue expire appends the record) is not offered to any agent: every
// recipient still to do fails as expired, one already delivered stays
// delivered, and the sender gets the DSN.
func TestAdministrativeExpire(t *testing.T) {
	h := newHarness(t, harnessOptions{frozen: true, answer: sent})
	id := h.enqueue(entrySpec{sender: "sender@example.org", rcpts: rcpts("x@remote.example", "y@remote.example")})
	f, err := h.spool.OpenEntry(queue.Incoming, id, true)
	if err != nil {
		t.Fatal(err)
	}
	err = queue.Append(f, queue.ResultRecord{Result: queue.Result{Rcpt: 1, Status: queue.Sent, DSN: "2.0.0", Relay: "mx.remote.example[192.0.2.1]:25", Reply: "250 ok"}},
		queue.ExpireRecord{})
	f.Close()
	if err != nil {
		t.Fatal(err)
	}
	h.start()
	h.waitIn(id, queue.Spare)
	e := h.read(queue.Spare, id)
	if st := e.State[0]; st.Status != queue.Failed || st.DSN != "5.4.7" || !st.Notified || st.Reply != "message is administratively expired" {
		t.Errorf("expired recipient %+v", st)
	}
	if st := e.State[1]; st.Status != queue.Sent {
		t.Errorf("delivered recipient %+v", st)
	}
	if !strings.Contains(h.log.String(), "to=<x@remote.example>, relay=none, delay=") || !strings.Contains(h.log.String(), "status=expired, returned to sender (message is administratively expired)") {
		t.Errorf("log:\n%s", h.log.String())
	}
	h.wake(false)
	b := h.next()
	if !b.entry.Bounce || b.entry.Recipients[0].Addr != "sender@example.org" {
		t.Fatalf("the only request is not the DSN: %+v", b.entry.Envelope)
	}
	r := parseDSN(t, b.msg)
	if len(r.perRcpt) != 1 || r.perRcpt[0].Get("Final-Recipient") != "rfc822; x@remote.example" {
		t.Errorf("DSN recipient blocks %v", r.perRcpt)
	}
}

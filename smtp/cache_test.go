package smtp

import (
	"slices"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/queue"
)

func cacheParams(idle, reuse time.Duration) func(*config.Params) {
	return func(p *config.Params) {
		p.SMTPConnectionCacheTimeLimit = config.Duration(idle)
		p.SMTPConnectionReuseTimeLimit = config.Duration(reuse)
	}
}

// TestConnectionReuse: two requests for one nexthop share one TCP
// connection; the second starts with RSET.
func TestConnectionReuse(t *testing.T) {
	s := newFakeServer(t, "PIPELINING")
	e := newTestEnv(t, envOptions{params: cacheParams(10*time.Second, time.Minute)})
	e.res.AddMX("example.net", "mx.example.net", 10)
	e.res.AddHost("mx.example.net", "192.0.2.5")
	e.dialer.route("192.0.2.5:2525", s.addr())
	for i := range 3 {
		id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
		rep := e.handle(id, "example.net", true, 0)
		checkResults(t, rep, want{"sent", "2.0.0", "250 2.0.0 Ok: queued as Q" + string(rune('0'+i))})
		if got := rep.Results[0].Relay; got != "mx.example.net[192.0.2.5]:2525" {
			t.Errorf("relay %q", got)
		}
	}
	if s.Conns() != 1 || s.Rsets() != 2 || len(s.Msgs()) != 3 {
		t.Errorf("%d connections, %d RSETs, %d messages", s.Conns(), s.Rsets(), len(s.Msgs()))
	}
	// The cached session skipped DNS too.
	if n := strings.Count(strings.Join(e.res.Asked(), "\n"), "MX example.net"); n != 1 {
		t.Errorf("%d MX lookups", n)
	}
	d := s.Dialogue()
	if i := slices.Index(d, "C: RSET"); i < 0 || d[i+1] != "S: 250 2.0.0 Ok" || !strings.HasPrefix(d[i+2], "C: MAIL FROM:") {
		t.Errorf("dialogue:\n%s", strings.Join(d, "\n"))
	}
	// RSET goes in the pipelined group, not in a round trip of its own.
	if w := e.dialer.conns[0].Writes(); !slices.ContainsFunc(w, func(s string) bool {
		return strings.HasPrefix(s, "RSET\r\nMAIL FROM:<s@example.org>\r\nRCPT TO:<a@example.net>\r\nDATA\r\n")
	}) {
		t.Errorf("writes %q", w)
	}
	// Closing the agent says QUIT.
	e.agent.Close()
	s.waitFor(t, "C: QUIT")
}

// TestConnectionReuseAfterFailure: a session whose transaction failed is
// still clean and reused.
func TestConnectionReuseAfterFailure(t *testing.T) {
	s := newFakeServer(t, "PIPELINING")
	s.reply = func(verb, arg string) string {
		if verb == "RCPT" && strings.Contains(arg, "nobody") {
			return "550 5.1.1 unknown"
		}
		return ""
	}
	e := newTestEnv(t, envOptions{params: cacheParams(10*time.Second, time.Minute)})
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "nobody@example.net")
	checkResults(t, e.handle(id, nexthopOf(s), true, 0), want{"failed", "5.1.1", "550 5.1.1 unknown"})
	id = e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	checkResults(t, e.handle(id, nexthopOf(s), true, 0), want{"sent", "2.0.0", "250"})
	if s.Conns() != 1 || s.Rsets() != 1 {
		t.Errorf("%d connections, %d RSETs", s.Conns(), s.Rsets())
	}
}

// TestConnectionReuseRSETFails: a server that went away while the
// session was idle costs a new connection, not the delivery.
func TestConnectionReuseRSETFails(t *testing.T) {
	s := newFakeServer(t, "PIPELINING")
	s.reply = func(verb, arg string) string {
		if verb == "RSET" {
			return "421 4.4.2 fake.example.test Error: timeout exceeded"
		}
		return ""
	}
	e := newTestEnv(t, envOptions{params: cacheParams(10*time.Second, time.Minute)})
	for range 2 {
		id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
		checkResults(t, e.handle(id, nexthopOf(s), true, 0), want{"sent", "2.0.0", "250"})
	}
	if s.Conns() != 2 || s.Rsets() != 1 {
		t.Errorf("%d connections, %d RSETs", s.Conns(), s.Rsets())
	}
	if strings.Contains(e.log.String(), "RSET") {
		t.Errorf("the dead cached session shows in the log:\n%s", e.log.String())
	}

	// When the new connection fails too, the result is that failure: the
	// dead cached session was no session.
	e.res.AddHost("mx.example.net", "192.0.2.5")
	e.dialer.route("192.0.2.5:2525", s.addr())
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	checkResults(t, e.handle(id, "[mx.example.net]", true, 0), want{"sent", "2.0.0", "250"})
	e.dialer.route("192.0.2.5:2525", closedPort(t))
	id = e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep := e.handle(id, "[mx.example.net]", true, 0)
	checkResults(t, rep, want{"deferred", "4.4.1", "connect to mx.example.net[192.0.2.5]:2525: Connection refused"})
	if !rep.Unreachable {
		t.Error("not unreachable")
	}
}

// TestConnectionCacheLimits: an idle session is closed after the idle
// time; one older than the reuse limit is not reused.
func TestConnectionCacheLimits(t *testing.T) {
	s := newFakeServer(t, "PIPELINING")
	e := newTestEnv(t, envOptions{params: cacheParams(50*time.Millisecond, time.Minute)})
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	e.handle(id, nexthopOf(s), true, 0)
	s.waitFor(t, "C: QUIT") // the idle timer ended it
	id = e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	e.handle(id, nexthopOf(s), true, 0)
	if s.Conns() != 2 || s.Rsets() != 0 {
		t.Errorf("%d connections, %d RSETs", s.Conns(), s.Rsets())
	}

	s2 := newFakeServer(t, "PIPELINING")
	e2 := newTestEnv(t, envOptions{params: cacheParams(10*time.Second, time.Nanosecond)})
	for range 2 {
		id := e2.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
		e2.handle(id, nexthopOf(s2), true, 0)
	}
	if s2.Conns() != 2 || s2.Rsets() != 0 {
		t.Errorf("reuse limit: %d connections, %d RSETs", s2.Conns(), s2.Rsets())
	}
}

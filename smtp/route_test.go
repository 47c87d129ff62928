package smtp

import (
	"math/rand/v2"
	"net"
	"net/netip"
	"slices"
	"strings"
	"testing"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/dns"
	"postern.dev/postern/libmail/queue"
)

func TestParseNexthop(t *testing.T) {
	for _, tc := range []struct {
		in   string
		want destination
		err  bool
	}{
		{in: "example.org", want: destination{nexthop: "example.org", host: "example.org", mx: true, port: 25}},
		{in: "Example.ORG.", want: destination{nexthop: "example.org.", host: "example.org", mx: true, port: 25}},
		{in: "example.org:587", want: destination{nexthop: "example.org:587", host: "example.org", mx: true, port: 587}},
		{in: "[mx.example.org]", want: destination{nexthop: "[mx.example.org]", host: "mx.example.org", port: 25}},
		{in: "[mx.example.org]:2525", want: destination{nexthop: "[mx.example.org]:2525", host: "mx.example.org", port: 2525}},
		{in: "[192.0.2.1]:26", want: destination{nexthop: "[192.0.2.1]:26", host: "192.0.2.1", port: 26}},
		{in: "[2001:db8::1]", want: destination{nexthop: "[2001:db8::1]", host: "2001:db8::1", port: 25}},
		{in: "[ipv6:2001:db8::1]:27", want: destination{nexthop: "[ipv6:2001:db8::1]:27", host: "ipv6:2001:db8::1", port: 27}},
		{in: "", err: true},
		{in: "[mx.example.org", err: true},
		{in: "example.org:0", err: true},
		{in: "example.org:x", err: true},
		{in: "[mx.example.org]x", err: true},
		{in: ":25", err: true},
	} {
		d, err := parseNexthop(tc.in, 25)
		if tc.err {
			if err == nil {
				t.Errorf("parseNexthop(%q) = %+v, want an error", tc.in, d)
			}
			continue
		}
		if err != nil || d != tc.want {
			t.Errorf("parseNexthop(%q) = %+v, %v; want %+v", tc.in, d, err, tc.want)
		}
	}
}

// TestMXOrderAndFallback: servers are tried by preference; the first
// refuses connections, the second takes the mail.
func TestMXOrderAndFallback(t *testing.T) {
	s := newFakeServer(t, "PIPELINING")
	e := newTestEnv(t, envOptions{})
	e.res.AddMX("example.net", "mx3.example.net", 30)
	e.res.AddMX("example.net", "mx1.example.net", 10)
	e.res.AddMX("example.net", "mx2.example.net", 20)
	e.res.AddHost("mx1.example.net", "192.0.2.1")
	e.res.AddHost("mx2.example.net", "192.0.2.2")
	e.res.AddHost("mx3.example.net", "192.0.2.3")
	closed := closedPort(t)
	e.dialer.route("192.0.2.1:2525", closed)
	e.dialer.route("192.0.2.2:2525", s.addr())
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep := e.handle(id, "example.net", true, 0)
	checkResults(t, rep, want{"sent", "2.0.0", "250"})
	if got := rep.Results[0].Relay; got != "mx2.example.net[192.0.2.2]:2525" {
		t.Errorf("relay %q", got)
	}
	if d := e.dialer.Dialed(); !slices.Equal(d, []string{"192.0.2.1:2525", "192.0.2.2:2525"}) {
		t.Errorf("dialed %q", d)
	}
	if !strings.Contains(e.log.String(), "connect to mx1.example.net[192.0.2.1]:2525: Connection refused") {
		t.Errorf("log:\n%s", e.log.String())
	}
}

// TestAllUnreachable: no server answers: deferred 4.4.1, Unreachable.
func TestAllUnreachable(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.res.AddMX("example.net", "mx1.example.net", 10)
	e.res.AddMX("example.net", "mx2.example.net", 20)
	e.res.AddHost("mx1.example.net", "192.0.2.1")
	e.res.AddHost("mx2.example.net", "192.0.2.2", "2001:db8::2")
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net", "b@example.net")
	rep := e.handle(id, "example.net", true, 0, 1)
	w := want{"deferred", "4.4.1", "connect to mx2.example.net[2001:db8::2]:2525: Connection refused"}
	checkResults(t, rep, w, w)
	if !rep.Unreachable || rep.Results[0].Relay != "none" {
		t.Errorf("reply %+v", rep)
	}
	if d := e.dialer.Dialed(); len(d) != 3 {
		t.Errorf("dialed %q", d)
	}
	if !strings.Contains(e.log.String(), "relay=none, ") {
		t.Errorf("log:\n%s", e.log.String())
	}
}

func TestSortMXShufflesEqualPreferences(t *testing.T) {
	mx := []dns.MX{{Host: "c.", Pref: 20}, {Host: "a", Pref: 10}, {Host: "b", Pref: 10}, {Host: "d", Pref: 30}}
	seen := map[string]bool{}
	for seed := range uint64(32) {
		a := &Agent{rand: rand.New(rand.NewPCG(seed, 2))}
		var names []string
		for _, h := range a.sortMX(mx) {
			names = append(names, h.name)
		}
		order := strings.Join(names, ",")
		if order != "a,b,c,d" && order != "b,a,c,d" {
			t.Fatalf("order %s", order)
		}
		seen[order] = true
	}
	if len(seen) != 2 {
		t.Errorf("equal preferences never shuffled: %v", seen)
	}
}

func TestNullMX(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.res.AddMX("example.net", "", 0)
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep := e.handle(id, "example.net", true, 0)
	checkResults(t, rep, want{"failed", "5.1.10", "Recipient address has null MX"})
	if rep.Unreachable || len(e.dialer.Dialed()) != 0 {
		t.Errorf("unreachable %v, dialed %q", rep.Unreachable, e.dialer.Dialed())
	}
}

func TestNoMXUsesAddress(t *testing.T) {
	s := newFakeServer(t, "PIPELINING")
	e := newTestEnv(t, envOptions{})
	e.res.AddHost("example.net", "192.0.2.7")
	e.dialer.route("192.0.2.7:2525", s.addr())
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep := e.handle(id, "example.net", true, 0)
	checkResults(t, rep, want{"sent", "2.0.0", "250"})
	if got := rep.Results[0].Relay; got != "example.net[192.0.2.7]:2525" {
		t.Errorf("relay %q", got)
	}
}

func TestHostNotFound(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.res.AddMX("example.net", "mx.example.net", 10)
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep := e.handle(id, "example.net", true, 0)
	checkResults(t, rep, want{"failed", "5.4.4", "Host or domain name not found. Name service error for name=mx.example.net type=A: Host not found"})
	id = e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@nowhere.example")
	rep = e.handle(id, "nowhere.example", true, 0)
	checkResults(t, rep, want{"failed", "5.4.4", "name=nowhere.example type=A"})
}

func TestDNSTemporaryFailure(t *testing.T) {
	e := newTestEnv(t, envOptions{})
	e.res.SetTemporaryFailure("example.net", true)
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep := e.handle(id, "example.net", true, 0)
	checkResults(t, rep, want{"deferred", "4.4.3", "type=MX: Host not found, try again"})
	if !rep.Unreachable {
		t.Error("not unreachable")
	}
	e.res.SetTemporaryFailure("example.net", false)
	e.res.AddMX("example.net", "mx.example.net", 10)
	e.res.SetTemporaryFailure("mx.example.net", true)
	rep = e.handle(id, "example.net", true, 0)
	checkResults(t, rep, want{"deferred", "4.4.3", "name=mx.example.net type=A: Host not found, try again"})
}

// TestLoopToSelf: the best MX is this machine, by name or by address.
func TestLoopToSelf(t *testing.T) {
	self := &Self{Names: []string{"mail.example.test"}, Interfaces: []netip.Addr{netip.MustParseAddr("192.0.2.99")},
		Listen: []netip.AddrPort{netip.MustParseAddrPort("0.0.0.0:2525")}}
	e := newTestEnv(t, envOptions{self: self})
	e.res.AddMX("byname.example", "MAIL.example.test.", 10)
	e.res.AddHost("mail.example.test", "192.0.2.50")
	e.res.AddMX("byaddr.example", "mx.byaddr.example", 10)
	e.res.AddHost("mx.byaddr.example", "192.0.2.99")
	for _, domain := range []string{"byname.example", "byaddr.example"} {
		id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@"+domain)
		rep := e.handle(id, domain, true, 0)
		checkResults(t, rep, want{"failed", "5.4.6", "mail for " + domain + " loops back to myself"})
	}
	if len(e.dialer.Dialed()) != 0 {
		t.Errorf("dialed %q", e.dialer.Dialed())
	}

	// A backup MX (this machine) sends to the better one only.
	s := newFakeServer(t, "PIPELINING")
	e.res.AddMX("backup.example", "primary.example", 10)
	e.res.AddMX("backup.example", "mail.example.test", 20)
	e.res.AddMX("backup.example", "other.example", 30)
	e.res.AddHost("primary.example", "192.0.2.10")
	e.res.AddHost("other.example", "192.0.2.11")
	e.dialer.route("192.0.2.10:2525", closedPort(t))
	e.dialer.route("192.0.2.11:2525", s.addr())
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@backup.example")
	rep := e.handle(id, "backup.example", true, 0)
	checkResults(t, rep, want{"deferred", "4.4.1", "connect to primary.example[192.0.2.10]:2525"})
	if d := e.dialer.Dialed(); !slices.Equal(d, []string{"192.0.2.10:2525"}) {
		t.Errorf("dialed %q", d)
	}

	// Another port on this machine is not a loop: a content filter.
	s2 := newFakeServer(t, "PIPELINING")
	self.Interfaces = append(self.Interfaces, netip.MustParseAddr("127.0.0.1"))
	id = e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep = e.handle(id, nexthopOf(s2), true, 0)
	checkResults(t, rep, want{"sent", "2.0.0", "250"})
}

func TestSelfIs(t *testing.T) {
	s := &Self{Names: []string{"mx.example.org"}, Interfaces: []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")},
		Listen: []netip.AddrPort{netip.MustParseAddrPort("[::]:25"), netip.MustParseAddrPort("127.0.0.1:587")}}
	for _, tc := range []struct {
		name string
		addr string
		port int
		want bool
	}{
		{"mx.example.org.", "", 25, true},
		{"MX.example.org", "", 587, true},
		{"mx.example.org", "", 2525, false},
		{"", "192.0.2.1", 25, true},
		{"", "::ffff:192.0.2.1", 25, true},
		{"", "2001:db8::1", 25, true},
		{"", "192.0.2.2", 25, false},
		{"", "127.0.0.1", 587, true},
		{"", "127.0.0.1", 25, false},
		{"", "192.0.2.1", 587, false},
	} {
		var ip netip.Addr
		if tc.addr != "" {
			ip = netip.MustParseAddr(tc.addr)
		}
		if got := s.Is(tc.name, ip, tc.port); got != tc.want {
			t.Errorf("Is(%q, %s, %d) = %v", tc.name, tc.addr, tc.port, got)
		}
	}
	cfg := config.Default(config.Options{Hostname: "mx.example.org"})
	ls, err := LocalSelf(cfg, &cfg.Params)
	if err != nil {
		t.Fatal(err)
	}
	if !ls.Is("", netip.MustParseAddr("127.0.0.1"), 25) || ls.Is("", netip.MustParseAddr("127.0.0.1"), 2525) || !ls.Is("mx.example.org", netip.Addr{}, 25) {
		t.Errorf("LocalSelf %+v", ls)
	}
}

// TestGreetingRefusedNextHost: a 5xx greeting moves on to the next MX;
// when every server refuses, the mail is deferred and the destination
// unreachable.
func TestGreetingRefusedNextHost(t *testing.T) {
	bad := newFakeServer(t)
	bad.greeting = "554 5.7.1 You are not welcome"
	bad4 := newFakeServer(t)
	bad4.greeting = "421 4.3.2 Busy"
	good := newFakeServer(t, "PIPELINING")
	e := newTestEnv(t, envOptions{})
	e.res.AddMX("example.net", "mx1.example.net", 10)
	e.res.AddMX("example.net", "mx2.example.net", 20)
	e.res.AddMX("example.net", "mx3.example.net", 30)
	e.res.AddHost("mx1.example.net", "192.0.2.1")
	e.res.AddHost("mx2.example.net", "192.0.2.2")
	e.res.AddHost("mx3.example.net", "192.0.2.3")
	e.dialer.route("192.0.2.1:2525", bad.addr())
	e.dialer.route("192.0.2.2:2525", bad4.addr())
	e.dialer.route("192.0.2.3:2525", good.addr())
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep := e.handle(id, "example.net", true, 0)
	checkResults(t, rep, want{"sent", "2.0.0", "250"})
	if !strings.Contains(e.log.String(), "host mx1.example.net[192.0.2.1]:2525 refused to talk to me: 554 5.7.1 You are not welcome") {
		t.Errorf("log:\n%s", e.log.String())
	}

	e.dialer.route("192.0.2.3:2525", bad.addr())
	id = e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep = e.handle(id, "example.net", true, 0)
	checkResults(t, rep, want{"deferred", "4.7.1", "554 5.7.1 You are not welcome"})
	if !rep.Unreachable || rep.Results[0].Relay != "mx3.example.net[192.0.2.3]:2525" {
		t.Errorf("reply %+v", rep)
	}
}

// TestSoftFailureTriesBackup: a recipient the primary defers goes to the
// backup MX, as in Postfix.
func TestSoftFailureTriesBackup(t *testing.T) {
	primary := newFakeServer(t, "PIPELINING")
	primary.reply = func(verb, arg string) string {
		if verb == "RCPT" && strings.Contains(arg, "grey") {
			return "451 4.7.1 Greylisted"
		}
		return ""
	}
	backup := newFakeServer(t, "PIPELINING")
	e := newTestEnv(t, envOptions{})
	e.res.AddMX("example.net", "mx1.example.net", 10)
	e.res.AddMX("example.net", "mx2.example.net", 20)
	e.res.AddHost("mx1.example.net", "192.0.2.1")
	e.res.AddHost("mx2.example.net", "192.0.2.2")
	e.dialer.route("192.0.2.1:2525", primary.addr())
	e.dialer.route("192.0.2.2:2525", backup.addr())
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "ok@example.net", "grey@example.net")
	rep := e.handle(id, "example.net", true, 0, 1)
	checkResults(t, rep, want{"sent", "2.0.0", "250"}, want{"sent", "2.0.0", "250"})
	if rep.Results[0].Relay != "mx1.example.net[192.0.2.1]:2525" || rep.Results[1].Relay != "mx2.example.net[192.0.2.2]:2525" {
		t.Errorf("relays %+v", rep.Results)
	}

	// When the backup is down too, the primary's reply is the result.
	e.dialer.route("192.0.2.2:2525", closedPort(t))
	id = e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "grey@example.net")
	rep = e.handle(id, "example.net", true, 0)
	checkResults(t, rep, want{"deferred", "4.7.1", "451 4.7.1 Greylisted"})
	if rep.Unreachable {
		t.Error("unreachable after a session")
	}
}

// closedPort returns a loopback address where nothing listens.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

package anvil

import (
	"net/netip"
	"testing"
	"time"

	proto "postern.dev/postern/libmail/ipc/anvil"
)

// clock is a manual clock for the table.
type clock struct{ t time.Time }

func (c *clock) now() time.Time          { return c.t }
func (c *clock) advance(d time.Duration) { c.t = c.t.Add(d) }

func newTestTable() (*Table, *clock) {
	c := &clock{t: time.Date(2026, 11, 23, 14, 0, 0, 0, time.UTC)}
	return NewTable(time.Minute, c.now), c
}

var seq uint64

func apply(t *Table, o *Owner, event, client, user string) proto.Reply {
	r := proto.Request{Type: proto.RequestType, Event: event, Client: client, User: user}
	if event != proto.Disconnect {
		seq++
		r.Seq = seq
	}
	if err := r.Validate(); err != nil {
		panic(err)
	}
	return t.Apply(o, &r)
}

// TestRateWindow: a client's events count from its first one for one
// time unit (anvil_rate_time_unit); the first event after the unit ends
// starts a new one at 1, as in Postfix's anvil. Each rate counts its own
// event, and the connections open are not a rate: they survive the end
// of the unit.
func TestRateWindow(t *testing.T) {
	tb, clk := newTestTable()
	o := NewOwner()
	for i := 1; i <= 3; i++ {
		if r := apply(tb, o, proto.Connect, "192.0.2.1", ""); r.Client.ConnectRate != i || r.Client.Connections != i {
			t.Fatalf("connect %d: %+v", i, r.Client)
		}
		clk.advance(10 * time.Second)
	}
	for i := 1; i <= 4; i++ {
		apply(tb, o, proto.Message, "192.0.2.1", "")
	}
	r := apply(tb, o, proto.AuthFailure, "192.0.2.1", "")
	want := proto.Counts{Connections: 3, ConnectRate: 3, Messages: 4, AuthFailures: 1}
	if r.Client != want || r.Seq != seq || r.Type != proto.ReplyType {
		t.Errorf("reply %+v, want client %+v", r, want)
	}
	// 30 s after the first event the unit is still on; at 60 s it ends.
	clk.advance(29 * time.Second)
	if r := apply(tb, o, proto.Recipient, "192.0.2.1", ""); r.Client.Recipients != 1 || r.Client.Messages != 4 {
		t.Errorf("within the unit: %+v", r.Client)
	}
	clk.advance(time.Second)
	r = apply(tb, o, proto.Auth, "192.0.2.1", "")
	if want := (proto.Counts{Connections: 3, Auths: 1}); r.Client != want {
		t.Errorf("after the unit: %+v, want %+v", r.Client, want)
	}
	// The new unit began with that event.
	clk.advance(59 * time.Second)
	if r := apply(tb, o, proto.Auth, "192.0.2.1", ""); r.Client.Auths != 2 {
		t.Errorf("59 s into the new unit: %+v", r.Client)
	}
}

// TestClientKeys: an IPv6 client counts by its /64, since one subscriber
// picks any address in it; an IPv4 client by its address, the same
// whether it came as IPv4 or IPv4-mapped IPv6.
func TestClientKeys(t *testing.T) {
	tb, _ := newTestTable()
	o := NewOwner()
	for i, c := range []struct {
		client string
		want   int
	}{
		{"2001:db8:1:2::1", 1},
		{"2001:db8:1:2:ffff:ffff:ffff:ffff", 2},
		{"2001:db8:1:3::1", 1},
		{"192.0.2.1", 1},
		{"::ffff:192.0.2.1", 2},
		{"192.0.2.2", 1},
	} {
		if r := apply(tb, o, proto.AuthFailure, c.client, ""); r.Client.AuthFailures != c.want {
			t.Errorf("%d: %s: %d failures, want %d", i, c.client, r.Client.AuthFailures, c.want)
		}
	}
	for a, want := range map[string]string{"2001:db8:1:2:3:4:5:6": "2001:db8:1:2::/64", "::ffff:10.0.0.1": "10.0.0.1", "fe80::1%eth0": "fe80::/64", "10.0.0.1": "10.0.0.1"} {
		if got := ClientKey(netip.MustParseAddr(a)); got != want {
			t.Errorf("ClientKey(%s) = %s, want %s", a, got, want)
		}
	}
}

// TestUsers: a user's messages and recipients count apart from its
// client's, and both come back in one reply; a client's counts do not
// move for events reported for a user only (an exempt client).
func TestUsers(t *testing.T) {
	tb, _ := newTestTable()
	o := NewOwner()
	apply(tb, o, proto.Message, "192.0.2.1", "demo@example.test")
	apply(tb, o, proto.Message, "192.0.2.2", "demo@example.test")
	r := apply(tb, o, proto.Message, "", "demo@example.test")
	if r.User.Messages != 3 || r.Client != (proto.Counts{}) {
		t.Errorf("user only: %+v", r)
	}
	r = apply(tb, o, proto.Recipient, "192.0.2.1", "demo@example.test")
	if r.User.Recipients != 1 || r.Client.Messages != 1 || r.Client.Recipients != 1 {
		t.Errorf("client and user: %+v", r)
	}
	// A user named like an address is not that client.
	if r := apply(tb, o, proto.Message, "", "192.0.2.1"); r.User.Messages != 1 {
		t.Errorf("user 192.0.2.1: %+v", r)
	}
}

// TestConnectionsReleased: an open connection counts until its end is
// reported, or until the smtpd connection that reported it closes
// (Release: that smtpd stopped or crashed). An smtpd cannot end another
// one's connections, nor take a count below zero.
func TestConnectionsReleased(t *testing.T) {
	tb, _ := newTestTable()
	a, b := NewOwner(), NewOwner()
	for range 3 {
		apply(tb, a, proto.Connect, "192.0.2.1", "")
	}
	apply(tb, b, proto.Connect, "192.0.2.1", "")
	apply(tb, b, proto.Connect, "2001:db8::1", "")
	// b reports ends it does not own: ignored.
	for range 5 {
		apply(tb, b, proto.Disconnect, "192.0.2.9", "")
	}
	apply(tb, a, proto.Disconnect, "192.0.2.1", "")
	if r := apply(tb, b, proto.Connect, "192.0.2.1", ""); r.Client.Connections != 4 {
		t.Fatalf("open connections %d, want 4 (a 2, b 2)", r.Client.Connections)
	}
	// a crashes.
	tb.Release(a)
	if r := apply(tb, b, proto.Auth, "192.0.2.1", ""); r.Client.Connections != 2 {
		t.Errorf("after a's release: %d open, want b's 2", r.Client.Connections)
	}
	// b ends its connections one by one, and once more than it has.
	for range 3 {
		apply(tb, b, proto.Disconnect, "192.0.2.1", "")
	}
	if r := apply(tb, b, proto.Auth, "192.0.2.1", ""); r.Client.Connections != 0 {
		t.Errorf("after b's ends: %d open", r.Client.Connections)
	}
	tb.Release(b)
	if r := apply(tb, NewOwner(), proto.Connect, "2001:db8::2", ""); r.Client.Connections != 1 {
		t.Errorf("IPv6 /64 after b's release: %d open, want 1", r.Client.Connections)
	}
}

// TestSweep: a client or user is forgotten once its time unit is over
// and it has no connection open; one with a connection open is kept,
// its rates begun again at its next event.
func TestSweep(t *testing.T) {
	tb, clk := newTestTable()
	o := NewOwner()
	apply(tb, o, proto.Connect, "192.0.2.1", "")
	apply(tb, o, proto.Message, "192.0.2.2", "demo@example.test")
	if n := tb.Sweep(); n != 3 {
		t.Fatalf("%d entries right away, want 3", n)
	}
	clk.advance(time.Minute)
	if n := tb.Sweep(); n != 1 {
		t.Errorf("%d entries after the unit, want 1 (the open connection)", n)
	}
	apply(tb, o, proto.Disconnect, "192.0.2.1", "")
	clk.advance(time.Minute)
	if n := tb.Sweep(); n != 0 {
		t.Errorf("%d entries once closed and over, want 0", n)
	}
}

package anvil

import (
	"net/netip"
	"sync"
	"time"

	proto "postern.dev/postern/libmail/ipc/anvil"
)

// Table holds the counters: per client (an IPv4 address, or an IPv6
// /64) and per authenticated user, the connections open now and the
// events of the current time unit. It is safe for concurrent use; every
// smtpd connection's goroutine applies its events to the one table.
type Table struct {
	unit time.Duration
	now  func() time.Time

	mu      sync.Mutex
	entries map[key]*entry
}

// key names a counter: a client's address key, or a user.
type key struct {
	user bool
	name string
}

// entry is one client's or user's counts. The rates belong to the time
// unit that began at start; the first event after it ends begins a new
// one (Postfix's anvil does the same, so limits read as in Postfix:
// "at most N per anvil_rate_time_unit").
type entry struct {
	start time.Time
	c     proto.Counts
}

// Owner is one smtpd connection to anvil. The client connections it
// reported belong to it, so that they are given back when it closes,
// whether or not their ends were reported: an smtpd that crashed with
// clients connected must not keep them counted for ever.
type Owner struct {
	conns map[key]int
}

// NewOwner returns an owner with no connections.
func NewOwner() *Owner { return &Owner{conns: map[key]int{}} }

// NewTable returns an empty table whose rates count per unit of time,
// on the clock now.
func NewTable(unit time.Duration, now func() time.Time) *Table {
	return &Table{unit: unit, now: now, entries: map[key]*entry{}}
}

// ClientKey is what anvil counts a client address under: the address,
// IPv4 unmapped from IPv6, and for IPv6 its /64, since one subscriber
// usually holds a whole /64 and picks any address in it.
func ClientKey(a netip.Addr) string {
	a = a.Unmap().WithZone("")
	if a.Is6() {
		p, _ := a.Prefix(64)
		return p.String()
	}
	return a.String()
}

// Apply counts r (already validated) for owner o and returns the counts
// after it. A Disconnect has no answer; its reply is the zero Reply.
func (t *Table) Apply(o *Owner, r *proto.Request) proto.Reply {
	rep := proto.Reply{Type: proto.ReplyType, Seq: r.Seq}
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	var ck key
	if r.Client != "" {
		a, _ := netip.ParseAddr(r.Client)
		ck = key{name: ClientKey(a)}
	}
	if r.Event == proto.Disconnect {
		t.disconnect(o, ck)
		return proto.Reply{}
	}
	if r.Client != "" {
		e := t.entry(ck, now)
		switch r.Event {
		case proto.Connect:
			e.c.ConnectRate++
			e.c.Connections++
			o.conns[ck]++
		case proto.Message:
			e.c.Messages++
		case proto.Recipient:
			e.c.Recipients++
		case proto.Auth:
			e.c.Auths++
		case proto.AuthFailure:
			e.c.AuthFailures++
		}
		rep.Client = e.c
	}
	if r.User != "" {
		e := t.entry(key{user: true, name: r.User}, now)
		switch r.Event {
		case proto.Message:
			e.c.Messages++
		case proto.Recipient:
			e.c.Recipients++
		}
		rep.User = e.c
	}
	return rep
}

// entry returns k's entry, made or with its rates begun again if its
// time unit is over; t.mu is held.
func (t *Table) entry(k key, now time.Time) *entry {
	e := t.entries[k]
	if e == nil {
		e = &entry{start: now}
		t.entries[k] = e
	} else if !now.Before(e.start.Add(t.unit)) {
		e.start = now
		e.c = proto.Counts{Connections: e.c.Connections}
	}
	return e
}

// disconnect ends one of o's connections from k; one o did not report is
// ignored, so a confused or hostile peer cannot take another's places.
func (t *Table) disconnect(o *Owner, k key) {
	if o.conns[k] == 0 {
		return
	}
	if o.conns[k]--; o.conns[k] == 0 {
		delete(o.conns, k)
	}
	if e := t.entries[k]; e != nil && e.c.Connections > 0 {
		e.c.Connections--
	}
}

// Release gives back every connection o still holds: its smtpd's
// connection to anvil closed.
func (t *Table) Release(o *Owner) {
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, n := range o.conns {
		if e := t.entries[k]; e != nil {
			e.c.Connections = max(0, e.c.Connections-n)
		}
		delete(o.conns, k)
	}
}

// Sweep forgets the clients and users that have no open connection and
// whose time unit is over, so the table holds only what still counts.
// It returns how many entries are left.
func (t *Table) Sweep() int {
	now := t.now()
	t.mu.Lock()
	defer t.mu.Unlock()
	for k, e := range t.entries {
		if e.c.Connections == 0 && !now.Before(e.start.Add(t.unit)) {
			delete(t.entries, k)
		}
	}
	return len(t.entries)
}

// Len is the number of clients and users counted.
func (t *Table) Len() int {
	t.mu.Lock()
	defer t.mu.Unlock()
	return len(t.entries)
}

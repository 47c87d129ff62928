package qmgr

import (
	"context"
	"strings"
	"time"

	"postern.dev/postern/libmail/address"
	"postern.dev/postern/libmail/queue"
)

// flush is `postern flush` (Postfix's postqueue -f), or with a site
// `postern flush -s SITE` (postqueue -s): the administrator says a peer
// is back, so what qmgr remembers about dead destinations is forgotten,
// and every deferred entry is tried now, due or not. With a site, only
// the destinations named so and the entries with a recipient still to
// deliver there (by its domain or by the next hop it is routed to).
func (m *Manager) flush(ctx context.Context, site string) {
	match := func(s string) bool { return site == "" || strings.EqualFold(s, site) }
	revived := 0
	for _, d := range m.dests {
		if match(d.key.nexthop) && m.now().Before(d.deadUntil) {
			d.deadUntil, d.failures, d.lastError = time.Time{}, 0, ""
			revived++
		}
	}
	what := "all destinations"
	var want func(queue.ID) bool
	if site != "" {
		what = "site " + site
		want = func(id queue.ID) bool { return m.hasRecipientFor(id, match) }
	}
	m.log.Info("flush requested for %s; %d dead destination(s) revived", what, revived)
	m.scan(ctx, queue.Incoming)
	m.flushDeferred(ctx, want)
}

// hasRecipientFor reports whether a deferred entry has a recipient not yet
// done whose domain or next hop match accepts. An entry that cannot be
// read is left to the next scheduled run, which deals with it.
func (m *Manager) hasRecipientFor(id queue.ID, match func(string) bool) bool {
	f, err := m.spool.OpenEntry(queue.DeferredQueue, id, false)
	if err != nil {
		return false
	}
	e, err := queue.Read(f, id)
	f.Close()
	if err != nil {
		return false
	}
	for i, r := range e.Recipients {
		if e.State[i].Done() {
			continue
		}
		_, domain := address.Split(r.Addr)
		if _, nexthop := m.route(r.Addr); match(domain) || match(nexthop) {
			return true
		}
	}
	return false
}

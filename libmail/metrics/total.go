package metrics

import (
	"sort"
	"sync"
)

// Total is the master's sum over processes: the last snapshot of each
// live process (keyed by whatever names a process to the caller) plus
// everything reported by processes that have ended. It is safe for
// concurrent use.
type Total[K comparable] struct {
	mu      sync.Mutex
	live    map[K]Snapshot
	dead    map[string]*Series
	domains map[string]bool
	limit   int
}

// NewTotal returns an empty Total that keeps at most domainLimit distinct
// destination domains apart (DefaultDomainLimit if not positive).
func NewTotal[K comparable](domainLimit int) *Total[K] {
	if domainLimit <= 0 {
		domainLimit = DefaultDomainLimit
	}
	return &Total[K]{live: map[K]Snapshot{}, dead: map[string]*Series{}, domains: map[string]bool{}, limit: domainLimit}
}

// Update records proc's latest snapshot. A process's counts only grow,
// so the latest replaces the one before.
func (t *Total[K]) Update(proc K, s Snapshot) {
	t.mu.Lock()
	t.live[proc] = s
	t.mu.Unlock()
}

// Retire adds what proc reported last to the dead processes' counts.
func (t *Total[K]) Retire(proc K) {
	t.mu.Lock()
	defer t.mu.Unlock()
	s, ok := t.live[proc]
	if !ok {
		return
	}
	delete(t.live, proc)
	t.addTo(t.dead, s)
}

// Sum returns every series summed over live and dead processes, sorted
// by name and labels.
func (t *Total[K]) Sum() []Series {
	t.mu.Lock()
	defer t.mu.Unlock()
	sum := map[string]*Series{}
	for _, se := range t.dead {
		add(sum, key(se.Name, se.Labels), se)
	}
	for _, s := range t.live {
		t.addTo(sum, s)
	}
	out := make([]Series, 0, len(sum))
	for _, se := range sum {
		out = append(out, *se)
	}
	sort.Slice(out, func(i, j int) bool { return key(out[i].Name, out[i].Labels) < key(out[j].Name, out[j].Labels) })
	return out
}

// addTo adds the series of s into m, capping domains. The admitted
// domains stay admitted, so a domain once folded into Other is always
// folded, and every sum only grows. t.mu is held.
func (t *Total[K]) addTo(m map[string]*Series, s Snapshot) {
	for i := range s.Series {
		se := s.Series[i]
		d := Lookup(se.Name)
		if d == nil || len(se.Labels) != len(d.Labels) {
			continue // not from ParseLine; cannot happen
		}
		if j := d.domainIndex(); j >= 0 && se.Labels[j] != admit(t.domains, t.limit, se.Labels[j]) {
			se.Labels = append([]string(nil), se.Labels...)
			se.Labels[j] = Other
		}
		add(m, key(se.Name, se.Labels), &se)
	}
}

// add adds se into m[k].
func add(m map[string]*Series, k string, se *Series) {
	cur := m[k]
	if cur == nil {
		c := *se
		c.Labels = append([]string(nil), se.Labels...)
		c.Buckets = append([]uint64(nil), se.Buckets...)
		m[k] = &c
		return
	}
	cur.Value += se.Value
	cur.Count += se.Count
	cur.Sum += se.Sum
	for i := range cur.Buckets {
		if i < len(se.Buckets) {
			cur.Buckets[i] += se.Buckets[i]
		}
	}
}

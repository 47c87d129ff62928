package metrics

import (
	"strings"
	"sync"
	"unicode/utf8"

	"postern.dev/postern/libmail/maillog"
)

// DefaultDomainLimit is how many distinct destination domains a Set and
// a Total keep apart when the caller does not say (metrics_domain_limit).
const DefaultDomainLimit = 100

// Set is one process's counts. It is safe for concurrent use; a nil Set
// counts nothing.
type Set struct {
	mu      sync.Mutex
	series  map[setKey]*Series
	domains map[string]bool
	limit   int
	changes uint64 // counts every change, so a reporter knows whether to send
}

// Series is one labelled count: a counter's Value, or a histogram's
// Count, Sum and per-bucket counts (not cumulative; Buckets[i] counts
// observations in (bound[i-1], bound[i]], and the last element those
// above every bound).
type Series struct {
	Name    string   `json:"n"`
	Labels  []string `json:"l"`
	Value   float64  `json:"v,omitempty"`
	Count   uint64   `json:"c,omitempty"`
	Sum     float64  `json:"s,omitempty"`
	Buckets []uint64 `json:"b,omitempty"`
}

// NewSet returns an empty Set that keeps at most domainLimit distinct
// destination domains apart (DefaultDomainLimit if not positive).
func NewSet(domainLimit int) *Set {
	if domainLimit <= 0 {
		domainLimit = DefaultDomainLimit
	}
	return &Set{series: map[setKey]*Series{}, domains: map[string]bool{}, limit: domainLimit}
}

// maxLabels is the most labels a metric has; a Set's key holds them
// without joining them into a new string at every event.
const maxLabels = 3

type setKey struct {
	d      *Desc
	labels [maxLabels]string
}

func key(name string, labels []string) string {
	return name + "\xff" + strings.Join(labels, "\xff")
}

// get returns the series of d with labels, made if new. s.mu is held.
func (s *Set) get(d *Desc, labels []string) *Series {
	k := setKey{d: d}
	copy(k.labels[:], labels)
	if se := s.series[k]; se != nil {
		return se
	}
	se := &Series{Name: d.Name, Labels: append([]string(nil), labels...)}
	if d.Kind == Histogram {
		se.Buckets = make([]uint64, len(d.Buckets)+1)
	}
	s.series[k] = se
	return se
}

// check makes labels fit d: as many as d has, valid UTF-8, the domain
// capped. s.mu is held.
func (s *Set) check(d *Desc, labels []string) []string {
	if len(labels) != len(d.Labels) {
		fixed := make([]string, len(d.Labels))
		copy(fixed, labels)
		labels = fixed
	}
	for i, v := range labels {
		if !utf8.ValidString(v) {
			labels[i] = Other
		}
	}
	if i := d.domainIndex(); i >= 0 {
		labels[i] = admit(s.domains, s.limit, labels[i])
	}
	return labels
}

// admit returns domain if it is already among seen or there is room for
// it (then adding it), Other otherwise.
func admit(seen map[string]bool, limit int, domain string) string {
	if domain == Other || seen[domain] {
		return domain
	}
	if len(seen) >= limit {
		return Other
	}
	seen[domain] = true
	return domain
}

// Inc adds one to the counter d with the label values given in d's
// order.
func (s *Set) Inc(d *Desc, labels ...string) { s.Add(d, 1, labels...) }

// Add adds v (not negative) to the counter d.
func (s *Set) Add(d *Desc, v float64, labels ...string) {
	if s == nil || v < 0 {
		return
	}
	s.mu.Lock()
	s.get(d, s.check(d, labels)).Value += v
	s.changes++
	s.mu.Unlock()
}

// Observe records v in the histogram d.
func (s *Set) Observe(d *Desc, v float64, labels ...string) {
	if s == nil {
		return
	}
	i := 0
	for i < len(d.Buckets) && v > d.Buckets[i] {
		i++
	}
	s.mu.Lock()
	se := s.get(d, s.check(d, labels))
	se.Count++
	se.Sum += v
	se.Buckets[i]++
	s.changes++
	s.mu.Unlock()
}

// Snapshot returns a copy of every series, for the master.
func (s *Set) Snapshot() Snapshot {
	snap, _ := s.SnapshotChanges()
	return snap
}

// SnapshotChanges returns the snapshot and the number of changes it
// includes, so that a periodic reporter can skip sending when nothing
// changed since its last report.
func (s *Set) SnapshotChanges() (Snapshot, uint64) {
	if s == nil {
		return Snapshot{Version: WireVersion}, 0
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	out := Snapshot{Version: WireVersion, Series: make([]Series, 0, len(s.series))}
	for _, se := range s.series {
		c := *se
		c.Labels = append([]string(nil), se.Labels...)
		c.Buckets = append([]uint64(nil), se.Buckets...)
		out.Series = append(out.Series, c)
	}
	return out, s.changes
}

// Domain returns the domain part of an address, lowercased, for the
// domain label ("" for an address without one, such as postmaster).
func Domain(addr string) string {
	i := strings.LastIndexByte(addr, '@')
	if i < 0 {
		return ""
	}
	return strings.ToLower(addr[i+1:])
}

// Delivery counts one delivery result as its to= log line shows it, the
// way pflogsumm reads that line: status sent (forwarded when its text
// says "forwarded as"), deferred, bounced or expired, for the recipient's
// domain, by transport; a delivery's delay goes into the latency
// histogram.
func (s *Set) Delivery(transport string, line maillog.Delivery) {
	if s == nil {
		return
	}
	var d *Desc
	switch line.Status {
	case "sent":
		d = Delivered
		if strings.Contains(line.Reply, "forwarded as ") {
			d = Forwarded
		}
		s.Observe(DeliveryDelay, line.Delay.Seconds(), transport)
	case "deferred":
		d = Deferred
	case "bounced":
		d = Bounced
	case "expired":
		d = Expired
	default:
		return
	}
	s.Inc(d, transport, Domain(line.To))
}

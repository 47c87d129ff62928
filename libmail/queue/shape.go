package queue

import (
	"sort"
	"strings"
	"time"

	"postern.dev/postern/libmail/address"
)

// Shape is Postfix's qshape: how many messages wait for each destination
// domain, by age. Buckets[i] is the upper bound of column i (5, 10, 20,
// ... minutes, each twice the one before, as qshape's defaults); the last
// column counts everything older than the last bound.
type Shape struct {
	Buckets []int       `json:"buckets"` // upper bounds in minutes; one more column follows, for older
	Total   ShapeRow    `json:"total"`
	Domains []*ShapeRow `json:"domains"` // by total, largest first, then by name

	index map[string]*ShapeRow
}

// ShapeRow is one line of a Shape.
type ShapeRow struct {
	Domain string `json:"domain,omitempty"`
	Total  int    `json:"total"`
	Counts []int  `json:"counts"` // len(Buckets)+1
}

// NewShape returns an empty shape of n age columns (at least 2): n-1
// bounds, the first of first minutes and each following one twice the
// one before, and a last column for older messages (qshape -t and -b;
// qshape's defaults, 5 and 10, make 5 10 20 ... 1280 and 1280+).
func NewShape(first, n int) *Shape {
	n = max(n, 2) - 1
	s := &Shape{Buckets: make([]int, n), Domains: []*ShapeRow{}, index: map[string]*ShapeRow{}}
	for i, b := 0, first; i < n; i, b = i+1, b*2 {
		s.Buckets[i] = b
	}
	s.Total.Counts = make([]int, n+1)
	return s
}

// Add counts a message by its age at now: once in the total and once for
// each domain among its recipients not done yet. A message whose
// recipients are all done is not counted (qshape counts what waits).
func (s *Shape) Add(sum *Summary, now time.Time) {
	col := s.column(now.Sub(sum.ArrivalTime()))
	seen := map[string]bool{}
	for _, r := range sum.Recipients {
		if r.Done {
			continue
		}
		_, d := address.Split(r.Address)
		d = strings.ToLower(d)
		if d == "" {
			d = "(local)"
		}
		if seen[d] {
			continue
		}
		seen[d] = true
		row := s.index[d]
		if row == nil {
			row = &ShapeRow{Domain: d, Counts: make([]int, len(s.Buckets)+1)}
			s.index[d] = row
			s.Domains = append(s.Domains, row)
		}
		row.Total++
		row.Counts[col]++
	}
	if len(seen) > 0 {
		s.Total.Total++
		s.Total.Counts[col]++
	}
}

// Sort orders the domains as qshape does: the most messages first.
func (s *Shape) Sort() {
	sort.SliceStable(s.Domains, func(i, j int) bool {
		if s.Domains[i].Total != s.Domains[j].Total {
			return s.Domains[i].Total > s.Domains[j].Total
		}
		return s.Domains[i].Domain < s.Domains[j].Domain
	})
}

// column is the bucket of a message of age d.
func (s *Shape) column(d time.Duration) int {
	m := d.Minutes()
	for i, b := range s.Buckets {
		if m < float64(b) {
			return i
		}
	}
	return len(s.Buckets)
}

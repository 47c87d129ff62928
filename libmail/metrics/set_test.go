package metrics

import (
	"fmt"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/maillog"
)

func find(t *testing.T, series []Series, name string, labels ...string) Series {
	t.Helper()
	for _, se := range series {
		if se.Name == name && strings.Join(se.Labels, ",") == strings.Join(labels, ",") {
			return se
		}
	}
	t.Fatalf("no series %s%q in %+v", name, labels, series)
	return Series{}
}

func TestSetCounts(t *testing.T) {
	s := NewSet(0)
	s.Inc(Received, "smtp")
	s.Inc(Received, "smtp")
	s.Inc(Received, "submission")
	s.Add(Received, -1, "smtp") // ignored: counters only grow
	s.Delivery("local", maillog.Delivery{To: "a@Example.TEST", Status: "sent", Delay: 300 * time.Millisecond})
	s.Delivery("local", maillog.Delivery{To: "b@example.test", Status: "sent", Reply: "forwarded as X", Delay: 20 * time.Second})
	s.Delivery("outbound", maillog.Delivery{To: "c@remote.test", Status: "deferred"})
	s.Delivery("outbound", maillog.Delivery{To: "c@remote.test", Status: "bounced"})
	s.Delivery("outbound", maillog.Delivery{To: "c@remote.test", Status: "expired"})
	s.Delivery("outbound", maillog.Delivery{To: "c@remote.test", Status: "weird"}) // not counted
	snap := s.Snapshot().Series
	for _, c := range []struct {
		d      *Desc
		labels []string
		want   float64
	}{
		{Received, []string{"smtp"}, 2},
		{Received, []string{"submission"}, 1},
		{Delivered, []string{"local", "example.test"}, 1},
		{Forwarded, []string{"local", "example.test"}, 1},
		{Deferred, []string{"outbound", "remote.test"}, 1},
		{Bounced, []string{"outbound", "remote.test"}, 1},
		{Expired, []string{"outbound", "remote.test"}, 1},
	} {
		if got := find(t, snap, c.d.Name, c.labels...).Value; got != c.want {
			t.Errorf("%s%q = %v, want %v", c.d.Name, c.labels, got, c.want)
		}
	}
	h := find(t, snap, DeliveryDelay.Name, "local")
	if h.Count != 2 || h.Sum != 20.3 {
		t.Errorf("histogram count %d sum %v, want 2 and 20.3", h.Count, h.Sum)
	}
	// 0.3 s falls in (0.25, 0.5], 20 s in (10, 30].
	want := make([]uint64, len(delayBuckets)+1)
	want[4], want[9] = 1, 1
	if fmt.Sprint(h.Buckets) != fmt.Sprint(want) {
		t.Errorf("buckets %v, want %v", h.Buckets, want)
	}
	if len(snap) != 8 {
		t.Errorf("%d series, want 8: %+v", len(snap), snap)
	}
}

func TestSetCapsDomains(t *testing.T) {
	s := NewSet(2)
	for _, d := range []string{"a.test", "b.test", "c.test", "a.test", "d.test"} {
		s.Inc(Delivered, "outbound", d)
	}
	snap := s.Snapshot().Series
	if v := find(t, snap, Delivered.Name, "outbound", "a.test").Value; v != 2 {
		t.Errorf("a.test = %v, want 2", v)
	}
	if v := find(t, snap, Delivered.Name, "outbound", Other).Value; v != 2 {
		t.Errorf("other = %v, want 2 (c.test and d.test)", v)
	}
	if len(snap) != 3 {
		t.Errorf("%d series, want 3", len(snap))
	}
}

func TestSetOddLabels(t *testing.T) {
	s := NewSet(0)
	s.Inc(Rejected, "smtp")                            // too few: the rest empty
	s.Inc(Rejected, "smtp", "recipient", "surplus")    // too many: cut
	s.Inc(Delivered, "outbound", "bad\xffdomain.test") // not UTF-8
	snap := s.Snapshot().Series
	find(t, snap, Rejected.Name, "smtp", "")
	find(t, snap, Rejected.Name, "smtp", "recipient")
	find(t, snap, Delivered.Name, "outbound", Other)
}

func TestNilSet(t *testing.T) {
	var s *Set
	s.Inc(Received, "smtp")
	s.Observe(DeliveryDelay, 1, "local")
	s.Delivery("local", maillog.Delivery{Status: "sent"})
	if n := len(s.Snapshot().Series); n != 0 {
		t.Errorf("nil set has %d series", n)
	}
}

func TestSnapshotChanges(t *testing.T) {
	s := NewSet(0)
	_, n0 := s.SnapshotChanges()
	s.Inc(Received, "smtp")
	_, n1 := s.SnapshotChanges()
	_, n2 := s.SnapshotChanges()
	if n0 == n1 || n1 != n2 {
		t.Errorf("change counts %d %d %d: want a change only after Inc", n0, n1, n2)
	}
}

func TestDomain(t *testing.T) {
	for in, want := range map[string]string{"a@B.Test": "b.test", "postmaster": "", "\"x@y\"@z.test": "z.test"} {
		if got := Domain(in); got != want {
			t.Errorf("Domain(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestTable: names are unique and each metric fits a Set's key.
func TestTable(t *testing.T) {
	seen := map[string]bool{}
	for _, d := range All {
		if seen[d.Name] || len(d.Labels) > maxLabels || (d.Kind == Histogram) != (len(d.Buckets) > 0) {
			t.Errorf("%s: duplicate, more than %d labels, or buckets that do not fit its kind", d.Name, maxLabels)
		}
		seen[d.Name] = true
	}
}

package metrics

import (
	"testing"
	"time"

	"postern.dev/postern/libmail/maillog"
)

// TestTotalSurvivesRestarts: a process's counts stay in the total after
// it ends, and its successor's add to them.
func TestTotalSurvivesRestarts(t *testing.T) {
	tot := NewTotal[int](0)
	first := NewSet(0)
	first.Inc(Received, "smtp")
	first.Inc(Received, "smtp")
	tot.Update(1, first.Snapshot())
	first.Inc(Received, "smtp")
	tot.Update(1, first.Snapshot()) // replaces, does not add
	if v := find(t, tot.Sum(), Received.Name, "smtp").Value; v != 3 {
		t.Fatalf("received = %v, want 3", v)
	}
	tot.Retire(1)
	tot.Retire(1) // twice: nothing more
	second := NewSet(0)
	second.Inc(Received, "smtp")
	second.Delivery("local", maillog.Delivery{To: "a@x.test", Status: "sent", Delay: time.Second})
	tot.Update(2, second.Snapshot())
	sum := tot.Sum()
	if v := find(t, sum, Received.Name, "smtp").Value; v != 4 {
		t.Errorf("received = %v, want 4", v)
	}
	if h := find(t, sum, DeliveryDelay.Name, "local"); h.Count != 1 || h.Sum != 1 {
		t.Errorf("histogram %+v, want one second", h)
	}
	tot.Retire(2)
	third := NewSet(0)
	third.Delivery("local", maillog.Delivery{To: "a@x.test", Status: "sent", Delay: time.Second})
	tot.Update(3, third.Snapshot())
	if h := find(t, tot.Sum(), DeliveryDelay.Name, "local"); h.Count != 2 || h.Sum != 2 {
		t.Errorf("histogram %+v, want two seconds", h)
	}
}

// TestTotalCapsDomains: processes that each stay under the limit do not
// together pass it, and a domain once folded stays folded.
func TestTotalCapsDomains(t *testing.T) {
	tot := NewTotal[int](2)
	for i, d := range []string{"a.test", "b.test", "c.test"} {
		s := NewSet(2)
		s.Inc(Bounced, "outbound", d)
		tot.Update(i, s.Snapshot())
	}
	first := tot.Sum()
	if len(first) != 3 {
		t.Fatalf("%d series, want 3: %+v", len(first), first)
	}
	if v := find(t, first, Bounced.Name, "outbound", Other).Value; v != 1 {
		t.Errorf("other = %v, want 1", v)
	}
	for range 5 {
		sum := tot.Sum()
		if len(sum) != 3 || find(t, sum, Bounced.Name, "outbound", Other).Value != 1 {
			t.Fatalf("sums changed between scrapes: %+v", sum)
		}
	}
}

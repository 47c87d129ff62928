package queue

import (
	"strings"
	"testing"
	"time"
)

func TestSelector(t *testing.T) {
	sum := &Summary{ID: "1J20I5MLVVMQ765E", Sender: "Alice@Example.org", Recipients: []RcptSummary{
		{Address: "bob@remote.test", Done: true}, {Address: "carol@Other.Test"},
	}}
	bounce := &Summary{ID: "1J20I5MLVVMQ765F", Sender: "", Recipients: []RcptSummary{{Address: "alice@example.org"}}}
	for _, c := range []struct {
		name        string
		sel         Selector
		sum, bounce bool
	}{
		{"empty selects nothing", Selector{}, false, false},
		{"all", Selector{All: true}, true, true},
		{"by id", Selector{IDs: map[ID]bool{"1J20I5MLVVMQ765E": true}}, true, false},
		{"sender any case", Selector{Senders: []string{"alice@example.ORG"}}, true, false},
		{"sender in brackets", Selector{Senders: []string{"<alice@example.org>"}}, true, false},
		{"null sender", Selector{Senders: []string{"<>"}}, false, true},
		{"recipient done counts", Selector{Recipients: []string{"bob@remote.test"}}, true, false},
		{"domain", Selector{Domains: []string{"other.test."}}, true, false},
		{"domain with @", Selector{Domains: []string{"@example.org"}}, false, true},
		{"kinds must all match", Selector{Senders: []string{"alice@example.org"}, Domains: []string{"example.org"}}, false, false},
		{"any of a kind", Selector{Domains: []string{"nowhere.test", "remote.test"}}, true, false},
		{"ids and criteria", Selector{IDs: map[ID]bool{"1J20I5MLVVMQ765F": true}, Senders: []string{""}}, false, true},
	} {
		if got := c.sel.Match(sum); got != c.sum {
			t.Errorf("%s: Match(sum) = %v", c.name, got)
		}
		if got := c.sel.Match(bounce); got != c.bounce {
			t.Errorf("%s: Match(bounce) = %v", c.name, got)
		}
	}
}

func TestSelectorIDs(t *testing.T) {
	var s Selector
	if err := s.AddID("../../etc/passwd"); err == nil {
		t.Errorf("a path was taken as a queue ID")
	}
	if err := s.ReadIDs(strings.NewReader("1J20I5MLVVMQ765E\n\n 1J20I5MLVVMQ765F \n")); err != nil {
		t.Fatal(err)
	}
	if len(s.IDs) != 2 {
		t.Errorf("IDs %v", s.IDs)
	}
	err := s.ReadIDs(strings.NewReader("1J20I5MLVVMQ765E\nbad\n"))
	if err == nil || !strings.Contains(err.Error(), "line 2") {
		t.Errorf("bad ID on standard input: %v", err)
	}
	var empty Selector
	if err := empty.ReadIDs(strings.NewReader("")); err != nil || empty.Empty() {
		t.Errorf("- with nothing on standard input: %v, empty %v (it is a selection of nothing)", err, empty.Empty())
	}
	if empty.Match(&Summary{ID: "1J20I5MLVVMQ765E"}) {
		t.Errorf("an empty ID list matched")
	}
	var all Selector
	all.AddID("ALL")
	if !all.All {
		t.Errorf("ALL not taken")
	}
}

func TestShape(t *testing.T) {
	now := time.Unix(1800000000, 0)
	at := func(minutes int) int64 { return now.Add(-time.Duration(minutes) * time.Minute).Unix() }
	s := NewShape(5, 10)
	if len(s.Buckets) != 9 || s.Buckets[8] != 1280 {
		t.Fatalf("buckets %v, want qshape's 5 ... 1280", s.Buckets)
	}
	for _, sum := range []*Summary{
		{Arrival: at(1), Recipients: []RcptSummary{{Address: "a@x.test"}, {Address: "b@X.test"}, {Address: "c@y.test"}}},
		{Arrival: at(7), Recipients: []RcptSummary{{Address: "a@x.test"}}},
		{Arrival: at(5000), Recipients: []RcptSummary{{Address: "a@y.test"}, {Address: "postmaster"}}},
		{Arrival: at(1), Recipients: []RcptSummary{{Address: "a@z.test", Done: true}}},
	} {
		s.Add(sum, now)
	}
	s.Sort()
	if s.Total.Total != 3 || s.Total.Counts[0] != 1 || s.Total.Counts[1] != 1 || s.Total.Counts[9] != 1 {
		t.Errorf("total %+v", s.Total)
	}
	var got []string
	for _, r := range s.Domains {
		got = append(got, r.Domain)
	}
	if strings.Join(got, " ") != "x.test y.test (local)" {
		t.Errorf("domains %v", got)
	}
	if x := s.Domains[0]; x.Total != 2 || x.Counts[0] != 1 || x.Counts[1] != 1 {
		t.Errorf("x.test %+v: a message to two of its addresses counts once", x)
	}
}

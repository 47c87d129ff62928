package metrics

import (
	"strings"
	"testing"
)

func TestLineRoundTrip(t *testing.T) {
	s := NewSet(0)
	s.Inc(Rejected, "smtp", "relay")
	s.Observe(DeliveryDelay, 0.2, "local")
	s.Inc(Delivered, "local", "ünïcode.test")
	line := s.Snapshot().Line()
	if strings.Count(string(line), "\n") != 1 || line[len(line)-1] != '\n' {
		t.Fatalf("not one line: %q", line)
	}
	got, err := ParseLine(strings.TrimSuffix(string(line), "\n"))
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Series) != 3 {
		t.Errorf("%d series back, want 3", len(got.Series))
	}
	find(t, got.Series, Delivered.Name, "local", "ünïcode.test")
}

func TestParseLineRefuses(t *testing.T) {
	for _, line := range []string{
		"READY=1",
		"METRICS {",
		`METRICS {"v":2,"s":[]}`,
		`METRICS {"v":1,"s":[{"n":"postern_nope_total","l":[]}]}`,
		`METRICS {"v":1,"s":[{"n":"postern_messages_received_total","l":[]}]}`,
		`METRICS {"v":1,"s":[{"n":"postern_messages_received_total","l":["smtp"],"v":-1}]}`,
		`METRICS {"v":1,"s":[{"n":"postern_messages_received_total","l":["smtp"],"v":1,"c":1}]}`,
		`METRICS {"v":1,"s":[{"n":"postern_delivery_delay_seconds","l":["local"],"c":1,"b":[1]}]}`,
		`METRICS {"v":1,"s":[{"n":"postern_delivery_delay_seconds","l":["local"],"c":2,"b":[1,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0,0]}]}`,
	} {
		if _, err := ParseLine(line); err == nil {
			t.Errorf("ParseLine(%q) accepted it", line)
		}
	}
	ok := `METRICS {"v":1,"s":[{"n":"postern_delivery_delay_seconds","l":["local"],"c":1,"s":0.5,"b":[0,0,0,0,1,0,0,0,0,0,0,0,0,0,0,0,0,0]}]}`
	if _, err := ParseLine(ok); err != nil {
		t.Errorf("ParseLine(%q): %v", ok, err)
	}
}

// FuzzParseLine: whatever a daemon sends, the master either refuses it
// or gets series it can sum and expose: known names, the right labels,
// histograms whose buckets add up.
func FuzzParseLine(f *testing.F) {
	s := NewSet(0)
	s.Inc(Received, "smtp")
	s.Observe(DeliveryDelay, 3, "outbound")
	f.Add(strings.TrimSuffix(string(s.Snapshot().Line()), "\n"))
	f.Add(`METRICS {"v":1,"s":[]}`)
	f.Fuzz(func(t *testing.T, line string) {
		snap, err := ParseLine(line)
		if err != nil {
			return
		}
		tot := NewTotal[int](3)
		tot.Update(1, snap)
		tot.Retire(1)
		tot.Update(2, snap)
		for _, se := range tot.Sum() {
			d := Lookup(se.Name)
			if d == nil || len(se.Labels) != len(d.Labels) {
				t.Fatalf("bad series summed: %+v", se)
			}
			if d.Kind == Histogram {
				var n uint64
				for _, b := range se.Buckets {
					n += b
				}
				if n != se.Count || len(se.Buckets) != len(d.Buckets)+1 {
					t.Fatalf("histogram does not add up: %+v", se)
				}
			}
		}
	})
}

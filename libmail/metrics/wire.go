package metrics

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"strings"
)

// The status socket carries, besides READY=1, these lines: the master
// asks with Ask, and the daemon answers with Prefix and its Snapshot in
// JSON on the same line (JSON escapes every newline). Version changes
// when a field changes meaning; the master ignores a snapshot of
// another version rather than misread it.
const (
	Ask         = "METRICS?"
	Prefix      = "METRICS "
	WireVersion = 1
	// MaxLine bounds one snapshot line; a daemon with a series limit of
	// a few hundred stays far below it.
	MaxLine = 4 << 20
)

// Snapshot is every series of one process at one moment.
type Snapshot struct {
	Version int      `json:"v"`
	Series  []Series `json:"s"`
}

// Line is the status-socket line for s, with its newline.
func (s Snapshot) Line() []byte {
	b, _ := json.Marshal(s) // nothing in a Snapshot can fail to marshal
	return append(append([]byte(Prefix), b...), '\n')
}

// ParseLine reads a snapshot line (without its newline) as a daemon
// sent it. It checks everything the master relies on: a known metric,
// the right number of labels, finite non-negative values and, for a
// histogram, one count per bucket that add up to Count. A daemon runs
// as mail_owner and the master as root, so what a daemon says is not
// trusted further than that.
func ParseLine(line string) (Snapshot, error) {
	var s Snapshot
	rest, ok := strings.CutPrefix(line, Prefix)
	if !ok {
		return s, errors.New("not a metrics line")
	}
	if len(rest) > MaxLine {
		return s, errors.New("metrics line too long")
	}
	if err := json.Unmarshal([]byte(rest), &s); err != nil {
		return Snapshot{}, fmt.Errorf("metrics line: %w", err)
	}
	if s.Version != WireVersion {
		return Snapshot{}, fmt.Errorf("metrics line: version %d, want %d", s.Version, WireVersion)
	}
	for i := range s.Series {
		if err := s.Series[i].validate(); err != nil {
			return Snapshot{}, fmt.Errorf("metrics line: %s: %w", s.Series[i].Name, err)
		}
	}
	return s, nil
}

func (se *Series) validate() error {
	d := Lookup(se.Name)
	if d == nil {
		return errors.New("unknown metric")
	}
	if len(se.Labels) != len(d.Labels) {
		return fmt.Errorf("%d labels, want %d", len(se.Labels), len(d.Labels))
	}
	for _, v := range []float64{se.Value, se.Sum} {
		if math.IsNaN(v) || math.IsInf(v, 0) || v < 0 {
			return errors.New("value not a finite non-negative number")
		}
	}
	if d.Kind == Counter {
		if se.Count != 0 || se.Sum != 0 || len(se.Buckets) != 0 {
			return errors.New("histogram fields on a counter")
		}
		return nil
	}
	if len(se.Buckets) != len(d.Buckets)+1 {
		return fmt.Errorf("%d buckets, want %d", len(se.Buckets), len(d.Buckets)+1)
	}
	var n uint64
	for _, b := range se.Buckets {
		if n+b < n {
			return errors.New("bucket counts overflow")
		}
		n += b
	}
	if n != se.Count || se.Value != 0 {
		return errors.New("bucket counts do not add up to the count")
	}
	return nil
}

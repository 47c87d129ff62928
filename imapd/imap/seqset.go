package imap

import (
	"sort"
	"strconv"
	"strings"
)

// Range is one element of a sequence set; 0 stands for "*", the largest
// number in use. Start may be larger than Stop ("5:2" means "2:5").
type Range struct{ Start, Stop uint32 }

// SeqSet is a sequence set or UID set (RFC 9051 §9 sequence-set). Saved
// is "$", the result SEARCH RETURN (SAVE) kept (RFC 5182); the session
// keeps that result as UIDs and acts on them, in UID commands or not.
type SeqSet struct {
	Ranges []Range
	Saved  bool
}

// Contains tells whether n is in the set, where "*" stands for max. A
// "$" set holds nothing itself: the caller looks in its saved UIDs.
func (s SeqSet) Contains(n, max uint32) bool {
	for _, r := range s.Ranges {
		lo, hi := r.bounds(max)
		if n >= lo && n <= hi {
			return true
		}
	}
	return false
}

func (r Range) bounds(max uint32) (lo, hi uint32) {
	lo, hi = r.Start, r.Stop
	if lo == 0 {
		lo = max
	}
	if hi == 0 {
		hi = max
	}
	if lo > hi {
		lo, hi = hi, lo
	}
	return lo, hi
}

// Numbers lists the set's numbers in ascending order, with "*" as max,
// capped at max (a client's "1:4000000000" must not make the server
// allocate). UID sets list only what exists, so callers filter UIDs
// against the mailbox instead.
func (s SeqSet) Numbers(max uint32) []uint32 {
	var out []uint32
	seen := map[uint32]bool{}
	for _, r := range s.Ranges {
		lo, hi := r.bounds(max)
		for n := lo; n <= hi && n <= max && n != 0; n++ {
			if !seen[n] {
				seen[n] = true
				out = append(out, n)
			}
			if n == hi {
				break
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// SetOf builds the shortest set of the given numbers: sorted ranges,
// for SEARCH results (ESEARCH ALL), VANISHED and COPYUID.
func SetOf(nums []uint32) SeqSet {
	sorted := append([]uint32(nil), nums...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i] < sorted[j] })
	var s SeqSet
	for _, n := range sorted {
		if k := len(s.Ranges); k > 0 && (s.Ranges[k-1].Stop == n || s.Ranges[k-1].Stop+1 == n) {
			s.Ranges[k-1].Stop = n
			continue
		}
		s.Ranges = append(s.Ranges, Range{n, n})
	}
	return s
}

// String is the set's wire form.
func (s SeqSet) String() string {
	if s.Saved {
		return "$"
	}
	var sb strings.Builder
	for i, r := range s.Ranges {
		if i > 0 {
			sb.WriteByte(',')
		}
		sb.WriteString(seqNumber(r.Start))
		if r.Start != r.Stop {
			sb.WriteByte(':')
			sb.WriteString(seqNumber(r.Stop))
		}
	}
	return sb.String()
}

func seqNumber(n uint32) string {
	if n == 0 {
		return "*"
	}
	return strconv.FormatUint(uint64(n), 10)
}

// seqSet parses a sequence-set, or "$".
func (p *parser) seqSet() (SeqSet, error) {
	if p.maybe('$') {
		return SeqSet{Saved: true}, nil
	}
	var s SeqSet
	for {
		lo, err := p.seqNumber()
		if err != nil {
			return s, err
		}
		hi := lo
		if p.maybe(':') {
			if hi, err = p.seqNumber(); err != nil {
				return s, err
			}
		}
		s.Ranges = append(s.Ranges, Range{lo, hi})
		if !p.maybe(',') {
			return s, nil
		}
	}
}

func (p *parser) seqNumber() (uint32, error) {
	if p.maybe('*') {
		return 0, nil
	}
	n, err := p.nzNumber()
	if err != nil {
		return 0, p.errorf("expected a sequence set at %q", p.rest())
	}
	return n, nil
}

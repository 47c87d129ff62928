package benchkit

import (
	"cmp"
	"slices"
	"sync"
	"time"

	"postern.dev/postern/test/bench/benchkit/procfs"
)

// ProcStat is what a Sampler saw of one process.
type ProcStat struct {
	procfs.Proc
	Base procfs.Mem // the first sample: the baseline
	Peak procfs.Mem // the largest RSS and the largest PSS seen (not necessarily at one instant)
	New  bool       // appeared after the sampler's first sample, so Base is its first sample
}

// GrowthKB is how far the process's RSS rose above its baseline.
func (p ProcStat) GrowthKB() int64 { return p.Peak.RSS - p.Base.RSS }

// Sampler follows the memory of every process of a tree (a master and
// the daemons it started) until it is stopped.
type Sampler struct {
	root  int
	every time.Duration
	stop  chan struct{}
	done  chan struct{}
	mu    sync.Mutex
	stats map[int]*ProcStat
}

// StartSampler samples root's tree now (the baseline) and then every
// interval. The tree is walked again only every fourth sample, since a
// walk of /proc costs a few milliseconds of CPU that the measured
// processes would otherwise lose; daemons are long-lived, so a new one
// is found within four intervals.
func StartSampler(root int, every time.Duration) *Sampler {
	s := &Sampler{root: root, every: every, stop: make(chan struct{}), done: make(chan struct{}), stats: map[int]*ProcStat{}}
	tree := procfs.Tree(root)
	s.sample(tree, false)
	go s.loop(tree)
	return s
}

func (s *Sampler) loop(tree []procfs.Proc) {
	defer close(s.done)
	t := time.NewTicker(s.every)
	defer t.Stop()
	for n := 1; ; n++ {
		select {
		case <-s.stop:
			return
		case <-t.C:
		}
		if n%4 == 0 {
			tree = procfs.Tree(s.root)
		}
		s.sample(tree, true)
	}
}

func (s *Sampler) sample(tree []procfs.Proc, later bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, p := range tree {
		m, ok := procfs.ReadMem(p.PID)
		if !ok {
			continue
		}
		st := s.stats[p.PID]
		if st == nil {
			st = &ProcStat{Proc: p, Base: m, Peak: m, New: later}
			s.stats[p.PID] = st
		}
		st.Peak.RSS = max(st.Peak.RSS, m.RSS)
		st.Peak.PSS = max(st.Peak.PSS, m.PSS)
	}
}

// Stats returns what was seen so far, by name and then PID.
func (s *Sampler) Stats() []ProcStat {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make([]ProcStat, 0, len(s.stats))
	for _, st := range s.stats {
		out = append(out, *st)
	}
	slices.SortFunc(out, func(a, b ProcStat) int {
		return cmp.Or(cmp.Compare(a.Name, b.Name), cmp.Compare(a.PID, b.PID))
	})
	return out
}

// Stop ends sampling and returns Stats.
func (s *Sampler) Stop() []ProcStat {
	close(s.stop)
	<-s.done
	return s.Stats()
}

// MB turns KiB into MiB.
func MB(kb int64) float64 { return float64(kb) / 1024 }

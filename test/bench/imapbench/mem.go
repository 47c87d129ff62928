package main

import (
	"regexp"
	"slices"
	"sync"
	"time"

	"postern.dev/postern/test/bench/benchkit/procfs"
)

// sampler follows the summed PSS of a process tree (a server's master and
// everything it started) while a command runs, and keeps the peak. PSS
// splits shared pages between the processes that share them, so a tree
// of many small processes (Dovecot's) and one of few (postern's) are
// counted alike.
type sampler struct {
	root  int
	match *regexp.Regexp // only processes whose name matches; nil: all
	stop  chan struct{}
	done  sync.WaitGroup
	peak  int64 // KiB
}

func startSampler(root int, match *regexp.Regexp) *sampler {
	s := &sampler{root: root, match: match, stop: make(chan struct{})}
	if root <= 0 {
		return s
	}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		// The tree is found again only every tenth sample: a walk of
		// /proc costs about 3 ms, and at every sample it took a quarter
		// of a core from the server being timed (on two cores, from a
		// server that uses both more than from one that uses one). A
		// step's processes all exist when it starts (after LOGIN).
		var tree []procfs.Proc
		for n := 0; ; n++ {
			if n%10 == 0 {
				tree = treeMatching(root, match)
			}
			var kb int64
			for _, p := range tree {
				m, _ := procfs.ReadMem(p.PID)
				kb += m.PSS
			}
			s.peak = max(s.peak, kb)
			select {
			case <-s.stop:
				return
			case <-t.C:
			}
		}
	}()
	return s
}

// end stops sampling and returns the peak in MiB.
func (s *sampler) end() float64 {
	close(s.stop)
	s.done.Wait()
	return float64(s.peak) / 1024
}

// treeMatching returns root and its descendants whose names match (all
// when match is nil).
func treeMatching(root int, match *regexp.Regexp) []procfs.Proc {
	tree := procfs.Tree(root)
	if match == nil {
		return tree
	}
	return slices.DeleteFunc(tree, func(p procfs.Proc) bool { return !match.MatchString(p.Name) })
}

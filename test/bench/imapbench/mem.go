package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"time"
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
		var pids []int
		for n := 0; ; n++ {
			if n%10 == 0 {
				pids = treePIDs(root, match)
			}
			var kb int64
			for _, pid := range pids {
				kb += pss(pid)
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

// treePIDs returns root and its descendants whose names match (all when
// match is nil).
func treePIDs(root int, match *regexp.Regexp) []int {
	parent := map[int]int{}
	name := map[int]string{}
	dirs, _ := filepath.Glob("/proc/[0-9]*/stat")
	for _, p := range dirs {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid ...; comm may hold spaces and parentheses.
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 2 {
			continue
		}
		pid, _ := strconv.Atoi(filepath.Base(filepath.Dir(p)))
		ppid, _ := strconv.Atoi(f[1])
		parent[pid] = ppid
		if j := bytes.IndexByte(b, '('); j >= 0 && j < i {
			name[pid] = string(b[j+1 : i])
		}
	}
	var pids []int
	for pid := range parent {
		for p := pid; p > 1; p = parent[p] {
			if p == root {
				if match == nil || match.MatchString(name[pid]) {
					pids = append(pids, pid)
				}
				break
			}
		}
	}
	return pids
}

func pss(pid int) int64 {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return 0
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "Pss:"); ok {
			n, _ := strconv.ParseInt(strings.Fields(v)[0], 10, 64)
			return n
		}
	}
	return 0
}

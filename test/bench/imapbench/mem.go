package main

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
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
	root int
	stop chan struct{}
	done sync.WaitGroup
	peak int64 // KiB
}

func startSampler(root int) *sampler {
	s := &sampler{root: root, stop: make(chan struct{})}
	if root <= 0 {
		return s
	}
	s.done.Add(1)
	go func() {
		defer s.done.Done()
		t := time.NewTicker(10 * time.Millisecond)
		defer t.Stop()
		for {
			if kb := treePSS(root); kb > s.peak {
				s.peak = kb
			}
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

// treePSS sums the Pss of root and its descendants, in KiB.
func treePSS(root int) int64 {
	parent := map[int]int{}
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
	}
	var total int64
	for pid := range parent {
		for p := pid; p > 1; p = parent[p] {
			if p == root {
				total += pss(pid)
				break
			}
		}
	}
	return total
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

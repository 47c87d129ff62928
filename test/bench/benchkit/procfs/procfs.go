// Package procfs reads what the benchmarks and tests measure of a
// running postern from Linux's /proc: a master's process tree (the
// daemons sit in process groups of their own, so a tree is found by
// parent PIDs), a session's processes, their memory (RSS and PSS) and
// CPU time. It uses nothing but the standard library, so that test/e2e
// may import it without the rest of benchkit.
package procfs

import (
	"bufio"
	"bytes"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"
)

// Proc is one process as /proc shows it.
type Proc struct {
	PID, PPID, Session int
	Name               string // comm: the daemon's binary name
}

// procs lists every process.
func procs() []Proc {
	stats, _ := filepath.Glob("/proc/[0-9]*/stat")
	out := make([]Proc, 0, len(stats))
	for _, p := range stats {
		b, err := os.ReadFile(p)
		if err != nil {
			continue
		}
		// pid (comm) state ppid pgrp session ...; comm may hold spaces
		// and parentheses, so it ends at the last ')'.
		i, j := bytes.LastIndexByte(b, ')'), bytes.IndexByte(b, '(')
		if i < 0 || j < 0 || j > i {
			continue
		}
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 4 {
			continue
		}
		pid, _ := strconv.Atoi(strings.TrimSpace(string(b[:j])))
		ppid, _ := strconv.Atoi(f[1])
		sid, _ := strconv.Atoi(f[3])
		out = append(out, Proc{PID: pid, PPID: ppid, Session: sid, Name: string(b[j+1 : i])})
	}
	return out
}

// Tree returns root and all its descendants (children by PPid).
func Tree(root int) []Proc {
	all := procs()
	children := map[int][]Proc{}
	var top *Proc
	for i, p := range all {
		children[p.PPID] = append(children[p.PPID], p)
		if p.PID == root {
			top = &all[i]
		}
	}
	if top == nil {
		return nil
	}
	out := []Proc{*top}
	for i := 0; i < len(out); i++ {
		out = append(out, children[out[i].PID]...)
	}
	return out
}

// Session returns the processes of session sid.
func Session(sid int) []Proc {
	var out []Proc
	for _, p := range procs() {
		if p.Session == sid {
			out = append(out, p)
		}
	}
	return out
}

// Mem is a process's memory in KiB: resident set and proportional set
// (shared pages split between the processes that map them).
type Mem struct{ RSS, PSS int64 }

// ReadMem reads a process's RSS and PSS from /proc/PID/smaps_rollup; ok
// is false when the process is gone.
func ReadMem(pid int) (m Mem, ok bool) {
	f, err := os.Open("/proc/" + strconv.Itoa(pid) + "/smaps_rollup")
	if err != nil {
		return m, false
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	for sc.Scan() {
		line := sc.Text()
		var dst *int64
		switch {
		case strings.HasPrefix(line, "Rss:"):
			dst = &m.RSS
		case strings.HasPrefix(line, "Pss:"):
			dst = &m.PSS
		default:
			continue
		}
		if f := strings.Fields(line); len(f) >= 2 {
			*dst, _ = strconv.ParseInt(f[1], 10, 64)
		}
	}
	return m, m.RSS > 0
}

// CPU returns the CPU time, user and system, that the processes of
// root's tree have used so far, in total and for those named name.
func CPU(root int, name string) (total, named time.Duration) {
	for _, p := range Tree(root) {
		b, err := os.ReadFile("/proc/" + strconv.Itoa(p.PID) + "/stat")
		if err != nil {
			continue
		}
		i := bytes.LastIndexByte(b, ')')
		if i < 0 {
			continue
		}
		// After the comm: state is field 3, utime 14 and stime 15.
		f := strings.Fields(string(b[i+1:]))
		if len(f) < 13 {
			continue
		}
		ut, _ := strconv.ParseInt(f[11], 10, 64)
		st, _ := strconv.ParseInt(f[12], 10, 64)
		d := time.Duration(ut+st) * time.Second / clockTicks
		total += d
		if p.Name == name {
			named += d
		}
	}
	return total, named
}

// clockTicks is USER_HZ, the unit of /proc's CPU times: 100 on every
// Linux architecture Go runs on.
const clockTicks = 100

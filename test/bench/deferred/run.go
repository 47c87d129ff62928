package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"os/user"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"time"

	"postern.dev/postern/test/bench/benchkit"
	"postern.dev/postern/test/bench/benchkit/procfs"
)

type options struct {
	benchkit.Flags
	n, conns, size int
	duration       time.Duration // of each timed run's sending
	rounds         int           // timed runs per sandbox; the median counts
	profile        string        // POSTERN_CPUPROFILE for the daemons, if set
	queueRunDelay  time.Duration
	minRatio       float64 // percent
	maxQmgrMB      float64
	dir            string // where the sandboxes go; a new directory under $TMPDIR if empty
}

func defaults() options {
	return options{Flags: benchkit.Flags{PortBase: 63000, Bin: "./bin", Interval: 50 * time.Millisecond},
		n: 100000, duration: 15 * time.Second, conns: 10, size: 2048, rounds: 3,
		queueRunDelay: 5 * time.Second, minRatio: 90, maxQmgrMB: 200}
}

const (
	fastRcpt = "x@fast.example.net" // routed to the accepting server
	warmUp   = 50
	// window is how far the deferred entries' next attempts are spread
	// after the fill: maximal_backoff_time's default.
	window = 4000 * time.Second
)

// result is what a run found, for the tests.
type result struct {
	emptyRate, loadedRate float64 // msg/s end to end, medians
	qmgrPeakRSS           float64 // MiB
	deferredLeft          int
}

// side is one of the two sandboxes and its timed runs.
type side struct {
	name    string
	sb      *benchkit.Sandbox
	sampler *benchkit.Sampler
	runs    []timed
}

// timed is one timed run of new mail, or the medians of several.
type timed struct {
	count               int     // messages
	acceptRate, e2eRate float64 // msg/s
	cpuMs, qmgrMs       float64 // CPU per message of the sandbox's processes and of its qmgr, ms
	retried             int64   // deferred entries retried meanwhile
	p50, p99, maxLat    float64 // latency from sender to accepting server, ms
}

func run(ctx context.Context, o options, out io.Writer) (res result, err error) {
	for _, b := range []int{o.PortBase, o.PortBase + 1000} {
		if !benchkit.PortsFree(b) {
			return res, fmt.Errorf("a port of base %d is taken (-port-base N uses N and N+1000)", b)
		}
	}
	slow, err := benchkit.StartSink(true, false)
	if err != nil {
		return res, err
	}
	defer slow.Close()
	fast, err := benchkit.StartSink(false, false)
	if err != nil {
		return res, err
	}
	defer fast.Close()
	dir, done, err := benchkit.WorkDir(o.dir, "postern-deferred-", o.Keep, out, "deferred: sandboxes kept in")
	if err != nil {
		return res, err
	}
	defer done()
	settings := []string{"relayhost=" + slow.Nexthop(),
		fmt.Sprintf("transport_maps=[%q]", "fast.example.net smtp:"+fast.Nexthop()),
		"queue_run_delay=" + o.queueRunDelay.String()}
	empty := &side{name: "empty"}
	loaded := &side{name: "loaded"}
	if empty.sb, err = benchkit.NewSandbox(o.Bin, filepath.Join(dir, "empty"), o.PortBase, settings...); err != nil {
		return res, err
	}
	defer stop(empty.sb, &err)
	if loaded.sb, err = benchkit.NewSandbox(o.Bin, filepath.Join(dir, "loaded"), o.PortBase+1000, settings...); err != nil {
		return res, err
	}
	defer stop(loaded.sb, &err)

	// The loaded side's queue, filled while its master is stopped (after
	// a first start, which makes the spool). Next attempts are spread
	// from the start of the fill on, so those of the fill's own seconds
	// are due when qmgr starts.
	if err := loaded.sb.Start(ctx); err != nil {
		return res, fmt.Errorf("loaded: %w", err)
	}
	if err := loaded.sb.Stop(); err != nil {
		return res, fmt.Errorf("loaded: %w", err)
	}
	owner, err := mailOwner()
	if err != nil {
		return res, err
	}
	start := time.Now()
	if err := fill(fillSpec{spool: loaded.sb.Spool(), n: o.n, size: o.size, relay: slow.Nexthop(), now: start, window: window, owner: owner}); err != nil {
		return res, fmt.Errorf("fill: %w", err)
	}
	if n := countDir(filepath.Join(loaded.sb.Spool(), "deferred")); n != o.n {
		return res, fmt.Errorf("fill: %d entries in deferred/, want %d", n, o.n)
	}
	fmt.Fprintf(out, "deferred: wrote %d deferred entries in %.1fs (next attempts over the %s from %s on)\n",
		o.n, time.Since(start).Seconds(), window, start.Format(time.TimeOnly))

	// Both masters run; the one not being timed is frozen (SIGSTOP), so
	// that neither takes CPU from the other. The runs alternate, empty
	// and loaded, so that both meet the same machine over time (it is
	// shared and noisy).
	var env []string
	if o.profile != "" {
		env = append(env, "POSTERN_CPUPROFILE="+o.profile)
	}
	msg := benchkit.Message{From: "bench@example.com", To: fastRcpt, Subject: "timed", Size: int64(o.size)}
	sides := []*side{empty, loaded}
	for i, s := range sides {
		if err := s.sb.Start(ctx, env...); err != nil {
			return res, fmt.Errorf("%s: %w", s.name, err)
		}
		s.sampler = benchkit.StartSampler(s.sb.PID(), o.Interval)
		defer func() {
			if s.sampler != nil {
				s.sampler.Stop()
			}
		}()
		// Warm-up (for the loaded side also qmgr's first look at its
		// queue, which a restart of a loaded system pays once).
		if _, err := blast(ctx, s, fast, msg, warmUp, 0, min(o.conns, warmUp)); err != nil {
			return res, fmt.Errorf("%s warm-up: %w", s.name, err)
		}
		if err := settle(ctx, s.sb, slow); err != nil {
			return res, fmt.Errorf("%s warm-up: %w", s.name, err)
		}
		if i == 0 {
			s.sb.Freeze()
		}
	}
	var retried int64
	for r := range 2 * o.rounds {
		s, other := sides[r%2], sides[1-r%2]
		other.sb.Freeze()
		s.sb.Thaw()
		if err := settle(ctx, s.sb, slow); err != nil {
			return res, fmt.Errorf("%s: %w", s.name, err)
		}
		d0 := slow.Deferred()
		t, err := blast(ctx, s, fast, msg, 0, o.duration, o.conns)
		if err != nil {
			return res, fmt.Errorf("%s: %w", s.name, err)
		}
		t.retried = slow.Deferred() - d0
		retried += t.retried
		s.runs = append(s.runs, t)
		fmt.Fprintf(out, "deferred: run %d %-6s %d msgs: accept %.1f msg/s, end to end %.1f msg/s, cpu %.3f ms/msg (qmgr %.3f), latency p50/p99/max %.0f/%.0f/%.0f ms, %d deferred retried\n",
			r/2+1, s.name, t.count, t.acceptRate, t.e2eRate, t.cpuMs, t.qmgrMs, t.p50, t.p99, t.maxLat, t.retried)
	}
	loaded.sb.Thaw()
	empty.sb.Thaw()

	// Every deferred entry must still be there, deferred or in hand.
	res.deferredLeft = countDir(filepath.Join(loaded.sb.Spool(), "deferred")) + countDir(filepath.Join(loaded.sb.Spool(), "active"))
	qe, ql := qmgrPeak(empty.sampler.Stop()), qmgrPeak(loaded.sampler.Stop())
	empty.sampler, loaded.sampler = nil, nil
	if res.deferredLeft < o.n {
		return res, fmt.Errorf("%d of %d deferred entries left in deferred/ and active/\n%s", res.deferredLeft, o.n, loaded.sb.MaillogTail(20))
	}
	me, ml := median(empty.runs), median(loaded.runs)
	res.emptyRate, res.loadedRate, res.qmgrPeakRSS = me.e2eRate, ml.e2eRate, benchkit.MB(ql.RSS)
	for _, s := range []struct {
		name string
		t    timed
		q    procfs.Mem
	}{{"empty", me, qe}, {"loaded", ml, ql}} {
		fmt.Fprintf(out, "deferred: %-6s median: accept %.1f msg/s, end to end %.1f msg/s, cpu %.3f ms/msg (qmgr %.3f), latency p50/p99/max %.0f/%.0f/%.0f ms; qmgr peak rss %.1f MiB pss %.1f MiB\n",
			s.name, s.t.acceptRate, s.t.e2eRate, s.t.cpuMs, s.t.qmgrMs, s.t.p50, s.t.p99, s.t.maxLat, benchkit.MB(s.q.RSS), benchkit.MB(s.q.PSS))
	}
	fmt.Fprintf(out, "deferred: %d deferred retried during the timed runs; %d still queued\n", retried, res.deferredLeft)
	ratio := 100 * res.loadedRate / res.emptyRate
	var verdict []string
	if ratio < o.minRatio {
		verdict = append(verdict, "BELOW")
	}
	if res.qmgrPeakRSS > o.maxQmgrMB {
		verdict = append(verdict, "OVER")
	}
	if len(verdict) == 0 {
		verdict = append(verdict, "ok")
	}
	fmt.Fprintf(out, "deferred: n=%d empty_rate=%.1f msg/s loaded_rate=%.1f msg/s ratio=%.0f%% cpu_ratio=%.0f%% qmgr_peak_rss_mb=%.1f qmgr_peak_pss_mb=%.1f p99_ms=%.0f/%.0f max_ms=%.0f/%.0f %s\n",
		o.n, res.emptyRate, res.loadedRate, ratio, 100*me.cpuMs/ml.cpuMs, res.qmgrPeakRSS, benchkit.MB(ql.PSS), me.p99, ml.p99, me.maxLat, ml.maxLat, strings.Join(verdict, " "))
	return res, nil
}

// settle waits, after a start or a thaw, until qmgr is done with what
// came due while the sandbox was frozen (or, at its start, during the
// fill): active/ empty and no retry at the deferring server for two
// seconds (a queue run may still be looking at deferred/ with active/
// empty, which on a busy host takes a second or more). Those retries then happen before the timed run, not in it, so
// that the run meets only the retries of its own time, as a system that
// was never stopped would.
func settle(ctx context.Context, sb *benchkit.Sandbox, slow *benchkit.Sink) error {
	active := filepath.Join(sb.Spool(), "active")
	deadline := time.Now().Add(2 * time.Minute)
	last, quiet := slow.Deferred(), 0
	for quiet < 20 {
		if n := slow.Deferred(); n == last && countDir(active) == 0 {
			quiet++
		} else {
			last, quiet = n, 0
		}
		if time.Now().After(deadline) {
			return fmt.Errorf("qmgr still busy with deferred mail after 2 minutes (%d in active/)", countDir(active))
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(100 * time.Millisecond):
		}
	}
	return nil
}

func stop(sb *benchkit.Sandbox, err *error) {
	if serr := sb.Stop(); serr != nil && *err == nil {
		*err = serr
	}
}

// blast sends count messages over conns sessions, or when count is 0
// as many as they send in d, and waits until the accepting server has
// them all; the CPU figures are the sandbox's processes' over that time.
func blast(ctx context.Context, s *side, fast *benchkit.Sink, msg benchkit.Message, count int, d time.Duration, conns int) (timed, error) {
	var t timed
	before := fast.Count()
	fast.TakeLatencies()
	cpu0, q0 := procfs.CPU(s.sb.PID(), "qmgr")
	start := time.Now()
	n, acc, err := benchkit.Blast(ctx, s.sb.SMTPAddr(), msg, count, start.Add(d), conns)
	if err != nil {
		return t, err
	}
	if err := waitCount(ctx, fast, before+int64(n), 10*time.Minute); err != nil {
		return t, fmt.Errorf("%w\n%s", err, s.sb.MaillogTail(20))
	}
	e2e := time.Since(start)
	cpu1, q1 := procfs.CPU(s.sb.PID(), "qmgr")
	t.count, t.acceptRate, t.e2eRate = n, rate(n, acc), rate(n, e2e)
	t.cpuMs, t.qmgrMs = perMsg(cpu1-cpu0, n), perMsg(q1-q0, n)
	if lat := fast.TakeLatencies(); len(lat) > 0 {
		slices.Sort(lat)
		ms := func(q float64) float64 { return float64(lat[int(q*float64(len(lat)-1))].Microseconds()) / 1000 }
		t.p50, t.p99, t.maxLat = ms(0.5), ms(0.99), ms(1)
	}
	return t, nil
}

// median is the median of each figure of the runs (not necessarily of
// one run).
func median(runs []timed) timed {
	pick := func(f func(timed) float64) float64 {
		v := make([]float64, len(runs))
		for i, r := range runs {
			v[i] = f(r)
		}
		slices.Sort(v)
		return v[len(v)/2]
	}
	return timed{
		acceptRate: pick(func(t timed) float64 { return t.acceptRate }),
		e2eRate:    pick(func(t timed) float64 { return t.e2eRate }),
		cpuMs:      pick(func(t timed) float64 { return t.cpuMs }),
		qmgrMs:     pick(func(t timed) float64 { return t.qmgrMs }),
		p50:        pick(func(t timed) float64 { return t.p50 }),
		p99:        pick(func(t timed) float64 { return t.p99 }),
		maxLat:     pick(func(t timed) float64 { return t.maxLat }),
	}
}

func rate(m int, d time.Duration) float64 { return float64(m) / d.Seconds() }

func perMsg(d time.Duration, m int) float64 { return float64(d.Microseconds()) / 1000 / float64(m) }

func waitCount(ctx context.Context, s *benchkit.Sink, want int64, limit time.Duration) error {
	deadline := time.Now().Add(limit)
	for s.Count() < want {
		if time.Now().After(deadline) {
			return fmt.Errorf("%d of %d messages delivered after %s", s.Count(), want, limit)
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(5 * time.Millisecond):
		}
	}
	return nil
}

// qmgrPeak is the largest RSS and PSS of any qmgr process seen.
func qmgrPeak(stats []benchkit.ProcStat) procfs.Mem {
	var m procfs.Mem
	for _, p := range stats {
		if p.Name == "qmgr" {
			m.RSS = max(m.RSS, p.Peak.RSS)
			m.PSS = max(m.PSS, p.Peak.PSS)
		}
	}
	return m
}

// mailOwner is the uid and gid that the queue's files belong to when
// the master runs as root (mail_owner, postern in the sandbox), or nil
// when it does not, and the files are the invoking user's.
func mailOwner() (*[2]int, error) {
	if os.Geteuid() != 0 {
		return nil, nil
	}
	u, err := user.Lookup("postern")
	if err != nil {
		return nil, fmt.Errorf("mail_owner: %w", err)
	}
	uid, _ := strconv.Atoi(u.Uid)
	gid, _ := strconv.Atoi(u.Gid)
	return &[2]int{uid, gid}, nil
}

func countDir(dir string) int {
	ents, _ := os.ReadDir(dir)
	return len(ents)
}

package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"regexp"
	"testing"
	"time"

	"postern.dev/postern/test/bench/benchkit"
)

// TestDeferredSmall runs the benchmark once at a tiny size (200 deferred
// entries, one timed run each side), so that it keeps
// working (a timed run of one second each side): it must finish, keep every deferred entry, and print its
// figures. The figures themselves are the benchmark's business.
func TestDeferredSmall(t *testing.T) {
	bin := benchkit.TestBinaries(t)
	base, err := benchkit.FreePortBase(20000, 59000, func(n int) int { return rand.IntN(n - 1) })
	if err != nil {
		t.Fatal(err)
	}
	if !benchkit.PortsFree(base + 1000) {
		t.Skipf("port base %d is free but %d is not; try again", base, base+1000)
	}
	o := defaults()
	o.n, o.duration, o.rounds, o.PortBase, o.Bin = 200, time.Second, 1, base, bin
	o.dir = benchkit.WorldDir(t, "postern-deferred-test-")
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	var out bytes.Buffer
	res, err := run(ctx, o, &out)
	t.Logf("output:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	if res.deferredLeft != o.n {
		t.Errorf("%d deferred entries left, want %d", res.deferredLeft, o.n)
	}
	if res.emptyRate <= 0 || res.loadedRate <= 0 || res.qmgrPeakRSS <= 0 {
		t.Errorf("figures missing: %+v", res)
	}
	for _, re := range []string{
		`(?m)^deferred: wrote 200 deferred entries in [0-9.]+s`,
		`(?m)^deferred: run 1 empty  \d+ msgs: accept [0-9.]+ msg/s, end to end [0-9.]+ msg/s, cpu [0-9.]+ ms/msg \(qmgr [0-9.]+\), latency p50/p99/max \d+/\d+/\d+ ms, 0 deferred retried$`,
		`(?m)^deferred: run 1 loaded \d+ msgs: accept [0-9.]+ msg/s, end to end [0-9.]+ msg/s`,
		`(?m)^deferred: n=200 empty_rate=[0-9.]+ msg/s loaded_rate=[0-9.]+ msg/s ratio=\d+% cpu_ratio=\d+% qmgr_peak_rss_mb=[0-9.]+ qmgr_peak_pss_mb=[0-9.]+ p99_ms=\d+/\d+ max_ms=\d+/\d+ (ok|BELOW|OVER|BELOW OVER)$`,
	} {
		if !regexp.MustCompile(re).Match(out.Bytes()) {
			t.Errorf("output lacks %s", re)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"postern.dev/postern/test/bench/benchkit"
)

// TestBigmsgSmall runs the benchmark once at 1 MiB, so that it keeps
// working: both messages must arrive intact and every figure must be
// printed. How much memory grew is the benchmark's business, not the
// test's.
func TestBigmsgSmall(t *testing.T) {
	bin := benchkit.TestBinaries(t)
	base, err := benchkit.FreePortBase(20000, 60000, rand.IntN)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(benchkit.WorldDir(t, "postern-bigmsg-test-"), "sandbox")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	res, err := run(ctx, options{Flags: benchkit.Flags{PortBase: base, Bin: bin, Interval: 50 * time.Millisecond}, size: 1 << 20, limitMB: 20, dir: dir}, &out)
	t.Logf("output:\n%s", out.String())
	if err != nil {
		t.Fatal(err)
	}
	if !res.intact {
		t.Fatal("a message did not arrive intact")
	}
	for _, re := range []string{
		`(?m)^bigmsg: relay accepted in [0-9.]+s, delivered in [0-9.]+s: sink got \d+ bytes for \d+ sent, body sha256 matches$`,
		`(?m)^bigmsg: local accepted in [0-9.]+s, delivered in [0-9.]+s: Maildir file of \d+ bytes for \d+ sent, body sha256 matches$`,
		`(?m)^bigmsg: proc=smtpd pid=\d+ base_rss_mb=[0-9.]+ peak_rss_mb=[0-9.]+ growth_mb=-?[0-9.]+ base_pss_mb=[0-9.]+ peak_pss_mb=[0-9.]+`,
		`(?m)^bigmsg: proc=(qmgr|smtp|local|master) pid=\d+ `,
		`(?m)^bigmsg: size=1MB max_growth_mb=-?[0-9.]+ \(\w+\) limit_mb=20 (ok|OVER)$`,
	} {
		if !regexp.MustCompile(re).Match(out.Bytes()) {
			t.Errorf("output lacks %s", re)
		}
	}
	for _, name := range []string{"qmgr", "smtp", "local", "master"} {
		if !regexp.MustCompile(`(?m)^bigmsg: proc=` + name + ` `).Match(out.Bytes()) {
			t.Errorf("no figures for %s", name)
		}
	}
}

package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"

	"postern.dev/postern/test/bench/benchkit"
)

// TestTiny runs the benchmark once at a tiny size, so that it keeps
// working between the runs that matter (make bench). It asserts that the
// run completes and prints its figures, never what they are.
func TestTiny(t *testing.T) {
	bin := benchkit.TestBinaries(t)
	top := benchkit.WorldDir(t, "postern-idleconns-test-")
	for _, mode := range []string{"postscreen", "smtpd"} {
		t.Run(mode, func(t *testing.T) {
			var out bytes.Buffer
			ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
			defer cancel()
			o := options{N: 50, Probes: 5, Bin: bin, Mode: mode, PortBase: freeBase(t), Dir: filepath.Join(top, mode), Log: &out}
			if err := run(ctx, o, &out); err != nil {
				t.Fatalf("run: %v\n%s", err, out.String())
			}
			re := regexp.MustCompile(`(?m)^idle: mode=` + mode + ` conns=50 held=(\d+) pss_before_mb=[0-9.]+ pss_mb=([0-9.]+) per_conn_kb=-?[0-9.]+ top=\S+ greet_p50_ms=[0-9.]+ greet_p99_ms=[0-9.]+ greet_max_ms=[0-9.]+ probes=5$`)
			m := re.FindStringSubmatch(out.String())
			if m == nil {
				t.Fatalf("no figures in %q", out.String())
			}
			if held, _ := strconv.Atoi(m[1]); held != 50 {
				t.Errorf("the server let go of idle clients: %s", m[0])
			}
			if pss, _ := strconv.ParseFloat(m[2], 64); pss <= 0 {
				t.Errorf("no memory measured: %s", m[0])
			}
		})
	}
}

// freeBase finds a port base whose sandbox ports are free on loopback,
// below the ephemeral range.
func freeBase(t *testing.T) int {
	base, err := benchkit.FreePortBase(20050, 31050, rand.IntN)
	if err != nil {
		t.Fatal(err)
	}
	return base
}

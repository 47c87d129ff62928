package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"testing"
	"time"
)

// TestTiny runs the benchmark once at a tiny size, so that it keeps
// working between the runs that matter (make bench). It asserts that the
// run completes and prints its figures, never what they are.
func TestTiny(t *testing.T) {
	// As root the daemons run as postern and must reach the binaries
	// and the sandbox: t.TempDir is closed to them.
	top, err := os.MkdirTemp("", "postern-idleconns-test-")
	if err != nil {
		t.Fatal(err)
	}
	defer os.RemoveAll(top)
	os.Chmod(top, 0o755)
	bin := filepath.Join(top, "bin")
	build := exec.Command("go", "build", "-o", bin+"/", "postern.dev/postern/cmd/...")
	build.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := build.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
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
	for range 100 {
		base := 20050 + 1000*rand.IntN(11)
		free := true
		for _, p := range []int{25, 110, 143, 465, 587, 993, 995} {
			l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(base+p))
			if err != nil {
				free = false
				break
			}
			l.Close()
		}
		if free {
			return base
		}
	}
	t.Fatal("no free port base")
	return 0
}

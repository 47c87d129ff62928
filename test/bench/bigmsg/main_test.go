package main

import (
	"bytes"
	"context"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"testing"
	"time"

	"postern.dev/postern/test/bench/benchkit"
)

// buildBinaries builds the postern binaries for the test into a
// temporary directory (POSTERN_BIN names ready ones instead), so that the
// program is tested against the code it sits beside, not a stale bin/.
func buildBinaries(t *testing.T) string {
	t.Helper()
	if dir := os.Getenv("POSTERN_BIN"); dir != "" {
		return dir
	}
	dir := worldDir(t, "postern-bench-bin-")
	cmd := exec.Command("go", "build", "-o", dir+"/", "postern.dev/postern/cmd/...")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return dir
}

// worldDir makes a temporary directory that others may search: as root,
// the master runs the daemons as postern and vmail, which must reach the
// binaries and the sandbox (t.TempDir's parent is closed to them).
func worldDir(t *testing.T, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	return dir
}

// TestBigmsgSmall runs the benchmark once at 1 MiB, so that it keeps
// working: both messages must arrive intact and every figure must be
// printed. How much memory grew is the benchmark's business, not the
// test's.
func TestBigmsgSmall(t *testing.T) {
	bin := buildBinaries(t)
	base, err := benchkit.FreePortBase(20000, 60000, rand.IntN)
	if err != nil {
		t.Fatal(err)
	}
	dir := filepath.Join(worldDir(t, "postern-bigmsg-test-"), "sandbox")
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()
	var out bytes.Buffer
	res, err := run(ctx, options{size: 1 << 20, portBase: base, bin: bin, interval: 50 * time.Millisecond, limitMB: 20, dir: dir}, &out)
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

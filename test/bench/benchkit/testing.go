package benchkit

import (
	"os"
	"os/exec"
	"testing"
)

// TestBinaries builds the postern binaries for a smoke test of a
// benchmark program into a temporary directory (POSTERN_BIN names ready
// ones instead), so that the program is tested against the code beside
// it rather than a stale bin/.
func TestBinaries(t testing.TB) string {
	t.Helper()
	if dir := os.Getenv("POSTERN_BIN"); dir != "" {
		return dir
	}
	dir := WorldDir(t, "postern-bench-bin-")
	cmd := exec.Command("go", "build", "-o", dir+"/", "postern.dev/postern/cmd/...")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build: %v\n%s", err, out)
	}
	return dir
}

// WorldDir makes a temporary directory that others may search, removed
// when the test ends: as root, the master runs the daemons as postern and
// vmail, which must reach the binaries and the sandbox (t.TempDir's
// parent is closed to them).
func WorldDir(t testing.TB, prefix string) string {
	t.Helper()
	dir, err := os.MkdirTemp("", prefix)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	os.Chmod(dir, 0o755)
	return dir
}

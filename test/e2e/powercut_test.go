package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strings"
	"sync"
	"sync/atomic"
	"syscall"
	"testing"
	"time"

	"postern.dev/postern/test/bench/benchkit/procfs"
)

// TestRootPowerCut simulates a power cut under load and checks that
// every message that got a 250 before it survives: the spool and the
// Maildir live on an ext4 filesystem in an image file on a loop device;
// the image itself lies on an XFS filesystem, where a reflink copy
// (FICLONE) takes an atomic snapshot of it. XFS flushes the image's
// dirty pages before cloning, so the snapshot holds everything ext4 has
// sent to its device, and nothing of what ext4 still held in its own
// page cache: the state a disk would have after losing power (with its
// volatile cache written out; dm-log-writes, which would also drop
// that, is not in this machine's kernel). The snapshot is mounted in
// the filesystem's place (the journal is replayed) and postern started
// on it; every message answered 250 before the cut must be delivered.
// It runs for each durable sync_method, and for "none", which must lose
// mail, to show the simulation can see a loss.
func TestRootPowerCut(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root (loop devices, mount)")
	}
	for _, tool := range []string{"mkfs.xfs", "mkfs.ext4", "losetup", "mount", "umount"} {
		if _, err := exec.LookPath(tool); err != nil {
			t.Skipf("%s not installed (apt-get install xfsprogs)", tool)
		}
	}
	for _, method := range []string{"fsync", "syncfs", "none"} {
		t.Run(method, func(t *testing.T) { powerCut(t, method) })
	}
}

func powerCut(t *testing.T, method string) {
	// Under workDir, which the daemons' users can search (t.TempDir's
	// parent is private to root).
	base, err := os.MkdirTemp(workDir, "powercut-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(base) })
	os.Chmod(base, 0o755)
	outer, inner := filepath.Join(base, "outer"), filepath.Join(base, "inner")
	run(t, "mkdir", "-p", outer, inner)
	run(t, "truncate", "-s", "2G", filepath.Join(base, "outer.img"))
	run(t, "mkfs.xfs", "-q", "-f", "-m", "reflink=1", filepath.Join(base, "outer.img"))
	run(t, "mount", "-o", "loop", filepath.Join(base, "outer.img"), outer)
	t.Cleanup(func() { unmount(outer) })
	image, snapshot := filepath.Join(outer, "disk.img"), filepath.Join(outer, "cut.img")
	run(t, "truncate", "-s", "1G", image)
	run(t, "mkfs.ext4", "-q", "-F", image)
	run(t, "mount", "-o", "loop", image, inner)
	t.Cleanup(func() { unmount(inner) })
	os.Chmod(inner, 0o755)
	dir := filepath.Join(inner, "sys")
	run(t, "mkdir", dir)

	s := NewSystem(t, Options{Dir: dir, Set: []string{"sync_method=" + method, "qmgr_scan_interval=1s", "queue_run_delay=1s",
		"minimal_backoff_time=1s", "maximal_backoff_time=2s"}})
	// No sync here: the sandbox's own files (configuration, certificate)
	// must survive the cut too; postern sandbox fsyncs them.
	const rcpt = "demo@example.test"
	var (
		mu   sync.Mutex
		next int
		stop atomic.Bool
	)
	in := inject(s, 10, func() (string, bool) {
		mu.Lock()
		defer mu.Unlock()
		next++
		return fmt.Sprintf("cut-%d", next), !stop.Load()
	}, stop.Load)
	// Let mail flow, partly delivered already, then cut.
	time.Sleep(1500 * time.Millisecond)
	before := in.snapshot()
	run(t, "cp", "--reflink=always", image, snapshot)
	// The power is gone: every process of the system stops at once
	// (each daemon has a process group of its own, so the tree is
	// walked), then dies.
	tree := processTree(s.master.Process.Pid)
	for _, pid := range tree {
		syscall.Kill(pid, syscall.SIGSTOP)
	}
	for _, pid := range processTree(s.master.Process.Pid) {
		syscall.Kill(pid, syscall.SIGKILL)
	}
	<-s.done
	s.master = nil
	stop.Store(true)
	in.wait()
	for i := 0; ; i++ {
		if exec.Command("umount", inner).Run() == nil {
			break
		}
		if i == 50 {
			t.Fatal("cannot unmount the filesystem after the cut")
		}
		time.Sleep(100 * time.Millisecond)
	}
	run(t, "mount", "-o", "loop", snapshot, inner)
	s.Start()

	deadline := time.Now().Add(90 * time.Second)
	var got map[string]int
	lost := 0
	for {
		got = deliveredIDs(t, s.Maildir(rcpt))
		lost = 0
		for id := range before {
			if got[id] == 0 {
				lost++
			}
		}
		if (lost == 0 && s.QueueEmpty()) || time.Now().After(deadline) || (method == "none" && s.QueueEmpty()) {
			break
		}
		time.Sleep(200 * time.Millisecond)
	}
	dups := 0
	for _, n := range got {
		dups += max(n-1, 0)
	}
	t.Logf("sync_method=%s: %d answered 250 before the cut, %d of them lost, %d delivered in all, %d duplicates", method, len(before), lost, len(got), dups)
	if len(before) < 100 {
		t.Errorf("only %d messages were answered before the cut: too few to mean anything", len(before))
	}
	switch {
	case method == "none" && lost == 0:
		// Without any flush the kernel writes dirty pages back after 30 s
		// (dirty_expire_centisecs); a run of two seconds that lost
		// nothing means the cut did not drop the page cache.
		t.Errorf("sync_method=none lost nothing: the simulated cut kept unflushed data")
	case method != "none" && lost > 0:
		t.Errorf("%d messages answered 250 before the power cut are lost\n%s\n%s", lost, s.QueueReport(), traceLost(s, before, got))
	case method != "none" && dups > 0:
		t.Errorf("%d messages delivered twice after the power cut", dups)
	}
	if bad := brokenFiles(t, s.Maildir(rcpt)); method != "none" && len(bad) > 0 {
		t.Errorf("%d files in the Maildir are not whole messages after the power cut: %v", len(bad), bad[:min(len(bad), 5)])
	}
	s.Stop()
}

// processTree returns root and every process descended from it.
func processTree(root int) []int {
	var pids []int
	for _, p := range procfs.Tree(root) {
		pids = append(pids, p.PID)
	}
	return pids
}

// unmount unmounts a test's filesystem, lazily if it is still busy (a
// test that failed half way may leave a process in it), so that no
// mount outlives the test.
func unmount(path string) {
	if exec.Command("umount", path).Run() != nil {
		exec.Command("umount", "-l", path).Run()
	}
}

// run runs a command, failing the test on error.
func run(t *testing.T, name string, args ...string) {
	t.Helper()
	if out, err := exec.Command(name, args...).CombinedOutput(); err != nil {
		t.Fatalf("%s %v: %v\n%s", name, args, err, out)
	}
}

// traceLost gathers what the log and the Maildir say about the first few
// lost messages: their queue IDs, every log line of those, and the
// Maildir files named after them.
func traceLost(s *System, before map[string]bool, got map[string]int) string {
	log := s.Log()
	var b strings.Builder
	n := 0
	for id := range before {
		if got[id] > 0 || n == 3 {
			continue
		}
		n++
		fmt.Fprintf(&b, "lost %s:\n", id)
		m := regexp.MustCompile(`([0-9A-V]{16}): message-id=<` + regexp.QuoteMeta(id) + `@`).FindStringSubmatch(log)
		if m == nil {
			b.WriteString("  no message-id line in the log\n")
			continue
		}
		for _, line := range strings.Split(log, "\n") {
			if strings.Contains(line, m[1]) {
				fmt.Fprintf(&b, "  %s\n", line)
			}
		}
		files, _ := filepath.Glob(filepath.Join(s.Maildir("demo@example.test"), "*", "*K"+m[1]+"*"))
		for _, f := range files {
			st, _ := os.Stat(f)
			fmt.Fprintf(&b, "  file %s (%d bytes)\n", f, st.Size())
		}
	}
	return b.String()
}

package master

import (
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"postern.dev/postern/libmail/ipc/control"
)

// lockRoot makes a spool with its pid directory.
func lockRoot(t *testing.T) string {
	t.Helper()
	root := t.TempDir()
	if err := os.Mkdir(filepath.Join(root, "pid"), 0o755); err != nil {
		t.Fatal(err)
	}
	return root
}

// holdLock takes the spool lock through a descriptor of its own, as the
// daemons of a running master hold it.
func holdLock(t *testing.T, root string) *os.File {
	t.Helper()
	f, err := os.OpenFile(filepath.Join(root, "pid", "master.lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { f.Close() })
	return f
}

// startProcess runs the test binary as a process whose argv[0] is argv0,
// until the test ends; control.IsMaster reads argv[0] to decide whether
// a pid file names a master.
func startProcess(t *testing.T, argv0 string) int {
	t.Helper()
	cmd := exec.Command(fakeBinary)
	cmd.Args = []string{argv0, fakeMasterArg}
	in, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close(); cmd.Wait() })
	// Start returns as soon as the kernel lets the parent go on, which
	// is before the new program's arguments are in place; until then
	// /proc/PID/cmdline is empty. The process says when it runs.
	if _, err := io.ReadFull(out, make([]byte, 3)); err != nil {
		t.Fatalf("the process named %s did not start: %v", argv0, err)
	}
	return cmd.Process.Pid
}

func writePID(t *testing.T, root string, pid int) {
	t.Helper()
	if err := os.WriteFile(control.PIDPath(root), []byte(fmt.Sprintln(pid)), 0o644); err != nil {
		t.Fatal(err)
	}
}

// noWait is the log function of a lockSpool that must not wait.
func noWait(t *testing.T) func(string, ...any) {
	return func(format string, args ...any) { t.Errorf("lockSpool waited: "+format, args...) }
}

// TestLockSpool: the master takes the lock, which then keeps everybody
// else out, and writes its PID to the pid file.
func TestLockSpool(t *testing.T) {
	root := lockRoot(t)
	f, err := lockSpool(root, time.Minute, noWait(t))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if pid := control.ReadPID(root); pid != os.Getpid() {
		t.Errorf("the pid file says %d, want %d", pid, os.Getpid())
	}
	if st, err := os.Stat(control.PIDPath(root)); err != nil || st.Mode().Perm() != 0o644 {
		t.Errorf("pid file: %v %v, want mode 0644", st, err)
	}
	other, err := os.Open(filepath.Join(root, "pid", "master.lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := unix.Flock(int(other.Fd()), unix.LOCK_EX|unix.LOCK_NB); !errors.Is(err, unix.EWOULDBLOCK) {
		t.Errorf("a second lock attempt: %v, want EWOULDBLOCK", err)
	}
}

// TestLockSpoolRefusesRunningMaster: while the lock is held and the pid
// file names a live master, a second master refuses at once.
func TestLockSpoolRefusesRunningMaster(t *testing.T) {
	root := lockRoot(t)
	holdLock(t, root)
	pid := startProcess(t, "master")
	writePID(t, root, pid)
	_, err := lockSpool(root, 2*time.Second, noWait(t))
	if want := "the mail system is already running (master pid " + strconv.Itoa(pid) + ")"; err == nil || err.Error() != want {
		t.Errorf("got %v, want %q", err, want)
	}
	if got := control.ReadPID(root); got != pid {
		t.Errorf("the refused master rewrote the pid file (%d)", got)
	}
}

// TestLockSpoolStalePIDFile: a pid file left by a master that is gone
// (its PID unused, or reused by another program) does not stop the next
// master once the lock is free; the pid file is rewritten.
func TestLockSpoolStalePIDFile(t *testing.T) {
	for name, pid := range map[string]int{"another program": startProcess(t, "sleep"), "no process": 0x3ffffff} {
		t.Run(name, func(t *testing.T) {
			root := lockRoot(t)
			writePID(t, root, pid)
			f, err := lockSpool(root, time.Minute, noWait(t))
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			if got := control.ReadPID(root); got != os.Getpid() {
				t.Errorf("the pid file says %d, want %d", got, os.Getpid())
			}
		})
	}
}

// TestLockSpoolWaitsForOldDaemons: the lock held with no master running
// means daemons of a master that died still finish their work; the new
// master says so and waits for them, up to the time it was given.
func TestLockSpoolWaitsForOldDaemons(t *testing.T) {
	root := lockRoot(t)
	writePID(t, root, startProcess(t, "smtpd"))
	old := holdLock(t, root)
	var said []string
	f, err := lockSpool(root, time.Minute, func(format string, args ...any) {
		said = append(said, fmt.Sprintf(format, args...))
		old.Close() // the old daemons exit
	})
	if err != nil {
		t.Fatal(err)
	}
	f.Close()
	if len(said) != 1 || said[0] != "waiting for the daemons of a previous master to exit" {
		t.Errorf("logged %q", said)
	}

	holdLock(t, root)
	_, err = lockSpool(root, 0, func(string, ...any) {})
	if err == nil || !strings.Contains(err.Error(), "daemons of a previous master still hold "+filepath.Join(root, "pid", "master.lock")) {
		t.Errorf("got %v, want the old daemons named as the reason", err)
	}
}

// TestSecondMasterRefused: a master started on the spool of a running
// one stops before it touches anything.
func TestSecondMasterRefused(t *testing.T) {
	ts := newTestSystem(t, func(ts *testSystem) string {
		// Were the running master not recognised, the second would wait
		// this long for its daemons.
		return "master_stop_timeout = \"2s\"\n" + ts.fakeService("a", "unix", "ready", "private/a")
	})
	ts.waitReady()
	// The test binary is not called master; a process that is stands in
	// for the running one in the pid file.
	pid := startProcess(t, "master")
	writePID(t, ts.cfg.QueueDirectory, pid)
	_, err := newMaster(Options{ConfigPath: ts.cfgPath, Stdout: ts.stdout})
	if want := fmt.Sprintf("already running (master pid %d)", pid); err == nil || !strings.Contains(err.Error(), want) {
		t.Errorf("got %v, want %q", err, want)
	}
	if r, err := ts.ask(control.StatusGet); err != nil || !r.Status.Ready {
		t.Errorf("the running master after the refusal: %+v, %v", r, err)
	}
}

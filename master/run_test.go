package master

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"postern.dev/postern/libmail/testkit"

	"golang.org/x/sys/unix"

	"postern.dev/postern/libmail/ipc/control"
)

// announceWriter is the master's standard output; it counts the
// announcements that the system is ready.
type announceWriter struct {
	testkit.LogBuffer
	mu    sync.Mutex
	seen  int
	ready chan struct{} // receives one value per announcement
}

func (w *announceWriter) Write(p []byte) (int, error) {
	n, err := w.LogBuffer.Write(p)
	w.mu.Lock()
	defer w.mu.Unlock()
	for c := strings.Count(w.LogBuffer.String(), "ready (master pid"); w.seen < c; w.seen++ {
		w.ready <- struct{}{}
	}
	return n, err
}

// TestRun: Run starts the system, announces it once every service is
// ready, reloads on SIGHUP, and stops its daemons and cleans up after
// itself (control socket, pid file, lock) when its context ends.
func TestRun(t *testing.T) {
	needSystemUsers(t)
	ts := &testSystem{t: t, dir: testDir(t)}
	ts.cfgPath = filepath.Join(ts.dir, "postern.toml")
	ts.reports = filepath.Join(ts.dir, "reports")
	if err := os.Mkdir(ts.reports, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(ts.reports, 0o777)
	table := ts.fakeService("a", "unix", "ready", "private/a")
	ts.writeConfig(table)
	out := &announceWriter{ready: make(chan struct{}, 4)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Options{ConfigPath: ts.cfgPath, Stdout: out}) }()
	waitFor := func(what string, ch <-chan struct{}) {
		t.Helper()
		select {
		case <-ch:
		case err := <-done:
			t.Fatalf("Run returned %v while waiting for %s", err, what)
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s in 10s; output:\n%s", what, out.String())
		}
	}
	waitFor("ready", out.ready)
	spool := filepath.Join(ts.dir, "spool")
	r, err := control.Ask(context.Background(), spool, control.StatusGet)
	if err != nil || !r.Status.Ready || len(r.Status.Services) != 1 {
		t.Fatalf("status %+v %v", r, err)
	}
	first := r.Status.Services[0].Processes[0].PID

	// SIGHUP reloads: a new service starts, and the system is announced
	// ready again.
	ts.writeConfig(table + ts.fakeService("b", "unix", "ready", "private/b"))
	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	waitFor("ready after SIGHUP", out.ready)
	r, err = control.Ask(context.Background(), spool, control.StatusGet)
	if err != nil || len(r.Status.Services) != 2 {
		t.Fatalf("status after SIGHUP %+v %v", r, err)
	}

	cancel()
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
	if !strings.HasSuffix(out.String(), "postern: stopped\n") {
		t.Errorf("output does not end with the stop:\n%s", out.String())
	}
	if err := syscall.Kill(first, 0); !errors.Is(err, syscall.ESRCH) {
		t.Errorf("daemon %d after Run: %v, want it gone", first, err)
	}
	for _, p := range []string{control.Path(spool), control.PIDPath(spool)} {
		if _, err := os.Lstat(p); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s after Run: %v, want it removed", p, err)
		}
	}
	lock, err := os.Open(filepath.Join(spool, "pid", "master.lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	if err := unix.Flock(int(lock.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		t.Errorf("the spool lock after Run: %v", err)
	}
}

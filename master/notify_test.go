package master

import (
	"context"
	"net"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// TestRunNotifiesSystemd: under systemd (NOTIFY_SOCKET) the master says
// READY=1 when every daemon has reported ready, RELOADING=1 and then
// READY=1 again on SIGHUP, even when the reload changes nothing, and
// STOPPING=1 when it stops: what a Type=notify unit waits for.
func TestRunNotifiesSystemd(t *testing.T) {
	needSystemUsers(t)
	ts := &testSystem{t: t, dir: testDir(t)}
	ts.cfgPath = filepath.Join(ts.dir, "postern.toml")
	ts.reports = filepath.Join(ts.dir, "reports")
	if err := os.Mkdir(ts.reports, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(ts.reports, 0o777)
	ts.writeConfig(ts.fakeService("a", "unix", "ready", "private/a"))

	sock := filepath.Join(ts.dir, "notify")
	systemd, err := net.ListenUnixgram("unixgram", &net.UnixAddr{Name: sock, Net: "unixgram"})
	if err != nil {
		t.Fatal(err)
	}
	defer systemd.Close()
	states := make(chan string, 16)
	go func() {
		buf := make([]byte, 4096)
		for {
			n, err := systemd.Read(buf)
			if err != nil {
				close(states)
				return
			}
			states <- string(buf[:n])
		}
	}()

	out := &announceWriter{ready: make(chan struct{}, 4)}
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	done := make(chan error, 1)
	go func() { done <- Run(ctx, Options{ConfigPath: ts.cfgPath, Stdout: out, NotifySocket: sock}) }()
	expect := func(want string) {
		t.Helper()
		select {
		case got := <-states:
			if first, _, _ := strings.Cut(got, "\n"); first != want {
				t.Fatalf("notification %q, want %s first", got, want)
			}
		case err := <-done:
			t.Fatalf("Run returned %v while waiting for %s", err, want)
		case <-time.After(10 * time.Second):
			t.Fatalf("no %s in 10s; output:\n%s", want, out.String())
		}
	}
	expect("READY=1")
	select {
	case <-out.ready:
	default:
		t.Error("READY=1 came before the ready banner")
	}

	if err := syscall.Kill(os.Getpid(), syscall.SIGHUP); err != nil {
		t.Fatal(err)
	}
	expect("RELOADING=1")
	expect("READY=1")

	cancel()
	expect("STOPPING=1")
	select {
	case err := <-done:
		if err != nil {
			t.Fatalf("Run: %v", err)
		}
	case <-time.After(20 * time.Second):
		t.Fatal("Run did not return after its context ended")
	}
}

// TestNotifierWithoutSystemd: without NOTIFY_SOCKET nothing is sent and
// nothing fails; an unreachable socket is an error the master logs.
func TestNotifierWithoutSystemd(t *testing.T) {
	if err := (notifier{}).send(notifyReady); err != nil {
		t.Errorf("no socket: %v", err)
	}
	if err := (notifier{socket: filepath.Join(t.TempDir(), "absent")}).send(notifyReady); err == nil {
		t.Error("absent socket: no error")
	}
}

package main

import (
	"fmt"
	"net"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/ipc/control"
	"postern.dev/postern/libmail/ipc/wake"
)

// fakeMaster answers on the control socket of a spool the way a master
// does, and records the requests. By default it answers status with
// itself as the master (the PID of a lingering process) and, on a stop
// request, closes its socket and stops that process, removing the pid
// file.
type fakeMaster struct {
	t      *testing.T
	spool  string
	l      net.Listener
	pid    int             // the "master" process
	exited <-chan struct{} // closed when it has exited
	reply  func(control.Request) control.Reply

	mu       sync.Mutex
	requests []string
}

// startFakeMaster listens on spool/pid/master.ctl and writes the pid file.
func startFakeMaster(t *testing.T, spool string) *fakeMaster {
	t.Helper()
	fm := &fakeMaster{t: t, spool: spool}
	fm.pid, fm.exited = startLinger(t, "master")
	if err := os.WriteFile(control.PIDPath(spool), []byte(fmt.Sprintln(fm.pid)), 0o644); err != nil {
		t.Fatal(err)
	}
	fm.reply = fm.answer
	l, err := net.Listen("unix", control.Path(spool))
	if err != nil {
		t.Fatal(err)
	}
	fm.l = l
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go fm.serve(c)
		}
	}()
	return fm
}

func (fm *fakeMaster) serve(c net.Conn) {
	conn, err := ipc.Accept(c, control.Channel, control.Version)
	if err != nil {
		return
	}
	defer conn.Close()
	for {
		var req control.Request
		if err := conn.Recv(&req); err != nil {
			return
		}
		fm.mu.Lock()
		fm.requests = append(fm.requests, req.Type)
		reply := fm.reply
		fm.mu.Unlock()
		if err := conn.SendFlush(reply(req)); err != nil {
			return
		}
	}
}

// answer is what a healthy master says.
func (fm *fakeMaster) answer(req control.Request) control.Reply {
	r := control.Reply{Type: control.ReplyType, OK: true}
	switch req.Type {
	case control.StatusGet:
		r.Status = &control.Status{PID: fm.pid, Started: time.Now().Add(-90 * time.Minute), Config: "/etc/postern/postern.toml", Ready: true,
			Services: []control.ServiceStatus{
				{Name: "qmgr", Kind: "unix", Command: "/usr/lib/postern/qmgr", User: "postern", Listen: []string{"public/qmgr"},
					Processes: []control.Process{{PID: 4001, Ready: true}}},
				{Name: "smtp", Kind: "inet", Command: "/usr/lib/postern/smtpd", User: "postern", Listen: []string{":25", "[::]:25"},
					Processes: []control.Process{{PID: 4003, Ready: true}, {PID: 4002, Ready: false}}},
				{Name: "local", Kind: "unix", Command: "/usr/lib/postern/local", User: "postern", Listen: []string{"private/local"},
					ThrottledUntil: time.Now().Add(time.Minute)},
			}}
	case control.SystemStop:
		fm.l.Close()
		os.Remove(control.PIDPath(fm.spool))
		syscall.Kill(fm.pid, syscall.SIGTERM)
	}
	return r
}

func (fm *fakeMaster) got() []string {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	return append([]string(nil), fm.requests...)
}

func (fm *fakeMaster) setReply(f func(control.Request) control.Reply) {
	fm.mu.Lock()
	defer fm.mu.Unlock()
	fm.reply = f
}

// fakeQmgr listens on spool/public/qmgr and hands over the wake-up frames
// it receives.
func fakeQmgr(t *testing.T, spool string) <-chan wake.Frame {
	t.Helper()
	l, err := net.Listen("unix", filepath.Join(spool, "public", "qmgr"))
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	frames := make(chan wake.Frame, 8)
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				conn, err := ipc.Accept(c, wake.Channel, wake.Version)
				if err != nil {
					return
				}
				defer conn.Close()
				var f wake.Frame
				if conn.Recv(&f) == nil {
					frames <- f
				}
			}()
		}
	}()
	return frames
}

// TestStatus: status prints the master, its uptime and one line per
// service: its processes (ready of all, or throttled) and their PIDs in
// order, for an admin to strace or kill one.
func TestStatus(t *testing.T) {
	e := newTestEnv(t, "")
	fm := startFakeMaster(t, e.spool)
	out, errs, code := postern("-c", e.cfg, "status")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d\n%s%s", code, out, errs)
	}
	lines := strings.Split(strings.TrimSuffix(out, "\n"), "\n")
	want := []string{
		fmt.Sprintf("postern: the mail system is running (master pid %d, up 1h30m0s, configuration /etc/postern/postern.toml)", fm.pid),
		"SERVICE      COMMAND    USER       PROCESSES    PIDS         LISTEN",
		"qmgr         qmgr       postern    1/1 ready    4001         public/qmgr",
		"smtp         smtpd      postern    1/2 ready    4002,4003    :25, [::]:25",
		"local        local      postern    throttled    -            private/local",
	}
	if len(lines) != len(want) {
		t.Fatalf("output:\n%s\nwant:\n%s", out, strings.Join(want, "\n"))
	}
	for i := range want {
		if strings.TrimRight(lines[i], " ") != want[i] {
			t.Errorf("line %d:\n%q\nwant\n%q", i+1, lines[i], want[i])
		}
	}

	fm.setReply(func(req control.Request) control.Reply {
		r := fm.answer(req)
		r.Status.Ready = false
		return r
	})
	if out := mustPostern(t, "-c", e.cfg, "status"); !strings.Contains(out, "the mail system is starting or degraded") {
		t.Errorf("a master not ready:\n%s", out)
	}
	if got := fm.got(); len(got) != 2 || got[0] != control.StatusGet {
		t.Errorf("requests %v, want two status requests", got)
	}
}

// TestStatusNotRunning: without a master, status says so and fails; with
// a master whose control socket does not answer, it says that.
func TestStatusNotRunning(t *testing.T) {
	e := newTestEnv(t, "")
	if _, errs, code := postern("-c", e.cfg, "status"); code != 1 || errs != "postern: the mail system is not running\n" {
		t.Errorf("no master: exit %d, %q", code, errs)
	}
	pid, _ := startLinger(t, "master")
	os.WriteFile(control.PIDPath(e.spool), []byte(fmt.Sprintln(pid)), 0o644)
	want := fmt.Sprintf("postern: the master runs (pid %d), but its control socket does not answer: ", pid)
	if _, errs, code := postern("-c", e.cfg, "status"); code != 1 || !strings.HasPrefix(errs, want) {
		t.Errorf("a master without its socket: exit %d, %q; want %q", code, errs, want)
	}
	// A stale pid file (its PID now another program's) changes nothing.
	other, _ := startLinger(t, "vim")
	os.WriteFile(control.PIDPath(e.spool), []byte(fmt.Sprintln(other)), 0o644)
	if _, errs, code := postern("-c", e.cfg, "status"); code != 1 || errs != "postern: the mail system is not running\n" {
		t.Errorf("a stale pid file: exit %d, %q", code, errs)
	}
}

// TestStop: stop asks the master to stop and returns once it is gone.
func TestStop(t *testing.T) {
	e := newTestEnv(t, "")
	fm := startFakeMaster(t, e.spool)
	out, errs, code := postern("stop", "-c", e.cfg)
	if code != 0 || out != "postern: the mail system is stopped\n" || errs != "" {
		t.Errorf("exit %d, %q %q", code, out, errs)
	}
	if got := fm.got(); len(got) != 2 || got[0] != control.StatusGet || got[1] != control.SystemStop {
		t.Errorf("requests %v, want status then stop", got)
	}
	// stop returns when the master's PID is gone, which for this child
	// of the test means reaped; the goroutine that reaped it says so a
	// moment later, so a short wait is not a race.
	if syscall.Kill(fm.pid, 0) == nil {
		t.Error("stop returned while the master still ran")
	}
	select {
	case <-fm.exited:
	case <-time.After(5 * time.Second):
		t.Error("the master was not reaped")
	}
	if _, errs, code := postern("stop", "-c", e.cfg); code != 1 || errs != "postern: the mail system is not running\n" {
		t.Errorf("stop without a master: exit %d, %q", code, errs)
	}
}

// TestStopSignalsMasterWithoutSocket: a master whose control socket does
// not answer gets SIGTERM, as postfix stop signals the pid in
// master.pid; a pid file naming another program is never acted on.
func TestStopSignalsMasterWithoutSocket(t *testing.T) {
	e := newTestEnv(t, "")
	other, otherExited := startLinger(t, "sshd")
	os.WriteFile(control.PIDPath(e.spool), []byte(fmt.Sprintln(other)), 0o644)
	if _, errs, code := postern("-c", e.cfg, "stop"); code != 1 || errs != "postern: the mail system is not running\n" {
		t.Errorf("a stale pid file: exit %d, %q", code, errs)
	}
	select {
	case <-otherExited:
		t.Fatal("stop signalled the program a stale pid file named")
	default:
	}

	pid, exited := startLinger(t, "master")
	os.WriteFile(control.PIDPath(e.spool), []byte(fmt.Sprintln(pid)), 0o644)
	out, errs, code := postern("-c", e.cfg, "stop")
	want := fmt.Sprintf("; sending SIGTERM to the master (pid %d)\n", pid)
	if code != 0 || out != "postern: the mail system is stopped\n" || !strings.HasPrefix(errs, "postern: warning: the control socket does not answer") ||
		!strings.HasSuffix(errs, want) {
		t.Errorf("exit %d, %q %q", code, out, errs)
	}
	<-exited
}

// TestStatusStopWithBrokenConfig: with a typo in the file, or a file that
// is not TOML at all, status and stop still find the master through the
// queue_directory they can read, and warn about the file.
func TestStatusStopWithBrokenConfig(t *testing.T) {
	for name, broken := range map[string]string{"a typo": "mesage_size_limit = 5\n", "not TOML": "this is = = not toml\n"} {
		t.Run(name, func(t *testing.T) {
			e := newTestEnv(t, broken)
			fm := startFakeMaster(t, e.spool)
			warning := "postern: warning: the configuration does not load; looking for the master in " + e.spool + "\n"
			out, errs, code := postern("-c", e.cfg, "status")
			if code != 0 || !strings.Contains(out, "the mail system is running") || !strings.HasSuffix(errs, warning) {
				t.Errorf("status: exit %d\n%s%s", code, out, errs)
			}
			out, errs, code = postern("-c", e.cfg, "stop")
			if code != 0 || out != "postern: the mail system is stopped\n" || !strings.HasSuffix(errs, warning) {
				t.Errorf("stop: exit %d\n%s%s", code, out, errs)
			}
			<-fm.exited
		})
	}
}

// TestReload: reload asks the master and reports its answer; a file that
// does not load is refused here, before the master is asked.
func TestReload(t *testing.T) {
	e := newTestEnv(t, "")
	if _, errs, code := postern("-c", e.cfg, "reload"); code != 1 || errs != "postern: the mail system is not running\n" {
		t.Errorf("no master: exit %d, %q", code, errs)
	}
	fm := startFakeMaster(t, e.spool)
	if out := mustPostern(t, "-c", e.cfg, "reload"); out != "postern: the configuration was reloaded\n" {
		t.Errorf("output %q", out)
	}
	fm.setReply(func(control.Request) control.Reply {
		return control.Reply{Type: control.ReplyType, Error: "postern.toml:3: something is wrong"}
	})
	if _, errs, code := postern("-c", e.cfg, "reload"); code != 1 || errs != "postern: reload: postern.toml:3: something is wrong\n" {
		t.Errorf("a refused reload: exit %d, %q", code, errs)
	}
	e.write(t, "postern.toml", "mesage_size_limit = 5\n", 0o644)
	if _, errs, code := postern("-c", e.cfg, "reload"); code != 1 || !strings.Contains(errs, "mesage_size_limit") {
		t.Errorf("a broken file: exit %d, %q", code, errs)
	}
	if got := fm.got(); len(got) != 2 || got[0] != control.ConfigReload || got[1] != control.ConfigReload {
		t.Errorf("requests %v, want two reloads (the broken file must not reach the master)", got)
	}
}

// TestFlush: flush asks qmgr to rescan every queue now, or, with -s, the
// mail for one site; without a qmgr it fails.
func TestFlush(t *testing.T) {
	e := newTestEnv(t, "")
	if _, errs, code := postern("-c", e.cfg, "flush"); code != 1 || !strings.HasPrefix(errs, "postern: the queue manager is not reachable: ") {
		t.Errorf("no qmgr: exit %d, %q", code, errs)
	}
	frames := fakeQmgr(t, e.spool)
	for _, tc := range []struct {
		args []string
		want wake.Frame
	}{
		{[]string{"flush"}, wake.Frame{Type: wake.Type, Scan: true}},
		{[]string{"flush", "-s", "example.org"}, wake.Frame{Type: wake.Type, Scan: true, Site: "example.org"}},
		{[]string{"flush", "-s", "[192.0.2.1]:2525"}, wake.Frame{Type: wake.Type, Scan: true, Site: "[192.0.2.1]:2525"}},
	} {
		mustPostern(t, append([]string{"-c", e.cfg}, tc.args...)...)
		select {
		case f := <-frames:
			if f.Type != tc.want.Type || f.Scan != tc.want.Scan || f.Site != tc.want.Site || len(f.IDs) != 0 {
				t.Errorf("%v sent %+v, want %+v", tc.args, f, tc.want)
			}
			if err := f.Validate(); err != nil {
				t.Errorf("%v sent a frame qmgr refuses: %v", tc.args, err)
			}
		case <-time.After(10 * time.Second):
			t.Fatalf("%v sent nothing", tc.args)
		}
	}
}

// TestStart: start refuses when a master answers, and reports why a
// master that exits at once failed.
func TestStart(t *testing.T) {
	e := newTestEnv(t, "")
	e.write(t, "bin/master", "#!/bin/sh\necho 'master: fatal: no way' >&2\nexit 3\n", 0o755)
	_, errs, code := postern("-c", e.cfg, "start")
	if code != 1 || !strings.Contains(errs, "the master exited (exit status 3): master: fatal: no way") {
		t.Errorf("a master that fails: exit %d, %q", code, errs)
	}
	fm := startFakeMaster(t, e.spool)
	want := fmt.Sprintf("postern: the mail system is already running (master pid %d)\n", fm.pid)
	if _, errs, code := postern("-c", e.cfg, "start"); code != 1 || errs != want {
		t.Errorf("a running master: exit %d, %q", code, errs)
	}
}

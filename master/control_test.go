package master

import (
	"context"
	"io"
	"net"
	"os"
	"slices"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/ipc/control"
)

// TestControlStatus: the status reply describes the master and each
// enabled service, in name order, with its processes and whether they
// are ready; the system is ready only when every process is.
func TestControlStatus(t *testing.T) {
	ts := newTestSystem(t, func(ts *testSystem) string {
		return ts.fakeService("b", "inet", "ready", "127.0.0.1:0") + "process_limit = 2\n" +
			ts.fakeService("a", "unix", "silent", "private/a")
	})
	ts.until("b ready", func() bool {
		ps := ts.procsOf("b")
		return len(ps) == 2 && ps[0].ready && ps[1].ready
	})
	r, err := ts.ask(control.StatusGet)
	if err != nil {
		t.Fatal(err)
	}
	st := r.Status
	if !r.OK || r.Type != control.ReplyType || st == nil {
		t.Fatalf("reply %+v", r)
	}
	if st.PID != os.Getpid() || !st.Started.Equal(ts.clock) || st.Config != ts.cfgPath || st.Ready {
		t.Errorf("status %+v, want this process, started now, %s, not ready (a is silent)", st, ts.cfgPath)
	}
	if len(st.Services) != 2 || st.Services[0].Name != "a" || st.Services[1].Name != "b" {
		t.Fatalf("services %+v, want a and b in that order", st.Services)
	}
	for _, s := range st.Services {
		want := ts.services[s.Name]
		if s.Kind != want.cfg.Kind || s.Command != fakeBinary || s.User != ts.id.owner.Name ||
			!slices.Equal(s.Listen, want.cfg.Listen) || !s.ThrottledUntil.IsZero() {
			t.Errorf("service %+v, want %s as %s", s, fakeBinary, ts.id.owner.Name)
		}
		var pids []int
		for _, p := range s.Processes {
			pids = append(pids, p.PID)
			if p.Ready != (s.Name == "b") || !p.Started.Equal(ts.clock) {
				t.Errorf("service %s: process %+v", s.Name, p)
			}
		}
		var wantPIDs []int
		for _, p := range ts.procsOf(s.Name) {
			wantPIDs = append(wantPIDs, p.pid)
		}
		slices.Sort(pids)
		slices.Sort(wantPIDs)
		if !slices.Equal(pids, wantPIDs) {
			t.Errorf("service %s: processes %v, want %v", s.Name, pids, wantPIDs)
		}
	}
}

// TestControlReloadAndStop: reload and stop requests do what SIGHUP and
// SIGTERM do, and are answered first.
func TestControlReloadAndStop(t *testing.T) {
	ts := newTestSystem(t, func(ts *testSystem) string {
		return ts.fakeService("a", "unix", "ready", "private/a")
	})
	ts.waitReady()
	if r, err := ts.ask(control.ConfigReload); err != nil || !r.OK {
		t.Fatalf("reload: %+v %v", r, err)
	}
	if !strings.Contains(ts.log(), "reload -- version") {
		t.Errorf("the log does not show the reload:\n%s", ts.log())
	}
	if r, err := ts.ask(control.SystemStop); err != nil || !r.OK {
		t.Fatalf("stop: %+v %v", r, err)
	}
	if !ts.stopping || !strings.Contains(ts.log(), "stopping (admin request)") {
		t.Error("the master is not stopping")
	}
	ts.until("the daemons' end", func() bool { return ts.procCount() == 0 })
	if _, err := control.Ask(context.Background(), ts.cfg.QueueDirectory, control.StatusGet); err == nil {
		t.Error("a stopping master still takes requests")
	}
}

// TestControlBadRequests: a request of an unknown type is answered with
// an error and ends the connection; a frame that does not decode, or a
// client of another channel or version, gets nothing through. None of
// them reaches the master's loop, which goes on answering.
func TestControlBadRequests(t *testing.T) {
	ts := newTestSystem(t, func(ts *testSystem) string {
		return ts.fakeService("a", "unix", "ready", "private/a")
	})
	ts.waitReady()
	path := control.Path(ts.cfg.QueueDirectory)
	dial := func(h ipc.Hello) (*ipc.Conn, error) {
		ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		defer cancel()
		return ipc.Dial(ctx, path, h)
	}
	good := ipc.Hello{Channel: control.Channel, Version: control.Version}

	conn, err := dial(good)
	if err != nil {
		t.Fatal(err)
	}
	// A request that got through would leave the connection open.
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	conn.SendFlush(control.Request{Type: "master-mail-send"})
	var r control.Reply
	if err := conn.Recv(&r); err != nil || r.OK || r.Error != `control request of type "master-mail-send"` {
		t.Errorf("unknown request type: %+v %v", r, err)
	}
	if err := conn.Recv(&r); err != io.EOF {
		t.Errorf("after a bad request the connection gave %v, want EOF", err)
	}
	conn.Close()

	conn, err = dial(good)
	if err != nil {
		t.Fatal(err)
	}
	conn.SetReadDeadline(time.Now().Add(10 * time.Second))
	conn.SendFlush(map[string]any{"type": control.SystemStop, "force": true})
	if err := conn.Recv(&r); err != io.EOF {
		t.Errorf("a frame with an unknown field: %v, want EOF", err)
	}
	conn.Close()

	for _, h := range []ipc.Hello{{Channel: "qmgr-wake", Version: 1}, {Channel: control.Channel, Version: 2}} {
		if c, err := dial(h); err == nil || !strings.Contains(err.Error(), "this socket speaks master-control v1") {
			t.Errorf("hello %+v: %v, want a refusal", h, err)
			if c != nil {
				c.Close()
			}
		}
	}

	if n := len(ts.events); n != 0 {
		t.Errorf("bad requests sent %d events to the loop", n)
	}
	if r, err := ts.ask(control.StatusGet); err != nil || !r.OK || ts.stopping {
		t.Errorf("after the bad requests: %+v %v, stopping %v", r, err, ts.stopping)
	}
}

// TestControlSocket: the socket is pid/master.ctl, mode 0600; one left
// by a master that crashed is replaced, anything else in its place is
// an error, never removed.
func TestControlSocket(t *testing.T) {
	ts := newTestSystem(t, func(ts *testSystem) string {
		return ts.fakeService("a", "unix", "ready", "private/a")
	})
	path := control.Path(ts.cfg.QueueDirectory)
	st, err := os.Lstat(path)
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o600 {
		t.Errorf("%s: %v, want a socket 0600", path, st.Mode())
	}
	ts.ctl.Close() // the socket file stays, as after a crash
	if _, err := net.Dial("unix", path); err == nil {
		t.Fatal("a closed control socket accepts connections")
	}
	if err := ts.listenControl(); err != nil {
		t.Fatalf("a stale control socket was not replaced: %v", err)
	}
	ts.waitReady()
	if r, err := ts.ask(control.StatusGet); err != nil || !r.OK {
		t.Errorf("the new control socket: %+v %v", r, err)
	}

	ts.ctl.Close()
	os.Remove(path)
	if err := os.WriteFile(path, []byte("not a socket"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := ts.listenControl(); err == nil {
		t.Error("listened over a file that is not a socket")
	}
	if b, err := os.ReadFile(path); err != nil || string(b) != "not a socket" {
		t.Errorf("the file in the way was changed: %q %v", b, err)
	}
	os.Remove(path)
}

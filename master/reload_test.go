package master

import (
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"postern.dev/postern/libmail/ipc/control"
)

// TestReloadRestartsWhatChanged: on reload, a service whose definition
// or parameters did not change keeps its processes; one whose args or
// parameters changed restarts on the sockets it had, which never stop
// listening (a client that connects during the restart waits in the
// backlog); one whose address changed restarts on a new socket; a
// removed service stops and an added one starts.
func TestReloadRestartsWhatChanged(t *testing.T) {
	var table func(changed bool) string
	ts := newTestSystem(t, func(ts *testSystem) string {
		table = func(changed bool) string {
			args, addr, more := []string{"ready"}, "127.0.0.1:0", ""
			if changed {
				args, addr = []string{"ready", "v2"}, "127.0.0.2:0"
				more = "[services.param.overrides]\nsmtpd_timeout = \"10s\"\n" +
					ts.fakeService("added", "unix", "ready", "private/added")
			} else {
				more = ts.fakeService("gone", "unix", "ready", "private/gone")
			}
			return ts.fakeService("keep", "unix", "ready", "private/keep") +
				ts.fakeServiceArgs("args", "unix", args, "private/args") +
				ts.fakeService("moved", "inet", "ready", addr) +
				ts.fakeService("param", "unix", "ready", "private/param") + more
		}
		return table(false)
	})
	ts.waitReady()
	type snapshot struct {
		proc *proc
		file *os.File
		ino  uint64
	}
	before := map[string]snapshot{}
	for _, name := range []string{"keep", "args", "moved", "param", "gone"} {
		s := ts.services[name]
		p := ts.procsOf(name)[0]
		before[name] = snapshot{p, s.files[0], ts.reportOf(name, p.pid).Sockets[0].Ino}
	}

	ts.writeConfig(table(true))
	if err := ts.reload(); err != nil {
		t.Fatal(err)
	}
	// The old processes have their SIGTERM; the sockets of args still
	// accept connections, which the next process will take.
	c, err := net.Dial("unix", filepath.Join(ts.cfg.QueueDirectory, "private/args"))
	if err != nil {
		t.Errorf("the socket of a restarting service refused a connection: %v", err)
	} else {
		c.Close()
	}
	ts.until("the reload's end", func() bool { return ts.ready() && ts.services["gone"] == nil })

	for name, b := range before {
		s := ts.services[name]
		if name == "gone" {
			if s != nil || b.proc.cmd.ProcessState == nil {
				t.Errorf("gone: still %v, process exited %v", s, b.proc.cmd.ProcessState)
			}
			continue
		}
		procs := ts.procsOf(name)
		if len(procs) != 1 {
			t.Fatalf("%s: %d processes after the reload", name, len(procs))
		}
		restarted := procs[0] != b.proc
		r := ts.reportOf(name, procs[0].pid)
		switch name {
		case "keep":
			if restarted || s.files[0] != b.file {
				t.Errorf("keep restarted (%v) or changed sockets, and nothing changed", restarted)
			}
		case "args", "param":
			if !restarted || b.proc.cmd.ProcessState == nil {
				t.Errorf("%s: not restarted, though it changed", name)
			}
			if s.files[0] != b.file || r.Sockets[0].Ino != b.ino {
				t.Errorf("%s: a new socket, though its address did not change", name)
			}
		case "moved":
			if !restarted || s.files[0] == b.file || r.Sockets[0].Ino == b.ino || !strings.HasPrefix(r.Sockets[0].Addr, "tcp:127.0.0.2:") {
				t.Errorf("moved: restarted %v, socket %+v; want a restart on a new socket at 127.0.0.2", restarted, r.Sockets[0])
			}
		}
	}
	if ps := ts.procsOf("added"); len(ps) != 1 {
		t.Errorf("added: %d processes, want 1", len(ps))
	}
	log := ts.log()
	for _, w := range []string{"reload -- version", "reload: service args changed; restarting it", "reload: service param changed; restarting it",
		"reload: service moved changed; restarting it", "reload: service gone removed", "reload: service added added"} {
		if !strings.Contains(log, w) {
			t.Errorf("the log lacks %q", w)
		}
	}
	if strings.Contains(log, "service keep changed") {
		t.Error("the log says keep changed")
	}
	if n := strings.Count(ts.stdout.String(), "ready (master pid"); n != 2 {
		t.Errorf("announced ready %d times, want once at start and once after the reload", n)
	}
}

// TestReloadGlobalParameter: a parameter every daemon sees restarts every
// service, each on its own sockets.
func TestReloadGlobalParameter(t *testing.T) {
	var table string
	ts := newTestSystem(t, func(ts *testSystem) string {
		table = ts.fakeService("a", "unix", "ready", "private/a") + ts.fakeService("b", "inet", "ready", "127.0.0.1:0")
		return table
	})
	ts.waitReady()
	old := map[string]*proc{"a": ts.procsOf("a")[0], "b": ts.procsOf("b")[0]}
	files := map[string]*os.File{"a": ts.services["a"].files[0], "b": ts.services["b"].files[0]}
	ts.writeConfig("message_size_limit = 1234\n" + table)
	if err := ts.reload(); err != nil {
		t.Fatal(err)
	}
	ts.until("the restarts", func() bool { return ts.ready() })
	for name, p := range old {
		if ts.procsOf(name)[0] == p || ts.services[name].files[0] != files[name] {
			t.Errorf("%s: not restarted, or restarted on new sockets", name)
		}
	}
}

// TestReloadRefusesBrokenConfig: a configuration that does not load
// changes nothing, and the admin hears why.
func TestReloadRefusesBrokenConfig(t *testing.T) {
	ts := newTestSystem(t, func(ts *testSystem) string {
		return ts.fakeService("a", "unix", "ready", "private/a")
	})
	ts.waitReady()
	p, cfg := ts.procsOf("a")[0], ts.cfg
	if err := os.WriteFile(ts.cfgPath, []byte("message_size_limit = \"lots\"\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	r, err := ts.ask(control.ConfigReload)
	if err != nil {
		t.Fatal(err)
	}
	if r.OK || !strings.Contains(r.Error, "message_size_limit") {
		t.Errorf("reply %+v, want a refusal that names message_size_limit", r)
	}
	if ts.cfg != cfg || ts.procsOf("a")[0] != p || ts.services["a"].retiring {
		t.Error("a configuration that does not load changed the running system")
	}
}

// TestReloadBindFailureKeepsService: a new address that cannot be bound
// leaves the service as it was, running on its old socket.
func TestReloadBindFailureKeepsService(t *testing.T) {
	taken, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer taken.Close()
	ts := newTestSystem(t, func(ts *testSystem) string {
		return ts.fakeService("a", "inet", "ready", "127.0.0.1:0")
	})
	ts.waitReady()
	p, file := ts.procsOf("a")[0], ts.services["a"].files[0]
	ts.writeConfig(ts.fakeService("a", "inet", "ready", taken.Addr().String()))
	if err := ts.reload(); err != nil {
		t.Fatal(err)
	}
	s := ts.services["a"]
	if s.retiring || ts.procsOf("a")[0] != p || s.files[0] != file || s.cfg.Listen[0] != "127.0.0.1:0" {
		t.Error("a service whose new address is taken was changed")
	}
	if want := "reload: service a keeps its old settings: "; !strings.Contains(ts.log(), want) ||
		!strings.Contains(ts.log(), "(another mail server, or another postern, is listening there)") {
		t.Errorf("the log lacks %q and the hint:\n%s", want, ts.log())
	}
}

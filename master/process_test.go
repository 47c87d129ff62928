package master

import (
	"fmt"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/ipc/control"
)

// passedEnv are the variables a daemon may find in its environment: what
// the master sets, and what it passes through from its own.
var passedEnv = []string{"PATH", "LISTEN_FDS", "LISTEN_FDNAMES", daemon.StatusFDEnv, daemon.LockFDEnv,
	"TZ", "LANG", "GOTRACEBACK", "GODEBUG", "GOMAXPROCS", daemon.ProfileEnv}

func envMap(env []string) map[string]string {
	m := map[string]string{}
	for _, kv := range env {
		k, v, _ := strings.Cut(kv, "=")
		m[k] = v
	}
	return m
}

func inode(t *testing.T, f *os.File) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

// TestDaemonProcesses: every enabled service of the table becomes
// process_limit processes of its command, started with -c and -s before
// the service's args; each inherits the service's listening sockets from
// descriptor 3 on, named in LISTEN_FDS and LISTEN_FDNAMES, then its
// status socket and the spool lock; the environment holds nothing else
// but the few variables passed through; each process leads its own
// process group; and it runs as mail_owner (or the service's user) when
// the master is root, as the invoking user when not, with capabilities
// only where the service keeps them.
func TestDaemonProcesses(t *testing.T) {
	t.Setenv("TZ", "Europe/Paris")
	t.Setenv("POSTERN_TEST_NOT_PASSED", "secret")
	root := os.Geteuid() == 0
	if root {
		if _, err := daemon.LookupUser("nobody"); err != nil {
			t.Skip("needs the user nobody:", err)
		}
	}
	ts := newTestSystem(t, func(ts *testSystem) string {
		return ts.fakeService("alpha", "unix", "ready", "public/alpha", "private/alpha") + "process_limit = 2\n" +
			ts.fakeService("beta", "inet", "ready", "127.0.0.1:0") + "capabilities = [\"setuid\", \"setgid\"]\n" +
			ts.fakeService("gamma", "unix", "ready", "private/gamma") + "user = \"nobody\"\n"
	})
	ts.waitReady()
	spool := ts.cfg.QueueDirectory
	lock, err := os.Open(filepath.Join(spool, "pid", "master.lock"))
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	lockIno := inode(t, lock)

	want := map[string]struct {
		procs   int
		sockets []string
		user    string // as root; "" is mail_owner
		caps    string // CapAmb as root
	}{
		"alpha": {2, []string{"unix:" + filepath.Join(spool, "public/alpha"), "unix:" + filepath.Join(spool, "private/alpha")}, "", "0000000000000000"},
		"beta":  {1, []string{"tcp:127.0.0.1:"}, "", fmt.Sprintf("%016x", 1<<unix.CAP_SETUID|1<<unix.CAP_SETGID)},
		"gamma": {1, []string{"unix:" + filepath.Join(spool, "private/gamma")}, "nobody", "0000000000000000"},
	}
	for name, w := range want {
		s := ts.services[name]
		procs := ts.procsOf(name)
		if len(procs) != w.procs {
			t.Errorf("%s: %d processes, want %d", name, len(procs), w.procs)
		}
		for _, p := range procs {
			r := ts.reportOf(name, p.pid)
			wantArgs := []string{fakeBinary, "-c", ts.cfgPath, "-s", name, fakeDaemonArg, "ready", ts.reports}
			if !slices.Equal(r.Args, wantArgs) {
				t.Errorf("%s: arguments %q, want %q", name, r.Args, wantArgs)
			}
			env := envMap(r.Env)
			for k := range env {
				if !slices.Contains(passedEnv, k) {
					t.Errorf("%s: the environment has %s", name, k)
				}
			}
			n := len(w.sockets)
			var names []string
			for i := range n {
				names = append(names, fmt.Sprintf("%s.%d", name, i))
			}
			for k, v := range map[string]string{"LISTEN_FDS": fmt.Sprint(n), "LISTEN_FDNAMES": strings.Join(names, ":"),
				daemon.StatusFDEnv: fmt.Sprint(3 + n), daemon.LockFDEnv: fmt.Sprint(4 + n), "TZ": "Europe/Paris",
				"PATH": "/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin"} {
				if env[k] != v {
					t.Errorf("%s: %s=%q, want %q", name, k, env[k], v)
				}
			}
			if len(r.Sockets) != n {
				t.Fatalf("%s: %d sockets inherited, want %d", name, len(r.Sockets), n)
			}
			for i, sock := range r.Sockets {
				if !strings.HasPrefix(sock.Addr, w.sockets[i]) || !sock.Listening || sock.FD != 3+i {
					t.Errorf("%s: descriptor %d is %+v, want a listening socket at %s", name, 3+i, sock, w.sockets[i])
				}
				if sock.Ino != inode(t, s.files[i]) {
					t.Errorf("%s: descriptor %d is not the master's socket for %s", name, 3+i, s.cfg.Listen[i])
				}
			}
			if r.StatusFD != 3+n || r.LockFD != 4+n || r.LockIno != lockIno {
				t.Errorf("%s: status on %d, lock on %d (inode %d); want %d, and %d the spool lock (inode %d)",
					name, r.StatusFD, r.LockFD, r.LockIno, 3+n, 4+n, lockIno)
			}
			if r.PGID != r.PID {
				t.Errorf("%s: process group %d, want its own (%d)", name, r.PGID, r.PID)
			}
			wantUID, wantGID := os.Getuid(), os.Getgid()
			if root {
				who := w.user
				if who == "" {
					who = ts.cfg.MailOwner
				}
				u, err := daemon.LookupUser(who)
				if err != nil {
					t.Fatal(err)
				}
				wantUID, wantGID = u.UID, u.GID
				if r.CapAmb != w.caps || r.CapEff != w.caps {
					t.Errorf("%s: capabilities effective %s, ambient %s; want %s", name, r.CapEff, r.CapAmb, w.caps)
				}
			}
			if r.UID != wantUID || r.EUID != wantUID || r.GID != wantGID || r.EGID != wantGID {
				t.Errorf("%s: runs as uid %d/%d gid %d/%d, want %d and %d", name, r.UID, r.EUID, r.GID, r.EGID, wantUID, wantGID)
			}
		}
	}

	// The unix sockets belong to the daemons' user, for their peers only.
	owner := ts.id.owner
	for _, l := range []string{"public/alpha", "private/alpha", "private/gamma"} {
		st, err := os.Lstat(filepath.Join(spool, l))
		if err != nil {
			t.Fatal(err)
		}
		sys := st.Sys().(*syscall.Stat_t)
		if st.Mode()&os.ModeSocket == 0 || st.Mode().Perm() != 0o660 || int(sys.Uid) != owner.UID || int(sys.Gid) != owner.GID {
			t.Errorf("%s: mode %v owner %d:%d, want a socket 0660 %d:%d", l, st.Mode(), sys.Uid, sys.Gid, owner.UID, owner.GID)
		}
	}

	// Once everything is ready, the master says what listens where.
	out := ts.stdout.String()
	for _, w := range []string{"ready (master pid", filepath.Join(spool, "public/alpha"), "127.0.0.1:0", "mail log: "} {
		if !strings.Contains(out, w) {
			t.Errorf("the announcement lacks %q:\n%s", w, out)
		}
	}
}

// TestCommandAsRoot: under a root master, the process of a service gets
// the credentials of its user, groups included, and keeps as ambient
// capabilities exactly those the service names; -v reaches the daemon.
// The identity is made up, so this runs without root: the command is
// only built, not started.
func TestCommandAsRoot(t *testing.T) {
	lock, err := os.CreateTemp(t.TempDir(), "lock")
	if err != nil {
		t.Fatal(err)
	}
	defer lock.Close()
	user := &daemon.User{Name: "mailer", UID: 4242, GID: 4343, Groups: []uint32{4343, 25}}
	m := &Master{opt: Options{Verbose: true}, cfgPath: "/etc/postern/postern.toml", lock: lock,
		id: &identity{root: true, owner: user, vmail: user}}
	svc := &config.Service{Name: "local", Kind: "unix", Listen: []string{"private/local"}, Command: "local",
		Args: []string{"-x"}, ProcessLimit: 1, Capabilities: []string{"setuid", "setgid"}}
	svc.Params.DaemonDirectory = "/usr/lib/postern"
	status, err := os.CreateTemp(t.TempDir(), "status")
	if err != nil {
		t.Fatal(err)
	}
	defer status.Close()
	cmd, err := m.command(&service{cfg: svc}, user, status)
	if err != nil {
		t.Fatal(err)
	}
	if cmd.Path != "/usr/lib/postern/local" {
		t.Errorf("runs %s, want the command in daemon_directory", cmd.Path)
	}
	if want := []string{"/usr/lib/postern/local", "-v", "-c", "/etc/postern/postern.toml", "-s", "local", "-x"}; !slices.Equal(cmd.Args, want) {
		t.Errorf("arguments %q, want %q", cmd.Args, want)
	}
	if len(cmd.ExtraFiles) != 2 || cmd.ExtraFiles[0] != status || cmd.ExtraFiles[1] != lock {
		t.Errorf("descriptors from 3: %v, want the status socket and the lock", cmd.ExtraFiles)
	}
	attr := cmd.SysProcAttr
	if c := attr.Credential; c == nil || c.Uid != 4242 || c.Gid != 4343 || !slices.Equal(c.Groups, []uint32{4343, 25}) {
		t.Errorf("credential %+v, want uid 4242 gid 4343 groups 4343,25", c)
	}
	if want := []uintptr{unix.CAP_SETUID, unix.CAP_SETGID}; !slices.Equal(attr.AmbientCaps, want) {
		t.Errorf("ambient capabilities %v, want %v", attr.AmbientCaps, want)
	}
	if !attr.Setpgid {
		t.Error("the daemon does not get its own process group")
	}

	// Not root: the same service runs as the invoking user, and keeps no
	// capabilities (it has none to keep).
	m.id.root = false
	cmd, err = m.command(&service{cfg: svc}, user, status)
	if err != nil {
		t.Fatal(err)
	}
	if cmd.SysProcAttr.Credential != nil || cmd.SysProcAttr.AmbientCaps != nil {
		t.Errorf("not root, yet credential %+v, capabilities %v", cmd.SysProcAttr.Credential, cmd.SysProcAttr.AmbientCaps)
	}

	m.id.root = true
	svc.Capabilities = []string{"sys_admin"}
	if _, err := m.command(&service{cfg: svc}, user, status); err == nil {
		t.Error("a capability outside the known ones was accepted")
	}
}

// TestThrottleDaemonThatDiesBeforeReady: a daemon that exits before it
// said READY=1 is not restarted at once (it would only die again) but
// after service_throttle_time, as Postfix's master does; status shows
// the service throttled until then.
func TestThrottleDaemonThatDiesBeforeReady(t *testing.T) {
	ts := newTestSystem(t, func(ts *testSystem) string {
		return "service_throttle_time = \"45s\"\n" + ts.fakeService("crash", "unix", "exit", "private/crash")
	})
	ts.until("the throttle timer", func() bool { return len(ts.timers) == 1 })
	start := ts.clock
	if tm := ts.timers[0]; tm.d != 45*time.Second || tm.ev != (throttleDone{"crash"}) {
		t.Errorf("timer %+v, want throttleDone for crash after 45s", tm)
	}
	if n := len(ts.procsOf("crash")); n != 0 {
		t.Errorf("%d processes right after the crash, want none", n)
	}
	log := ts.log()
	for _, w := range []string{fakeBinary + " pid ", " exit status 3", fakeBinary + ": bad command startup -- throttling"} {
		if !strings.Contains(log, w) {
			t.Errorf("the log lacks %q:\n%s", w, log)
		}
	}
	r, err := ts.ask(control.StatusGet)
	if err != nil {
		t.Fatal(err)
	}
	if st := r.Status; st.Ready || len(st.Services) != 1 || !st.Services[0].ThrottledUntil.Equal(start.Add(45*time.Second)) {
		t.Errorf("status %+v, want not ready and crash throttled until %v", st, start.Add(45*time.Second))
	}

	// A timer that fires early (a reload reset it, say) restarts nothing.
	ts.clock = start.Add(44 * time.Second)
	ts.handle(throttleDone{"crash"})
	if n := len(ts.procsOf("crash")); n != 0 || len(ts.reportsOf("crash")) != 1 {
		t.Errorf("restarted before the throttle time was over")
	}
	ts.clock = start.Add(45 * time.Second)
	r, err = ts.ask(control.StatusGet)
	if err != nil {
		t.Fatal(err)
	}
	if tu := r.Status.Services[0].ThrottledUntil; !tu.IsZero() {
		t.Errorf("status says throttled until %v once that time has come", tu)
	}
	ts.handle(throttleDone{"crash"})
	if n := len(ts.procsOf("crash")); n != 1 {
		t.Fatalf("%d processes when the throttle time is over, want 1", n)
	}
	ts.until("the second throttle", func() bool { return len(ts.timers) == 2 })
	if n := len(ts.reportsOf("crash")); n != 2 {
		t.Errorf("%d processes started in all, want 2", n)
	}
}

// TestThrottledServiceStartsNothing: while a service is throttled, the
// death of another of its processes, even a ready one, starts none.
func TestThrottledServiceStartsNothing(t *testing.T) {
	ts := newTestSystem(t, func(ts *testSystem) string {
		return ts.fakeService("alpha", "unix", "ready", "private/alpha")
	})
	ts.waitReady()
	s := ts.services["alpha"]
	s.throttledUntil = ts.clock.Add(time.Minute)
	p := ts.procsOf("alpha")[0]
	if err := p.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	ts.until("the process's end", func() bool { return len(s.procs) == 0 })
	if n := len(ts.reportsOf("alpha")); n != 1 {
		t.Errorf("%d processes started while throttled, want none", n-1)
	}
	ts.clock = ts.clock.Add(time.Minute)
	ts.handle(throttleDone{"alpha"})
	if len(s.procs) != 1 {
		t.Errorf("%d processes once the throttle is over, want 1", len(s.procs))
	}
}

// TestRestartDaemonThatDies: a daemon that dies once it was ready is
// restarted at once, without throttling, and the log says how it died.
func TestRestartDaemonThatDies(t *testing.T) {
	ts := newTestSystem(t, func(ts *testSystem) string {
		return ts.fakeService("alpha", "unix", "ready", "private/alpha")
	})
	ts.waitReady()
	old := ts.procsOf("alpha")[0]
	if err := old.cmd.Process.Kill(); err != nil {
		t.Fatal(err)
	}
	ts.until("a new process", func() bool { p := ts.procsOf("alpha"); return len(p) == 1 && p[0] != old })
	if len(ts.timers) != 0 {
		t.Errorf("throttled (%+v) a daemon that had been ready", ts.timers)
	}
	if want := fmt.Sprintf("process %s pid %d killed by signal 9", fakeBinary, old.pid); !strings.Contains(ts.log(), want) {
		t.Errorf("the log lacks %q:\n%s", want, ts.log())
	}
	ts.waitReady()
}

// TestThrottleProgramThatDoesNotStart: a command that cannot be started
// throttles its service the same way.
func TestThrottleProgramThatDoesNotStart(t *testing.T) {
	var missing string
	ts := newTestSystem(t, func(ts *testSystem) string {
		missing = filepath.Join(ts.dir, "no-such-program")
		return fmt.Sprintf("[services.ghost]\nkind = \"unix\"\nlisten = [\"private/ghost\"]\ncommand = %q\n", missing)
	})
	if len(ts.timers) != 1 || ts.timers[0].ev != (throttleDone{"ghost"}) {
		t.Fatalf("timers %+v, want one throttleDone for ghost", ts.timers)
	}
	if want := "service ghost: start " + missing; !strings.Contains(ts.log(), want) || !strings.Contains(ts.log(), "-- throttling") {
		t.Errorf("the log lacks %q ... -- throttling:\n%s", want, ts.log())
	}
	if !ts.services["ghost"].throttledUntil.Equal(ts.clock.Add(ts.cfg.ServiceThrottleTime.D())) {
		t.Errorf("throttled until %v", ts.services["ghost"].throttledUntil)
	}
}

// TestStopKillsWhatOutlivesTheTimeout: stop sends SIGTERM and, once
// master_stop_timeout has passed, SIGKILL to what still runs.
func TestStopKillsWhatOutlivesTheTimeout(t *testing.T) {
	ts := newTestSystem(t, func(ts *testSystem) string {
		return "master_stop_timeout = \"7s\"\n" + ts.fakeService("mule", "unix", "stubborn", "private/mule")
	})
	ts.waitReady()
	ts.stop("test")
	if len(ts.timers) != 1 || ts.timers[0] != (timer{7 * time.Second, stopTimeout{}}) {
		t.Fatalf("timers %+v, want stopTimeout after 7s", ts.timers)
	}
	if _, err := ts.ask(control.StatusGet); err == nil {
		t.Error("the control socket still answers after stop")
	}
	ts.handle(stopTimeout{})
	ts.until("the stubborn daemon's end", func() bool { return ts.procCount() == 0 })
	if want := "service mule: 1 process(es) did not stop in time; killing them"; !strings.Contains(ts.log(), want) {
		t.Errorf("the log lacks %q:\n%s", want, ts.log())
	}
}

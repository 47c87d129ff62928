package master

import (
	"context"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"

	"postern.dev/postern/libmail/testkit"

	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/ipc/control"
)

// testSystem is a master over a spool in a temporary directory whose
// services run the fake daemon. The test is the master's loop: it takes
// the events and hands them to Master.handle itself, so it can look at
// the master's state between two events without a race, and it owns the
// clock and the timers (Master.now, Master.later).
type testSystem struct {
	*Master
	t       *testing.T
	dir     string
	cfgPath string
	reports string // where the fake daemons write their reports
	stdout  *testkit.LogBuffer
	clock   time.Time
	timers  []timer // what Master.later was asked to deliver, in order
}

// timer is one call of Master.later.
type timer struct {
	d  time.Duration
	ev any
}

// builtinsOff turns off the built-in services, whose programs a unit
// test does not have.
const builtinsOff = `
[services.smtp]
enabled = false
[services.qmgr]
enabled = false
[services.local]
enabled = false
[services.outbound]
enabled = false
[services.anvil]
enabled = false
[services.showq]
enabled = false
[services.pickup]
enabled = false
`

// testDir makes a directory the fake daemons can reach and write into
// when the master runs them as mail_owner.
func testDir(t *testing.T) string {
	t.Helper()
	dir := t.TempDir()
	// t.TempDir makes DIR/NNN, both private to the user.
	for _, d := range []string{filepath.Dir(dir), dir} {
		if err := os.Chmod(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	return dir
}

// needSystemUsers skips the test when, as root, the users a root master
// needs are missing: it runs its daemons as mail_owner and gives the
// mailbox base to vmail_user, by default postern and vmail.
func needSystemUsers(t *testing.T) {
	t.Helper()
	if os.Geteuid() != 0 {
		return
	}
	for _, u := range []string{"postern", "vmail"} {
		if _, err := daemon.LookupUser(u); err != nil {
			t.Skipf("as root, the master needs the user %s: %v", u, err)
		}
	}
}

// fakeService is the TOML of a service that runs the fake daemon in mode.
func (ts *testSystem) fakeService(name, kind, mode string, listen ...string) string {
	return ts.fakeServiceArgs(name, kind, []string{mode}, listen...)
}

// fakeServiceArgs is fakeService with more arguments after the mode,
// which the fake daemon ignores: a change of a service's args.
func (ts *testSystem) fakeServiceArgs(name, kind string, modeArgs []string, listen ...string) string {
	args := append([]string{fakeDaemonArg, modeArgs[0], ts.reports}, modeArgs[1:]...)
	return fmt.Sprintf("\n[services.%s]\nkind = %q\nlisten = %s\ncommand = %q\nargs = %s\n",
		name, kind, tomlList(listen), fakeBinary, tomlList(args))
}

func tomlList(l []string) string {
	q := make([]string, len(l))
	for i, s := range l {
		q[i] = fmt.Sprintf("%q", s)
	}
	return "[" + strings.Join(q, ", ") + "]"
}

// newTestSystem writes a configuration with the parameters and services
// that config returns (TOML; fakeService writes a service) and starts a
// master on it, with the test as its loop.
func newTestSystem(t *testing.T, config func(ts *testSystem) string) *testSystem {
	t.Helper()
	needSystemUsers(t)
	dir := testDir(t)
	ts := &testSystem{t: t, dir: dir, cfgPath: filepath.Join(dir, "postern.toml"), reports: filepath.Join(dir, "reports"),
		stdout: &testkit.LogBuffer{}, clock: time.Date(2030, 1, 2, 3, 4, 5, 0, time.UTC)}
	if err := os.Mkdir(ts.reports, 0o777); err != nil {
		t.Fatal(err)
	}
	os.Chmod(ts.reports, 0o777) // whatever the umask
	ts.writeConfig(config(ts))
	m, err := newMaster(Options{ConfigPath: ts.cfgPath, Stdout: ts.stdout})
	if err != nil {
		t.Fatalf("newMaster: %v", err)
	}
	ts.Master = m
	m.now = func() time.Time { return ts.clock }
	m.later = func(d time.Duration, ev any) { ts.timers = append(ts.timers, timer{d, ev}) }
	t.Cleanup(ts.shutdown)
	if err := m.start(); err != nil {
		t.Fatalf("start: %v", err)
	}
	return ts
}

// writeConfig (re)writes the configuration: the test's parameters and
// services after the spool, log and built-in services the tests share.
func (ts *testSystem) writeConfig(extra string) {
	ts.t.Helper()
	text := fmt.Sprintf(`myhostname = "mail.example.test"
queue_directory = %q
daemon_directory = %q
virtual_mailbox_base = %q
maillog_file = %q
`, filepath.Join(ts.dir, "spool"), filepath.Join(ts.dir, "bin"), filepath.Join(ts.dir, "mail"), filepath.Join(ts.dir, "maillog"))
	if err := os.WriteFile(ts.cfgPath, []byte(text+extra+builtinsOff), 0o644); err != nil {
		ts.t.Fatal(err)
	}
}

// step hands the next event to the master and returns it; what is what
// the test waits for, for the message if nothing comes.
func (ts *testSystem) step(what string) any {
	ts.t.Helper()
	select {
	case ev := <-ts.events:
		ts.handle(ev)
		return ev
	case <-time.After(10 * time.Second):
		ts.t.Fatalf("waiting for %s: no event from the master's processes in 10s; log:\n%s", what, ts.log())
		return nil
	}
}

// until steps until cond holds.
func (ts *testSystem) until(what string, cond func() bool) {
	ts.t.Helper()
	for !cond() {
		ts.step(what)
	}
}

// waitReady steps until every service has all its processes ready.
func (ts *testSystem) waitReady() {
	ts.t.Helper()
	ts.until("every service ready", ts.ready)
}

// ask sends one control request the way the postern command does,
// while the test goes on being the master's loop.
func (ts *testSystem) ask(typ string) (*control.Reply, error) {
	ts.t.Helper()
	type result struct {
		r   *control.Reply
		err error
	}
	done := make(chan result, 1)
	go func() {
		r, err := control.Ask(context.Background(), ts.cfg.QueueDirectory, typ)
		done <- result{r, err}
	}()
	for {
		select {
		case res := <-done:
			return res.r, res.err
		case ev := <-ts.events:
			ts.handle(ev)
		}
	}
}

// reportsOf returns the reports of the fake daemons of service, oldest
// process first.
func (ts *testSystem) reportsOf(service string) []report {
	ts.t.Helper()
	paths, err := filepath.Glob(filepath.Join(ts.reports, service+".*.json"))
	if err != nil {
		ts.t.Fatal(err)
	}
	var out []report
	for _, p := range paths {
		b, err := os.ReadFile(p)
		if err != nil {
			ts.t.Fatal(err)
		}
		var r report
		if err := json.Unmarshal(b, &r); err != nil {
			ts.t.Fatalf("%s: %v", p, err)
		}
		out = append(out, r)
	}
	return out
}

// reportOf returns the report of the fake daemon with pid.
func (ts *testSystem) reportOf(service string, pid int) report {
	ts.t.Helper()
	for _, r := range ts.reportsOf(service) {
		if r.PID == pid {
			return r
		}
	}
	ts.t.Fatalf("no report from process %d of service %s", pid, service)
	return report{}
}

// procsOf returns the running processes of a service.
func (ts *testSystem) procsOf(name string) []*proc {
	s := ts.services[name]
	if s == nil {
		return nil
	}
	var out []*proc
	for p := range s.procs {
		out = append(out, p)
	}
	return out
}

// log returns the mail log so far.
func (ts *testSystem) log() string {
	b, _ := os.ReadFile(filepath.Join(ts.dir, "maillog"))
	return string(b)
}

// shutdown stops the master as SIGTERM would and waits for its daemons.
func (ts *testSystem) shutdown() {
	if ts.Master == nil {
		return
	}
	ts.stop("test done")
	deadline := time.After(20 * time.Second)
	for ts.procCount() > 0 {
		select {
		case ev := <-ts.events:
			ts.handle(ev)
		case <-deadline:
			ts.t.Errorf("%d daemons did not stop", ts.procCount())
			for _, s := range ts.services {
				signalAll(s, syscall.SIGKILL)
			}
			return
		}
	}
	ts.closeAll()
	ts.lock.Close()
	if ts.logFile != nil {
		ts.logFile.Close()
	}
}

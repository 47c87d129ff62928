package main

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
)

// lingerArg makes the test binary a process that lives until the test
// closes its standard input or signals it: a master, for the commands
// that signal or watch the master's PID (argv[0] "master" makes it one
// for control.IsMaster).
const lingerArg = "postern-test-linger"

func TestMain(m *testing.M) {
	if len(os.Args) > 1 && os.Args[1] == lingerArg {
		os.Stdout.WriteString("up\n")
		io.Copy(io.Discard, os.Stdin)
		os.Exit(0)
	}
	// As root, the commands give secrets to the postern group and keys to
	// the postern user, as on a host where the package made them; a fresh
	// machine (CI) has neither until something creates them, so the
	// tests do, as the package's postinst and a root sandbox would.
	if os.Geteuid() == 0 {
		if err := ensureSystemUsers(&app{stdout: io.Discard}); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
	}
	os.Exit(m.Run())
}

// postern runs the command as main does and returns its standard
// output, standard error and exit status.
func postern(args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	code = run(args, &out, &errb)
	return out.String(), errb.String(), code
}

// mustPostern runs the command and fails the test unless it exits 0.
func mustPostern(t *testing.T, args ...string) string {
	t.Helper()
	out, errs, code := postern(args...)
	if code != 0 {
		t.Fatalf("postern %s: exit %d\n%s%s", strings.Join(args, " "), code, out, errs)
	}
	return out
}

// testEnv is a configuration whose every path is under a temporary
// directory: the spool (with the pid/ and public/ directories where the
// master's and qmgr's sockets go), programs, aliases and accounts.
type testEnv struct {
	dir, cfg, spool, bin string
}

// baseConfig is the configuration of a testEnv, before the test's lines.
const baseConfig = `# postern.toml for a test
myhostname = "mail.example.test"
mydestination = ["example.test", "$myhostname", "localhost"]
queue_directory = %q
daemon_directory = %q
virtual_mailbox_base = %q
alias_maps = [%q]
accounts_file = %q
local_system_users = false
# stop waits master_stop_timeout and 10s more for the master to go
master_stop_timeout = "1s"
`

func newTestEnv(t *testing.T, extra string) *testEnv {
	t.Helper()
	dir := t.TempDir()
	e := &testEnv{dir: dir, cfg: filepath.Join(dir, "postern.toml"), spool: filepath.Join(dir, "spool"), bin: filepath.Join(dir, "bin")}
	for _, d := range []string{e.bin, filepath.Join(e.spool, "pid"), filepath.Join(e.spool, "public")} {
		if err := os.MkdirAll(d, 0o755); err != nil {
			t.Fatal(err)
		}
	}
	e.write(t, "aliases", "postmaster: demo@example.test\n", 0o644)
	e.write(t, "accounts", "demo@example.test:{PLAIN}demo\n", 0o600)
	text := fmt.Sprintf(baseConfig, e.spool, e.bin, filepath.Join(dir, "mail"), filepath.Join(dir, "aliases"), filepath.Join(dir, "accounts"))
	e.write(t, "postern.toml", text+extra, 0o644)
	return e
}

// write writes a file under the environment's directory.
func (e *testEnv) write(t *testing.T, name, text string, mode os.FileMode) string {
	t.Helper()
	p := filepath.Join(e.dir, name)
	if err := os.WriteFile(p, []byte(text), mode); err != nil {
		t.Fatal(err)
	}
	if err := os.Chmod(p, mode); err != nil { // whatever the umask
		t.Fatal(err)
	}
	return p
}

// startLinger starts a process named argv0 that lives until the test
// ends or it is signalled, and is reaped as soon as it exits (a zombie
// would still answer kill(pid, 0)).
func startLinger(t *testing.T, argv0 string) (pid int, exited <-chan struct{}) {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Args = []string{argv0, lingerArg}
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
	// Its argv[0] is in place once it runs, not when Start returns.
	if _, err := io.ReadFull(out, make([]byte, 3)); err != nil {
		t.Fatalf("the process %s did not start: %v", argv0, err)
	}
	done := make(chan struct{})
	go func() { cmd.Wait(); close(done) }()
	t.Cleanup(func() { in.Close(); <-done })
	return cmd.Process.Pid, done
}

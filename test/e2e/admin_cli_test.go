package e2e

import (
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// exitCode runs postern against s and returns its output and exit status.
func exitCode(t *testing.T, s *System, args ...string) (string, int) {
	t.Helper()
	out, err := s.PosternErr(args...)
	var ee *exec.ExitError
	switch {
	case err == nil:
		return out, 0
	case errors.As(err, &ee):
		return out, ee.ExitCode()
	}
	t.Fatalf("postern %v: %v", args, err)
	return "", -1
}

// Every subcommand parses its flags before it acts: -h and --help print
// its usage and exit 0, an unknown flag or argument exits 2, and in no
// case does the mail system stop, reload or flush. (postern stop -h used
// to stop the mail system.)
func TestSubcommandHelpDoesNotAct(t *testing.T) {
	s := NewSystem(t, Options{})
	pid := s.MasterPID()
	logBefore := len(s.Log())
	for _, args := range [][]string{
		{"stop", "-h"}, {"stop", "--help"}, {"reload", "--help"}, {"reload", "-h"}, {"flush", "-h"},
		{"status", "-h"}, {"check", "-h"}, {"start", "-h"}, {"config", "show", "-h"}, {"config", "set", "-h"},
		{"config", "-h"}, {"sandbox", "-h"}, {"version", "--help"},
	} {
		out, code := exitCode(t, s, args...)
		want := "usage: postern " + strings.Join(args[:len(args)-1], " ")
		if code != 0 || !strings.Contains(out, want) {
			t.Errorf("postern %s: exit %d, output %q; want 0 and %q", strings.Join(args, " "), code, out, want)
		}
	}
	for _, args := range [][]string{
		{"stop", "-x"}, {"stop", "now"}, {"reload", "-q"}, {"flush", "-z"}, {"flush", "now"},
		{"status", "-v"}, {"check", "all"}, {"flush", "-s", "bad site"},
	} {
		out, code := exitCode(t, s, args...)
		if code != 2 || !strings.Contains(out, "usage: postern "+args[0]) {
			t.Errorf("postern %s: exit %d, output %q; want 2 and the usage", strings.Join(args, " "), code, out)
		}
	}
	time.Sleep(200 * time.Millisecond)
	if !processAlive(pid) {
		t.Fatalf("the master (pid %d) is gone after help and usage errors", pid)
	}
	log := s.Log()[logBefore:]
	for _, act := range []string{"terminating", "reload --", "flush requested"} {
		if strings.Contains(log, act) {
			t.Errorf("a help or usage request acted (%q in the log):\n%s", act, log)
		}
	}
	if _, err := s.Status(); err != nil {
		t.Errorf("status after the help requests: %v", err)
	}
}

// With a typo in postern.toml, status and stop still reach the running
// master (from the control socket and pid file under the queue
// directory), warning about the file; a file that is not TOML at all too.
func TestStatusStopWithBrokenConfig(t *testing.T) {
	for _, broken := range []string{"mesage_size_limit = 5\n", "this is = = not toml\n"} {
		s := NewSystem(t, Options{})
		pid := s.MasterPID()
		f, err := os.OpenFile(s.Config, os.O_APPEND|os.O_WRONLY, 0)
		if err != nil {
			t.Fatal(err)
		}
		f.WriteString(broken)
		f.Close()
		if _, code := exitCode(t, s, "config", "check"); code != 1 {
			t.Fatalf("config check passed a broken file (exit %d)", code)
		}
		out, code := exitCode(t, s, "status")
		if code != 0 || !strings.Contains(out, fmt.Sprintf("the mail system is running (master pid %d", pid)) ||
			!strings.Contains(out, "warning") {
			t.Errorf("status with %q: exit %d\n%s", broken, code, out)
		}
		out, code = exitCode(t, s, "stop")
		if code != 0 || !strings.Contains(out, "the mail system is stopped") {
			t.Errorf("stop with %q: exit %d\n%s", broken, code, out)
		}
		select {
		case <-s.done:
			s.master = nil
		case <-time.After(30 * time.Second):
			t.Fatalf("the master (pid %d) still runs after stop", pid)
		}
	}
}

// The sandbox's secrets (TLS key, accounts with password hashes) are not
// readable by other users: 0600 for an unprivileged sandbox, 0640 to
// the postern group that smtpd and local run in under a root master.
func TestSandboxSecretModes(t *testing.T) {
	s := NewSystem(t, Options{NoStart: true})
	for _, name := range []string{"tls/key.pem", "accounts"} {
		st, err := os.Stat(filepath.Join(s.Dir, name))
		if err != nil {
			t.Fatal(err)
		}
		sys := st.Sys().(*syscall.Stat_t)
		want, group := os.FileMode(0o600), os.Getgid()
		if os.Geteuid() == 0 {
			g, err := user.LookupGroup("postern")
			if err != nil {
				t.Fatal(err)
			}
			want, group = 0o640, atoi(t, g.Gid)
		}
		if st.Mode().Perm() != want || int(sys.Gid) != group && os.Geteuid() == 0 {
			t.Errorf("%s: mode %o gid %d, want %o gid %d", name, st.Mode().Perm(), sys.Gid, want, group)
		}
	}
	// And the daemons, which read them as postern under a root master,
	// still can: the sandbox serves TLS and authenticates demo.
	s.Start()
	if out, err := exec.Command("swaks", "--server", s.Addr(587), "-tls", "--auth", "PLAIN",
		"--auth-user", "demo@example.test", "--auth-password", "demo", "--to", "demo@example.test",
		"--from", "demo@example.test").CombinedOutput(); err != nil {
		t.Fatalf("submission with TLS and AUTH: %v\n%s", err, out)
	}
	s.WaitMessages("demo@example.test", 1, 10*time.Second)
}

func atoi(t *testing.T, s string) int {
	t.Helper()
	n, err := strconv.Atoi(s)
	if err != nil {
		t.Fatal(err)
	}
	return n
}

// A double bounce (a notice to a sender that fails too) reaches the
// postmaster on this host: $myhostname is a local domain in the sandbox,
// as in Postfix's default mydestination, and postmaster is demo's alias.
// It used to leave through DNS and be lost.
func TestDoubleBounceStaysLocal(t *testing.T) {
	sink := NewSink(t)
	sink.Rcpt = func(string) string { return "550 5.1.1 no such user here" }
	s, _ := outbound(t, remoteZone, sink.Port)
	submit(t, s, "someone@other.test", []string{"nobody@remote.test"}, "double-bounce")
	msgs := s.WaitMessages("demo@example.test", 1, 30*time.Second)
	b, err := os.ReadFile(msgs[0])
	if err != nil {
		t.Fatal(err)
	}
	text := string(b)
	for _, want := range []string{"To: <postmaster@mail.example.test>", "someone@other.test", "Final-Recipient"} {
		if !strings.Contains(text, want) {
			t.Errorf("the postmaster's notice lacks %q:\n%s", want, text)
		}
	}
	// Mail to postmaster at $myhostname and at localhost is local too.
	for _, to := range []string{"postmaster@mail.example.test", "postmaster@localhost"} {
		if out, err := exec.Command("swaks", "--server", s.Addr(25), "--to", to, "--from", "x@client.example").CombinedOutput(); err != nil {
			t.Errorf("mail to %s: %v\n%s", to, err, out)
		}
	}
	s.WaitMessages("demo@example.test", 3, 30*time.Second)
}

// postern flush retries at once the mail of a destination qmgr found
// dead, as postqueue -f does; it used to answer "delivery temporarily
// suspended" until the dead period ended. flush -s does it for one site.
func TestFlushRevivesDeadDestination(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close() // nothing listens: connection refused, the destination is dead
	s, _ := outbound(t, remoteZone, port, "minimal_backoff_time=1h", "maximal_backoff_time=2h")
	submit(t, s, "a@example.test", []string{"x@remote.test"}, "first")
	s.WaitLog("destination remote.test is unreachable", 30*time.Second)
	submit(t, s, "a@example.test", []string{"y@remote.test"}, "second")
	s.WaitLog("delivery temporarily suspended", 30*time.Second)
	sink := NewSinkAt(t, fmt.Sprintf("127.0.0.1:%d", port))
	s.Postern("flush", "-s", "remote.test")
	txs := sink.Wait(2, 20*time.Second)
	if len(txs) != 2 {
		t.Errorf("%d transactions after flush -s, want 2", len(txs))
	}
	s.WaitQueueEmpty(20 * time.Second)
}

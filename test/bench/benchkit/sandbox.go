package benchkit

import (
	"context"
	"errors"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"time"

	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/ipc/control"
	"postern.dev/postern/test/bench/benchkit/procfs"
)

// Sandbox is a postern sandbox ("postern sandbox DIR -port-base N") and,
// once started, its master.
type Sandbox struct {
	Bin    string // directory of the postern binaries
	Dir    string
	Base   int
	Config string
	master *exec.Cmd
	done   chan error
	log    *os.File
}

// NewSandbox writes a sandbox into dir on port base, over the
// configuration of one already there (postern sandbox -f), and applies
// settings ("name=value", as postern config set takes them).
func NewSandbox(bin, dir string, base int, settings ...string) (*Sandbox, error) {
	bin, err := filepath.Abs(bin)
	if err != nil {
		return nil, err
	}
	dir, err = filepath.Abs(dir)
	if err != nil {
		return nil, err
	}
	for _, p := range []string{"postern", "master"} {
		if _, err := os.Stat(filepath.Join(bin, p)); err != nil {
			return nil, fmt.Errorf("no %s in %s (run make build): %w", p, bin, err)
		}
	}
	if err := os.MkdirAll(dir, 0o755); err != nil {
		return nil, err
	}
	// As root the daemons run as postern and vmail and must reach it.
	os.Chmod(dir, 0o755)
	s := &Sandbox{Bin: bin, Dir: dir, Base: base, Config: filepath.Join(dir, "postern.toml")}
	if _, err := s.Postern("sandbox", dir, "-port-base", fmt.Sprint(base), "-f"); err != nil {
		return nil, err
	}
	if len(settings) > 0 {
		if _, err := s.Postern(append([]string{"config", "set"}, settings...)...); err != nil {
			return nil, err
		}
	}
	return s, nil
}

// Postern runs the admin command on this sandbox.
func (s *Sandbox) Postern(args ...string) (string, error) {
	full := args
	if len(args) == 0 || args[0] != "sandbox" {
		full = append([]string{"-c", s.Config}, args...)
	}
	out, err := exec.Command(filepath.Join(s.Bin, "postern"), full...).CombinedOutput()
	if err != nil {
		return string(out), fmt.Errorf("postern %s: %w: %s", strings.Join(args, " "), err, out)
	}
	return string(out), nil
}

// Spool is the sandbox's queue directory.
func (s *Sandbox) Spool() string { return filepath.Join(s.Dir, "spool") }

// Maildir is the Maildir of a sandbox account such as demo@example.test.
func (s *Sandbox) Maildir(account string) string {
	local, domain, _ := strings.Cut(account, "@")
	return filepath.Join(s.Dir, "mail", domain, local)
}

// SMTPAddr is the address of the sandbox's port 25 service.
func (s *Sandbox) SMTPAddr() string { return fmt.Sprintf("127.0.0.1:%d", s.Base+25) }

// MaillogTail returns the last n lines of the mail log, for error reports.
func (s *Sandbox) MaillogTail(n int) string {
	b, _ := os.ReadFile(filepath.Join(s.Dir, "log", "maillog"))
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return strings.Join(lines, "\n")
}

// Start runs the master in a session of its own (so that its PID is its
// process group's and nothing of ours shares it), with extra environment
// variables, and waits until every service is ready.
func (s *Sandbox) Start(ctx context.Context, env ...string) error {
	if s.master != nil {
		return errors.New("sandbox already started")
	}
	log, err := os.OpenFile(filepath.Join(s.Dir, "master.out"), os.O_CREATE|os.O_WRONLY|os.O_APPEND, 0o644)
	if err != nil {
		return err
	}
	cmd := daemon.Detached(filepath.Join(s.Bin, "master"), "-c", s.Config)
	cmd.Stdout, cmd.Stderr, cmd.Env = log, log, append(os.Environ(), env...)
	if err := cmd.Start(); err != nil {
		log.Close()
		return err
	}
	s.master, s.log, s.done = cmd, log, make(chan error, 1)
	go func() { s.done <- cmd.Wait() }()
	deadline := time.Now().Add(30 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-s.done:
			s.done <- err
			return fmt.Errorf("master exited during start-up: %v (see %s)", err, log.Name())
		case <-ctx.Done():
			return ctx.Err()
		default:
		}
		if st, err := s.Status(); err == nil && st.Ready {
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("master not ready after 30s (see %s)", log.Name())
}

// PID is the running master's PID, 0 if none.
func (s *Sandbox) PID() int {
	if s.master == nil {
		return 0
	}
	return s.master.Process.Pid
}

// Status asks the master for its status.
func (s *Sandbox) Status() (*control.Status, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	r, err := control.Ask(ctx, s.Spool(), control.StatusGet)
	if err != nil {
		return nil, err
	}
	if r.Status == nil {
		return nil, errors.New("status reply without status")
	}
	return r.Status, nil
}

// Stop stops the master with SIGTERM and waits for it; after 30 seconds,
// or if daemons outlive it, it kills what is left of the master's
// session, which holds only what this sandbox started.
func (s *Sandbox) Stop() error {
	if s.master == nil {
		return nil
	}
	pid := s.master.Process.Pid
	defer func() { s.master = nil; s.log.Close() }()
	s.Thaw() // a frozen master would not see the SIGTERM
	s.master.Process.Signal(syscall.SIGTERM)
	var err error
	select {
	case err = <-s.done:
	case <-time.After(30 * time.Second):
		syscall.Kill(pid, syscall.SIGKILL)
		<-s.done
		for _, p := range procfs.Session(pid) {
			syscall.Kill(p.PID, syscall.SIGKILL)
		}
		return fmt.Errorf("master %d ignored SIGTERM for 30s; killed it and its session", pid)
	}
	// The daemons sit in process groups of their own, in the master's
	// session: what is left of that session after the master exited was
	// started by it.
	if left := procfs.Session(pid); len(left) > 0 {
		for _, p := range left {
			syscall.Kill(p.PID, syscall.SIGKILL)
		}
		return fmt.Errorf("%d daemons outlived master %d; killed them", len(left), pid)
	}
	var exit *exec.ExitError
	if errors.As(err, &exit) {
		return fmt.Errorf("master: %w", err)
	}
	return nil
}

// FreePortBase returns a port base in [from, to) whose sandbox ports are
// all free on loopback, trying bases 1000 apart in random order.
func FreePortBase(from, to int, pick func(n int) int) (int, error) {
	n := (to - from) / 1000
	for range 3 * n {
		base := from + 1000*pick(n)
		if PortsFree(base) {
			return base, nil
		}
	}
	return 0, fmt.Errorf("no free port base in [%d, %d)", from, to)
}

// PortsFree reports whether a sandbox on base could listen.
func PortsFree(base int) bool {
	for _, p := range []int{25, 110, 143, 465, 587, 993, 995} {
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", base+p))
		if err != nil {
			return false
		}
		l.Close()
	}
	return true
}

// Freeze stops every process of the running sandbox (SIGSTOP to each
// process of the master's session), so that while another sandbox is
// timed this one takes no CPU at all; Thaw lets them go on.
func (s *Sandbox) Freeze() { s.signalAll(syscall.SIGSTOP) }

// Thaw continues what Freeze stopped.
func (s *Sandbox) Thaw() { s.signalAll(syscall.SIGCONT) }

func (s *Sandbox) signalAll(sig syscall.Signal) {
	if s.master == nil {
		return
	}
	for _, p := range procfs.Session(s.master.Process.Pid) {
		syscall.Kill(p.PID, sig)
	}
}

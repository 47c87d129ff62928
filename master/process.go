package master

import (
	"bufio"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strconv"
	"strings"
	"syscall"

	"golang.org/x/sys/unix"

	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/metrics"
)

// startProc starts one process of s. Its file descriptors are: 0 and 1
// /dev/null, 2 the log (or a pipe the master logs from), 3.. the service's
// sockets, then the status socket and the spool lock.
func (m *Master) startProc(s *service) error {
	cfg := s.cfg
	user, err := m.id.userFor(cfg)
	if err != nil {
		return err
	}
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return fmt.Errorf("status socket: %w", err)
	}
	mine, theirs := os.NewFile(uintptr(pair[0]), "status"), os.NewFile(uintptr(pair[1]), "status")
	defer theirs.Close()
	cmd, err := m.command(s, user, theirs)
	if err != nil {
		mine.Close()
		return err
	}
	var stderr *os.File
	switch {
	case m.logFile != nil:
		cmd.Stderr = m.logFile
	default:
		r, w, err := os.Pipe()
		if err != nil {
			mine.Close()
			return err
		}
		cmd.Stderr, stderr = w, r
		defer w.Close()
	}
	if err := cmd.Start(); err != nil {
		mine.Close()
		if stderr != nil {
			stderr.Close()
		}
		return fmt.Errorf("start %s: %w", commandPath(cfg), err)
	}
	p := &proc{svc: s, cmd: cmd, pid: cmd.Process.Pid, started: m.now(), status: mine}
	s.procs[p] = true
	m.metrics.started(p)
	m.log.Debug("service %s: started %s pid %d as %s", cfg.Name, commandPath(cfg), p.pid, user.Name)
	go m.watchStatus(p)
	if stderr != nil {
		go m.relayStderr(p, stderr)
	}
	go func() {
		err := cmd.Wait()
		m.events <- procExited{p, err}
	}()
	return nil
}

// command is the process startProc starts for s, not yet started: its
// arguments, its environment (the inherited sockets in LISTEN_FDS and
// LISTEN_FDNAMES, as systemd passes them), its descriptors and, under a
// root master, its user and capabilities. status is the daemon's end of
// the status socketpair. It is apart from startProc so that a test can
// read the specification of a daemon without running it.
func (m *Master) command(s *service, user *daemon.User, status *os.File) (*exec.Cmd, error) {
	cfg := s.cfg
	n := len(s.files)
	args := append([]string{"-c", m.cfgPath, "-s", cfg.Name}, cfg.Args...)
	if m.opt.Verbose {
		args = append([]string{"-v"}, args...)
	}
	cmd := exec.Command(commandPath(cfg), args...)
	cmd.ExtraFiles = append(append([]*os.File{}, s.files...), status, m.lock)
	cmd.Env = []string{
		"PATH=/usr/local/bin:/usr/bin:/bin:/usr/sbin:/sbin",
		"LISTEN_FDS=" + strconv.Itoa(n),
		"LISTEN_FDNAMES=" + listenerNames(cfg),
		daemon.StatusFDEnv + "=" + strconv.Itoa(3+n),
		daemon.LockFDEnv + "=" + strconv.Itoa(4+n),
	}
	for _, v := range []string{"TZ", "LANG", "GOTRACEBACK", "GODEBUG", "GOMAXPROCS", daemon.ProfileEnv} {
		if val, ok := os.LookupEnv(v); ok {
			cmd.Env = append(cmd.Env, v+"="+val)
		}
	}
	// Its own process group keeps a terminal's ^C away from the daemons:
	// the master decides how they stop.
	cmd.SysProcAttr = &syscall.SysProcAttr{Setpgid: true}
	if m.id.root {
		cmd.SysProcAttr.Credential = user.Credential()
		caps, err := daemon.AmbientCaps(cfg.Capabilities)
		if err != nil {
			return nil, err
		}
		cmd.SysProcAttr.AmbientCaps = caps
	}
	return cmd, nil
}

// watchStatus turns READY=1 lines from a process into events and hands
// its metrics to the collector. At EOF (the process is gone) its last
// metrics join the dead processes' totals, and the socket is closed
// here rather than when the exit is seen, so that the last report,
// written just before the exit, is read first.
func (m *Master) watchStatus(p *proc) {
	defer p.status.Close()
	sc := bufio.NewScanner(p.status)
	sc.Buffer(make([]byte, 4096), metrics.MaxLine+len(metrics.Prefix)+1)
	for sc.Scan() {
		switch line := sc.Text(); {
		case line == "READY=1":
			m.events <- procReady{p}
		case strings.HasPrefix(line, metrics.Prefix):
			m.metrics.report(p, line)
		}
	}
	m.metrics.ended(p)
}

// relayStderr logs what a daemon writes to standard error (a Go panic,
// say) when the log is syslog and the daemon's stderr leads nowhere.
func (m *Master) relayStderr(p *proc, r *os.File) {
	defer r.Close()
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 4096), 64<<10)
	for sc.Scan() {
		m.log.Warn("%s[%d]: %s", p.svc.cfg.Command, p.pid, sc.Text())
	}
}

// exited handles the end of a process: log it the way Postfix does, and
// restart it, or throttle the service if it died before it was ready.
func (m *Master) exited(p *proc, err error) {
	s := p.svc
	delete(s.procs, p)
	if m.stopping || s.retiring {
		if s.retiring && len(s.procs) == 0 {
			m.retired(s)
		}
		return
	}
	path := commandPath(s.cfg)
	if err != nil {
		var ee *exec.ExitError
		if errors.As(err, &ee) {
			if ws, ok := ee.Sys().(syscall.WaitStatus); ok && ws.Signaled() {
				m.log.Warn("process %s pid %d killed by signal %d", path, p.pid, ws.Signal())
			} else {
				m.log.Warn("process %s pid %d exit status %d", path, p.pid, ee.ExitCode())
			}
		} else {
			m.log.Warn("process %s pid %d: %v", path, p.pid, err)
		}
	}
	if !p.ready {
		m.log.Warn("%s: bad command startup -- throttling", path)
		s.throttledUntil = m.now().Add(m.cfg.ServiceThrottleTime.D())
		m.later(m.cfg.ServiceThrottleTime.D(), throttleDone{s.cfg.Name})
		return
	}
	m.ensureProcs(s)
}

// ensureProcs starts processes until the service has process_limit.
func (m *Master) ensureProcs(s *service) {
	if m.stopping || s.retiring || m.now().Before(s.throttledUntil) {
		return
	}
	for len(s.procs) < s.cfg.ProcessLimit {
		if err := m.startProc(s); err != nil {
			m.log.Warn("service %s: %v -- throttling", s.cfg.Name, err)
			s.throttledUntil = m.now().Add(m.cfg.ServiceThrottleTime.D())
			m.later(m.cfg.ServiceThrottleTime.D(), throttleDone{s.cfg.Name})
			return
		}
	}
}

// signalAll sends sig to every process of s.
func signalAll(s *service, sig syscall.Signal) {
	for p := range s.procs {
		p.cmd.Process.Signal(sig)
	}
}

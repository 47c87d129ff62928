package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/ipc/control"
)

// errNotRunning is what the commands that need a master say without one.
var errNotRunning = errors.New("the mail system is not running")

// ask sends one request to the master of the spool at root; a refusal
// is an error too.
func ask(root, typ string) (*control.Reply, error) {
	r, err := control.Ask(context.Background(), root, typ)
	if err != nil {
		return nil, err
	}
	if !r.OK {
		return r, errors.New(r.Error)
	}
	return r, nil
}

func notRunning(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT)
}

// controlParams reads the configuration for a command that only talks to
// a running master (status, stop). A file that does not load is reported
// as a warning, and the command goes on with the queue directory that
// config.Salvage could read: a typo made while the system runs must
// never leave it impossible to inspect or stop.
func (a *app) controlParams() *config.Params {
	cfg, err := config.Load(a.cfgPath, config.Options{})
	if err == nil {
		a.cfg = cfg
		return &cfg.Params
	}
	p := config.Salvage(a.cfgPath, config.Options{})
	fmt.Fprintf(a.stderr, "postern: warning: %v\npostern: warning: the configuration does not load; looking for the master in %s\n", err, p.QueueDirectory)
	return p
}

func cmdStart(a *app, args []string) error {
	fs := a.flags("start", "[-c FILE]", "Start the mail system; return once every service is ready.")
	if _, err := a.parse(fs, args, 0); err != nil {
		return err
	}
	if err := a.load(); err != nil {
		return err
	}
	root := a.cfg.QueueDirectory
	if r, err := ask(root, control.StatusGet); err == nil {
		return fmt.Errorf("the mail system is already running (master pid %d)", r.Status.PID)
	}
	master := filepath.Join(a.cfg.DaemonDirectory, "master")
	cfgPath, _ := filepath.Abs(a.cfgPath)
	cmd := daemon.Detached(master, "-c", cfgPath)
	// The master's standard error goes to an unlinked file, not a pipe:
	// it outlives this command, and a write to a pipe nobody reads any
	// more would kill it with SIGPIPE. The file shows why a failed start
	// failed.
	errf, err := os.CreateTemp("", "postern-start-")
	if err != nil {
		return fmt.Errorf("start %s: %w", master, err)
	}
	os.Remove(errf.Name())
	defer errf.Close()
	cmd.Stderr = errf
	if err := cmd.Start(); err != nil {
		return fmt.Errorf("start %s: %w", master, err)
	}
	exited := make(chan error, 1)
	go func() { exited <- cmd.Wait() }()
	deadline := time.Now().Add(60 * time.Second)
	for time.Now().Before(deadline) {
		select {
		case err := <-exited:
			errf.Seek(0, io.SeekStart)
			msg, _ := io.ReadAll(errf)
			return fmt.Errorf("the master exited (%v): %s", err, strings.TrimSpace(string(msg)))
		case <-time.After(100 * time.Millisecond):
		}
		r, err := ask(root, control.StatusGet)
		if err == nil && r.Status.Ready {
			fmt.Fprintf(a.stdout, "postern: the mail system is running (master pid %d)\n", r.Status.PID)
			return nil
		}
	}
	return fmt.Errorf("the mail system did not become ready in time; see the mail log")
}

// cmdStop asks the master to stop through its control socket. When the
// socket does not answer but the pid file names a live master, the master
// gets SIGTERM, which means the same to it (as `postfix stop` signals the
// pid in master.pid).
func cmdStop(a *app, args []string) error {
	fs := a.flags("stop", "[-c FILE]", "Stop the mail system gracefully; return once the master has exited.")
	if _, err := a.parse(fs, args, 0); err != nil {
		return err
	}
	p := a.controlParams()
	root := p.QueueDirectory
	var pid int
	r, err := ask(root, control.StatusGet)
	if err == nil {
		pid = r.Status.PID
		_, err = ask(root, control.SystemStop)
	}
	if err != nil {
		pid = control.ReadPID(root)
		if !control.IsMaster(pid) {
			if notRunning(err) {
				return errNotRunning
			}
			return err
		}
		fmt.Fprintf(a.stderr, "postern: warning: the control socket does not answer (%v); sending SIGTERM to the master (pid %d)\n", err, pid)
		if err := syscall.Kill(pid, syscall.SIGTERM); err != nil {
			return fmt.Errorf("signal the master (pid %d): %w", pid, err)
		}
	}
	deadline := time.Now().Add(p.MasterStopTimeout.D() + 10*time.Second)
	for time.Now().Before(deadline) {
		if syscall.Kill(pid, 0) != nil {
			fmt.Fprintln(a.stdout, "postern: the mail system is stopped")
			return nil
		}
		time.Sleep(50 * time.Millisecond)
	}
	return fmt.Errorf("the master (pid %d) did not stop in time", pid)
}

func cmdReload(a *app, args []string) error {
	fs := a.flags("reload", "[-c FILE]", "Make the master reread the configuration; services whose definition changed restart.")
	if _, err := a.parse(fs, args, 0); err != nil {
		return err
	}
	// Strict: reloading a file that does not load would only make the
	// master refuse it; saying why here is more useful.
	if err := a.load(); err != nil {
		return err
	}
	if _, err := ask(a.cfg.QueueDirectory, control.ConfigReload); err != nil {
		if notRunning(err) {
			return errNotRunning
		}
		return fmt.Errorf("reload: %w", err)
	}
	fmt.Fprintln(a.stdout, "postern: the configuration was reloaded")
	return nil
}

func cmdStatus(a *app, args []string) error {
	fs := a.flags("status", "[-c FILE]", "Say whether the mail system runs, and list its services and processes.")
	if _, err := a.parse(fs, args, 0); err != nil {
		return err
	}
	root := a.controlParams().QueueDirectory
	r, err := ask(root, control.StatusGet)
	if err != nil {
		if pid := control.ReadPID(root); control.IsMaster(pid) {
			return fmt.Errorf("the master runs (pid %d), but its control socket does not answer: %v", pid, err)
		}
		if notRunning(err) {
			return errNotRunning
		}
		return err
	}
	st := r.Status
	state := "running"
	if !st.Ready {
		state = "starting or degraded"
	}
	fmt.Fprintf(a.stdout, "postern: the mail system is %s (master pid %d, up %s, configuration %s)\n",
		state, st.PID, time.Since(st.Started).Round(time.Second), st.Config)
	fmt.Fprintf(a.stdout, "%-12s %-10s %-10s %-12s %-12s %s\n", "SERVICE", "COMMAND", "USER", "PROCESSES", "PIDS", "LISTEN")
	for _, s := range st.Services {
		var pids []int
		ready := 0
		for _, p := range s.Processes {
			pids = append(pids, p.PID)
			if p.Ready {
				ready++
			}
		}
		sort.Ints(pids)
		procs := fmt.Sprintf("%d/%d ready", ready, len(s.Processes))
		if !s.ThrottledUntil.IsZero() {
			procs = "throttled"
		}
		// The PIDs are what an admin needs to strace or kill one daemon.
		list := "-"
		if len(pids) > 0 {
			list = strings.Trim(fmt.Sprint(pids), "[]")
			list = strings.ReplaceAll(list, " ", ",")
		}
		// COMMAND fits the longest daemon name, postscreen.
		fmt.Fprintf(a.stdout, "%-12s %-10s %-10s %-12s %-12s %s\n", s.Name, filepath.Base(s.Command), s.User, procs, list, strings.Join(s.Listen, ", "))
	}
	return nil
}

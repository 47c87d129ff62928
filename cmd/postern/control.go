package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path/filepath"
	"sort"
	"strings"
	"syscall"
	"time"

	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/ipc/control"
	"postern.dev/postern/libmail/ipc/wake"
)

// ask sends one request to the master.
func ask(a *app, typ string) (*control.Reply, error) {
	ctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
	defer cancel()
	conn, err := ipc.Dial(ctx, control.Path(a.cfg.QueueDirectory), ipc.Hello{Channel: control.Channel, Version: control.Version})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.SendFlush(control.Request{Type: typ}); err != nil {
		return nil, err
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	var r control.Reply
	if err := conn.Recv(&r); err != nil {
		return nil, err
	}
	if !r.OK {
		return &r, errors.New(r.Error)
	}
	return &r, nil
}

func notRunning(err error) bool {
	return errors.Is(err, os.ErrNotExist) || errors.Is(err, syscall.ECONNREFUSED) || errors.Is(err, syscall.ENOENT)
}

func cmdStart(a *app, args []string) error {
	if len(args) > 0 {
		return usageError("no arguments expected")
	}
	if r, err := ask(a, control.StatusGet); err == nil {
		return fmt.Errorf("the mail system is already running (master pid %d)", r.Status.PID)
	}
	master := filepath.Join(a.cfg.DaemonDirectory, "master")
	cfgPath, _ := filepath.Abs(a.cfgPath)
	cmd := exec.Command(master, "-c", cfgPath)
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
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
		r, err := ask(a, control.StatusGet)
		if err == nil && r.Status.Ready {
			fmt.Fprintf(a.stdout, "postern: the mail system is running (master pid %d)\n", r.Status.PID)
			return nil
		}
	}
	return fmt.Errorf("the mail system did not become ready in time; see the mail log")
}

func cmdStop(a *app, args []string) error {
	r, err := ask(a, control.StatusGet)
	if err != nil {
		if notRunning(err) {
			return errors.New("the mail system is not running")
		}
		return err
	}
	pid := r.Status.PID
	if _, err := ask(a, control.SystemStop); err != nil {
		return err
	}
	deadline := time.Now().Add(a.cfg.StopTimeout.D() + 10*time.Second)
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
	if _, err := ask(a, control.ConfigReload); err != nil {
		if notRunning(err) {
			return errors.New("the mail system is not running")
		}
		return fmt.Errorf("reload: %w", err)
	}
	fmt.Fprintln(a.stdout, "postern: the configuration was reloaded")
	return nil
}

func cmdStatus(a *app, args []string) error {
	r, err := ask(a, control.StatusGet)
	if err != nil {
		if notRunning(err) {
			return errors.New("the mail system is not running")
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
	fmt.Fprintf(a.stdout, "%-12s %-8s %-10s %-12s %-12s %s\n", "SERVICE", "COMMAND", "USER", "PROCESSES", "PIDS", "LISTEN")
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
		fmt.Fprintf(a.stdout, "%-12s %-8s %-10s %-12s %-12s %s\n", s.Name, filepath.Base(s.Command), s.User, procs, list, strings.Join(s.Listen, ", "))
	}
	return nil
}

func cmdFlush(a *app, args []string) error {
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := ipc.Dial(ctx, filepath.Join(a.cfg.QueueDirectory, "public", "qmgr"), ipc.Hello{Channel: wake.Channel, Version: wake.Version})
	if err != nil {
		return fmt.Errorf("the queue manager is not reachable: %w", err)
	}
	defer conn.Close()
	return conn.SendFlush(wake.Frame{Type: wake.Type, Scan: true})
}

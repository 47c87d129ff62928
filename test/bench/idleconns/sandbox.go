package main

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"time"

	"postern.dev/postern/libmail/daemon"
)

// sandbox is a postern started for the measurement.
type sandbox struct {
	dir, addr string
	pid       int
	cmd       *exec.Cmd
	removeDir bool
}

// startSandbox writes a sandbox with postern sandbox, sets it up for
// o.Mode and starts its master, and waits until port 25 (at the port
// base) answers.
func startSandbox(ctx context.Context, o options) (*sandbox, error) {
	bin, err := filepath.Abs(o.Bin)
	if err != nil {
		return nil, err
	}
	sb := &sandbox{dir: o.Dir}
	if sb.dir == "" {
		if sb.dir, err = os.MkdirTemp("", "postern-idleconns-"); err != nil {
			return nil, err
		}
		sb.removeDir = true
	}
	// The daemons run as postern when the master is root: they must
	// reach the sandbox.
	os.Chmod(sb.dir, 0o755)
	postern := func(args ...string) error {
		out, err := exec.CommandContext(ctx, filepath.Join(bin, "postern"), args...).CombinedOutput()
		if err != nil {
			return fmt.Errorf("postern %v: %v: %s", args, err, out)
		}
		return nil
	}
	if err := postern("sandbox", sb.dir, "-port-base", fmt.Sprint(o.PortBase), "-f"); err != nil {
		return nil, sb.cleanup(err)
	}
	conf := filepath.Join(sb.dir, "postern.toml")
	limit := fmt.Sprint(o.N + o.Probes + 1000)
	set := []string{"postscreen_enable=false", "smtpd_process_connection_limit=" + limit, "smtpd_client_connection_count_limit=0",
		// Idle clients in smtpd must not be timed out during the run.
		"smtpd_timeout=3600s"}
	if o.Mode == "postscreen" {
		set = []string{"postscreen_enable=true",
			// Longer than the run: the idle clients stay in postscreen.
			"postscreen_greet_wait=3600s",
			// Loopback is mynetworks, which would pass untested.
			"postscreen_access_list=",
			"postscreen_client_connection_count_limit=0", "postscreen_connection_limit=" + limit}
	}
	if err := postern(append([]string{"-c", conf, "config", "set"}, set...)...); err != nil {
		return nil, sb.cleanup(err)
	}
	// In a session of its own, so that stop can end what is left of
	// it by its process group.
	sb.cmd = daemon.Detached(filepath.Join(bin, "master"), "-c", conf)
	var out bytes.Buffer
	sb.cmd.Stdout, sb.cmd.Stderr = &out, &out
	if err := sb.cmd.Start(); err != nil {
		return nil, sb.cleanup(err)
	}
	sb.pid = sb.cmd.Process.Pid
	sb.addr = fmt.Sprintf("127.0.0.1:%d", o.PortBase+25)
	deadline := time.Now().Add(30 * time.Second)
	for {
		c, err := net.DialTimeout("tcp", sb.addr, time.Second)
		if err == nil {
			c.Close()
			// The first connection only proved the port is bound; give
			// the daemons their start.
			time.Sleep(500 * time.Millisecond)
			return sb, nil
		}
		if time.Now().After(deadline) {
			sb.stop()
			return nil, fmt.Errorf("the sandbox does not listen on %s: %v\n%s", sb.addr, err, out.String())
		}
		time.Sleep(100 * time.Millisecond)
	}
}

func (sb *sandbox) cleanup(err error) error {
	if sb.removeDir {
		os.RemoveAll(sb.dir)
	}
	return err
}

// stop ends the master (SIGTERM to its PID; it stops its daemons) and
// removes the sandbox if it made it.
func (sb *sandbox) stop() {
	if sb.cmd != nil && sb.cmd.Process != nil {
		sb.cmd.Process.Signal(syscall.SIGTERM)
		done := make(chan struct{})
		go func() { sb.cmd.Wait(); close(done) }()
		select {
		case <-done:
		case <-time.After(30 * time.Second):
			// Only the group this program started.
			syscall.Kill(-sb.pid, syscall.SIGKILL)
			<-done
		}
	}
	sb.cleanup(nil)
}

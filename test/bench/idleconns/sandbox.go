package main

import (
	"context"
	"fmt"
	"net"
	"time"

	"postern.dev/postern/test/bench/benchkit"
)

// startSandbox writes a sandbox (into o.Dir, or a new temporary
// directory), sets it up for o.Mode, starts its master and waits until
// port 25 (at the port base) answers. stop stops the master and removes
// the directory if it made it.
func startSandbox(ctx context.Context, o options) (sb *benchkit.Sandbox, stop func(), err error) {
	dir, done, err := benchkit.WorkDir(o.Dir, "postern-idleconns-", o.Dir != "", nil, "")
	if err != nil {
		return nil, nil, err
	}
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
	if sb, err = benchkit.NewSandbox(o.Bin, dir, o.PortBase, set...); err != nil {
		done()
		return nil, nil, err
	}
	stop = func() { sb.Stop(); done() }
	if err := sb.Start(ctx); err != nil {
		stop()
		return nil, nil, err
	}
	// The master is ready; a first connection makes sure the service on
	// port 25 (postscreen or smtpd) has started before the baseline is
	// taken, and the pause gives it its start.
	c, err := net.DialTimeout("tcp", sb.SMTPAddr(), 10*time.Second)
	if err != nil {
		stop()
		return nil, nil, fmt.Errorf("the sandbox does not listen on %s: %w", sb.SMTPAddr(), err)
	}
	c.Close()
	time.Sleep(500 * time.Millisecond)
	return sb, stop, nil
}

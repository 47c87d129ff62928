package anvil

import (
	"context"
	"time"

	"postern.dev/postern/libmail/daemon"
)

// Run is anvil's life: count the events of every smtpd until ctx ends.
func Run(ctx context.Context, env *daemon.Env) error {
	unit := env.Params.AnvilRateTimeUnit.D()
	table := NewTable(unit, env.Now)
	srv := NewServer(table, env.Log)
	wait := env.Serve(ctx, srv.Serve)
	env.Ready()
	// What no longer counts is forgotten once per time unit, so the
	// table holds at most about one unit's worth of clients.
	tick := time.NewTicker(max(unit, time.Second))
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			for _, l := range env.Listeners {
				l.Close()
			}
			srv.Close()
			wait()
			return nil
		case <-tick.C:
			n := table.Sweep()
			env.Log.Debug("%d clients and users counted", n)
		}
	}
}

package showq

import (
	"context"

	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/queue"
)

// Run is showq's life: serve listings until ctx ends.
func Run(ctx context.Context, env *daemon.Env) error {
	spool := queue.Open(env.Params.QueueDirectory, env.Now)
	defer spool.Close()
	srv := NewServer(spool, env.Log)
	wait := env.Serve(ctx, srv.Serve)
	env.Ready()
	<-ctx.Done()
	for _, l := range env.Listeners {
		l.Close()
	}
	srv.Close()
	wait()
	return nil
}

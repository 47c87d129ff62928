package local

import (
	"context"
	"net"

	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/ipc/wake"
	"postern.dev/postern/libmail/queue"
	"postern.dev/postern/libmail/recipient"
)

// Run is local's life: serve qmgr until ctx ends.
func Run(ctx context.Context, env *daemon.Env) error {
	p := env.Params
	vmail, err := daemon.Current()
	if err != nil {
		return err
	}
	if daemon.CanSwitchUsers() {
		if vmail, err = daemon.LookupUser(p.VmailUser); err != nil {
			return err
		}
	}
	spool, err := queue.OpenSync(p.QueueDirectory, env.Now, p.SyncMethod)
	if err != nil {
		return err
	}
	defer spool.Close()
	waker := wake.NewClient(wake.Path(p.QueueDirectory), env.Log)
	// The wake-ups for the last bounces and forwards go out before the
	// process exits.
	defer waker.Start()()
	dir := recipient.New(p, env.Log, env.Now)
	dir.CheckEvery(0) // see CheckEvery: local's answer is final
	a, err := NewAgent(NewConfig(p), spool, dir, vmail, waker, env.Log, env.Now)
	if err != nil {
		return err
	}
	defer a.mw.Close()
	a.UseMetrics(env.Metrics, env.Service.Name)
	wait := env.Serve(ctx, func(l net.Listener) error { a.Serve(ctx, l); return nil })
	env.Ready()
	wait()
	return nil
}

package pickup

import (
	"context"
	"errors"
	"net"
	"time"

	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/ipc/wake"
	"postern.dev/postern/libmail/queue"
)

// Run is pickup's life: look in maildrop/ at start, whenever sendmail
// knocks on public/pickup, and every pickup_scan_interval, until ctx
// ends.
func Run(ctx context.Context, env *daemon.Env) error {
	cfg, err := NewConfig(env.Params)
	if err != nil {
		return err
	}
	spool, err := queue.OpenSync(env.Params.QueueDirectory, env.Now, env.Params.SyncMethod)
	if err != nil {
		return err
	}
	defer spool.Close()
	waker := wake.NewClient(wake.Path(env.Params.QueueDirectory), env.Log)
	defer waker.Start()()
	p := New(cfg, spool, waker, env.Log, env.Now, LookupUID)
	p.metrics = env.Metrics

	knock := make(chan struct{}, 1)
	wait := env.Serve(ctx, func(l net.Listener) error { return listen(l, knock) })
	env.Ready()
	tick := time.NewTicker(cfg.Interval)
	defer tick.Stop()
	for {
		p.Scan(ctx)
		select {
		case <-ctx.Done():
			for _, l := range env.Listeners {
				l.Close()
			}
			wait()
			return nil
		case <-knock:
		case <-tick.C:
		}
	}
}

// listen turns each connection to public/pickup into a knock: sendmail
// sends nothing, and a scan takes whatever is there, so knocks that come
// while one is pending are one.
func listen(l net.Listener, knock chan<- struct{}) error {
	for {
		c, err := l.Accept()
		if err != nil {
			if ne, ok := err.(net.Error); ok && ne.Timeout() {
				continue
			}
			if errors.Is(err, net.ErrClosed) {
				return nil
			}
			return err
		}
		c.Close()
		select {
		case knock <- struct{}{}:
		default:
		}
	}
}

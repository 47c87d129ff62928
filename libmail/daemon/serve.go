package daemon

import (
	"context"
	"net"
	"sync"
)

// Serve runs serve on each of the daemon's listeners, each in its own
// goroutine, and returns a function that waits until every one has
// returned. A server's error is logged unless ctx has ended, when an
// error from a listener being closed is the expected way out.
func (e *Env) Serve(ctx context.Context, serve func(net.Listener) error) (wait func()) {
	var wg sync.WaitGroup
	for _, l := range e.Listeners {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := serve(l); err != nil && ctx.Err() == nil {
				e.Log.Error("serve %s: %v", l.Addr(), err)
			}
		}()
	}
	return wg.Wait
}

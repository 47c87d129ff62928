package delivery

import (
	"context"
	"net"
	"path/filepath"
	"sync"
	"testing"

	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/maillog"
)

// serveHandler runs Serve with h on a Unix socket and connects to it as
// qmgr does. stop stops the agent and waits until Serve returns.
func serveHandler(t *testing.T, h Handler, log *maillog.Logger) (c *ipc.Conn, stop func()) {
	t.Helper()
	sock := filepath.Join(t.TempDir(), "agent.sock")
	l, err := net.Listen("unix", sock)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		Serve(ctx, l, h, make(chan struct{}, 4), log)
	}()
	c, err = ipc.Dial(ctx, sock, ipc.Hello{Channel: Channel, Version: Version})
	if err != nil {
		t.Fatal(err)
	}
	stop = func() {
		cancel()
		wg.Wait()
	}
	t.Cleanup(func() {
		c.Close()
		stop()
	})
	return c, stop
}

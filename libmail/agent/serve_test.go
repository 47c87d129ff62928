package agent

import (
	"context"
	"net"
	"path/filepath"
	"sync"
	"testing"
	"time"

	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/ipc/delivery"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/queue"
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
	c, err = ipc.Dial(ctx, sock, ipc.Hello{Channel: delivery.Channel, Version: delivery.Version})
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

// TestServeStopRetry: an agent that stops (a reload restarts it)
// answers the requests it gives up with Retry before it closes the
// connection, so that qmgr can tell them from deliveries lost to a
// broken connection, which it defers with backoff.
func TestServeStopRetry(t *testing.T) {
	started := make(chan struct{}, 2)
	h := func(ctx context.Context, req *delivery.Request) *delivery.Reply {
		started <- struct{}{}
		<-ctx.Done()
		return nil
	}
	c, stop := serveHandler(t, h, maillog.Discard())
	for seq := uint64(1); seq <= 2; seq++ {
		c.Send(delivery.Request{Type: delivery.RequestType, Seq: seq, ID: "1J206RINHTF60UBI", Queue: queue.Active, Rcpts: []int{0}})
	}
	c.Flush()
	<-started
	<-started
	done := make(chan struct{})
	go func() {
		stop()
		close(done)
	}()
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	seen := map[uint64]bool{}
	for range 2 {
		var rep delivery.Reply
		if err := c.Recv(&rep); err != nil {
			t.Fatalf("no answer from a stopping agent: %v", err)
		}
		if err := rep.Validate(); err != nil || !rep.Retry || len(rep.Results) != 0 {
			t.Errorf("reply %+v (%v), want Retry without results", rep, err)
		}
		seen[rep.Seq] = true
	}
	if !seen[1] || !seen[2] {
		t.Errorf("answered %v", seen)
	}
	var rep delivery.Reply
	if err := c.Recv(&rep); err == nil {
		t.Errorf("after the retries: %+v, want the connection closed", rep)
	}
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("Serve did not return")
	}
}

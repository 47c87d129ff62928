package agent

import (
	"context"
	"net"
	"sync"
	"time"

	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/ipc/delivery"
	"postern.dev/postern/libmail/maillog"
)

// Handler delivers one request and returns its reply, or nil when the
// request was abandoned because ctx ended (qmgr went away or the agent
// stops): a new qmgr schedules it again.
type Handler func(ctx context.Context, req *delivery.Request) *delivery.Reply

// Serve is the agent side of the channel, shared by every delivery agent:
// it accepts qmgr's connections on l until ctx ends and works on requests
// concurrently, at most cap(sem) at a time over all connections, answering
// each as it finishes. It returns once every request it started has ended.
func Serve(ctx context.Context, l net.Listener, h Handler, sem chan struct{}, log *maillog.Logger) {
	var wg sync.WaitGroup
	go func() { <-ctx.Done(); l.Close() }()
	for {
		c, err := l.Accept()
		if err != nil {
			if ctx.Err() == nil {
				log.Warn("accept: %v", err)
			}
			break
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			serveConn(ctx, c, h, sem, log)
		}()
	}
	wg.Wait()
}

// serveConn handles one qmgr connection. When qmgr goes away its requests
// are abandoned at the next safe point of the handler. When the agent
// stops, it reads no more requests and answers those it abandons with
// Retry, so that qmgr sends them again at once rather than defer them as
// it does for a connection that breaks.
func serveConn(ctx context.Context, c net.Conn, h Handler, sem chan struct{}, log *maillog.Logger) {
	conn, err := ipc.Accept(c, delivery.Channel, delivery.Version)
	if err != nil {
		log.Warn("delivery socket: %v", err)
		return
	}
	defer conn.Close()
	cctx, cancel := context.WithCancel(ctx)
	defer cancel()
	// Stopping ends the Recv below; the connection stays open a while for
	// the answers to what was in progress.
	stopRead := context.AfterFunc(cctx, func() {
		c.SetReadDeadline(time.Unix(1, 0))
		c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	})
	defer stopRead()
	var wg sync.WaitGroup
	defer wg.Wait()
	answer := func(req *delivery.Request, rep *delivery.Reply) {
		if rep == nil {
			if ctx.Err() == nil {
				return // qmgr went away: nobody to tell
			}
			rep = &delivery.Reply{Type: delivery.ReplyType, Seq: req.Seq, Retry: true}
		}
		if rep.Fit(delivery.FrameLimit) {
			log.Warn("%s: delivery reply cut to fit an IPC frame", req.ID)
		}
		// After fit only a broken connection makes this fail.
		if err := conn.SendFlush(rep); err != nil {
			if ctx.Err() == nil {
				log.Warn("%s: delivery reply: %v", req.ID, err)
			}
			cancel()
		}
	}
	for {
		var req delivery.Request
		if err := conn.Recv(&req); err != nil {
			return
		}
		if err := req.Validate(); err != nil {
			log.Warn("delivery socket: %v", err)
			return
		}
		select {
		case sem <- struct{}{}:
		case <-cctx.Done():
			answer(&req, nil)
			return
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			answer(&req, h(cctx, &req))
		}()
	}
}

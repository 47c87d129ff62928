package smtpd

import (
	"context"
	"runtime/debug"
	"strings"
)

// The connection boundary: each client connection is served by one
// goroutine, serveConn, and nothing that happens in its session reaches
// past it.
//
// Context. The session runs under a context that serveConn cancels when
// the session ends, whatever ends it, and that Shutdown cancels when it
// stops waiting for sessions (not when it begins: a transaction still
// running then may finish, end-of-DATA lookups included). Every handler
// that may wait on the network takes it first. A lookup made while the
// client waits for a reply adds the session's own deadline, the time the
// session gives a client for each step (smtpd_timeout, or
// smtpd_stress_timeout under stress), from when the lookup starts: a
// client then never waits on a lookup longer than a read may take, and
// no lookup outlives its session or a shutdown. (The context is a
// parameter rather than a field of conn so that a handler shows whether
// it may wait.)
//
// Panics. One process serves every client, so a bug that panics in one
// session (in a handler, a lookup, the client-name lookup) must not end
// the others. serveConn recovers, logs the panic with its stack, answers
// the client 421 after the replies already due, closes the connection
// and gives back its places (the per-client count, the process limit,
// stress bookkeeping) through the same path as any other end of a
// session; a queue entry being written is discarded, so nothing was
// acknowledged and the client retries. This is the only recover in
// smtpd. A panic elsewhere (the accept loop, a shared goroutine) still
// ends the process, and the master restarts it; so would a panic that
// left a shared lock held, which is why smtpd holds its shared locks
// only over a few lines that call nothing else.

// serveConn runs one session to its end.
func (s *Server) serveConn(c *conn) {
	ctx, cancel := context.WithCancel(s.base)
	defer func() {
		cancel()
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		s.wg.Done()
	}()
	defer c.finish()
	defer func() {
		if p := recover(); p != nil {
			c.crashed(p, debug.Stack())
		}
	}()
	c.serve(ctx)
}

// crashed ends a session that panicked with p: it logs the panic and
// the stack, on one line as every log line is, and tells the client.
func (c *conn) crashed(p any, stack []byte) {
	st := strings.ReplaceAll(strings.TrimSpace(string(stack)), "\n\t", " ")
	st = strings.ReplaceAll(st, "\n", " | ")
	c.srv.log.Error("panic in session with %s: %v; stack: %s", c.client.label(), p, st)
	c.writeReply(reply(421, "4.3.0", "%s Error: internal error, closing connection", c.srv.cfg.Hostname))
	c.flush()
}

package smtpd

import (
	"errors"
	"time"
)

// Stress, after Postfix's (STRESS_README): when a process's connections
// reach smtpd_process_connection_limit, idle clients must not be able to
// keep new ones out for smtpd_timeout (300 s). Under stress:
//
//   - a new client closes, with 421, the session that has waited longest
//     for a command outside a transaction, and takes its place at once;
//   - smtpd_stress_timeout (10 s) replaces smtpd_timeout, for new reads
//     and for the reads already waiting, so that when no session can be
//     closed (each has a transaction) one still ends soon;
//   - smtpd_stress_hard_error_limit (1) replaces smtpd_hard_error_limit.
//
// Stress begins when the last place is taken and ends when the
// connections are down to three quarters of the limit, so that a server
// hovering at its limit does not flap in and out of it.

// errEvicted ends a session chosen to make room for a new client.
var errEvicted = errors.New("closed under load")

// timeout is the time a client has for a command or a line of data.
func (s *Server) timeout() time.Duration {
	if s.stress.Load() {
		return s.cfg.StressTimeout
	}
	return s.cfg.Timeout
}

// errorLimit is the number of error replies that ends a session.
func (s *Server) errorLimit() int {
	if s.stress.Load() {
		return s.cfg.StressHardErrorLimit
	}
	return s.cfg.HardErrorLimit
}

// acquire takes a place under smtpd_process_connection_limit for a new
// client, making room if need be (see above). While no session can be
// closed it waits for one to end; it gives up, reporting false, when the
// server shuts down.
func (s *Server) acquire() bool {
	select {
	case s.sem <- struct{}{}:
		if len(s.sem) >= cap(s.sem) {
			s.setStress(true)
		}
		return true
	default:
	}
	s.setStress(true)
	s.evictIdle()
	// The session chosen normally ends within milliseconds; if it began
	// a command just then, or none could be chosen, another is tried
	// every second.
	tick := time.NewTicker(time.Second)
	defer tick.Stop()
	for {
		select {
		case s.sem <- struct{}{}:
			return true
		case <-tick.C:
			if s.draining.Load() {
				return false
			}
			s.evictIdle()
		}
	}
}

// release gives a place back.
func (s *Server) release() {
	<-s.sem
	if s.stress.Load() && len(s.sem) <= cap(s.sem)*3/4 {
		s.setStress(false)
	}
}

// setStress turns stress on or off, logging the change. Turning it on
// shortens the reads already waiting to smtpd_stress_timeout from their
// start.
func (s *Server) setStress(on bool) {
	if s.stress.Swap(on) == on {
		return
	}
	if !on {
		s.log.Info("stress mode ends: %d connections, smtpd_process_connection_limit %d", len(s.sem), s.cfg.ProcessConnLimit)
		return
	}
	s.log.Warn("stress mode begins: smtpd_process_connection_limit %d reached; smtpd_timeout %s, smtpd_hard_error_limit %d, idle sessions closed for new clients",
		s.cfg.ProcessConnLimit, s.cfg.StressTimeout, s.cfg.StressHardErrorLimit)
	s.mu.Lock()
	defer s.mu.Unlock()
	for c := range s.conns {
		c.shorten(s.cfg.StressTimeout)
	}
}

// evictIdle closes, with 421, the session that has waited longest for a
// command outside a transaction.
func (s *Server) evictIdle() {
	s.mu.Lock()
	defer s.mu.Unlock()
	var victim *conn
	var since time.Time
	for c := range s.conns {
		c.dl.Lock()
		if c.idle && !c.evicted.Load() && (victim == nil || c.readStart.Before(since)) {
			victim, since = c, c.readStart
		}
		c.dl.Unlock()
	}
	if victim == nil {
		return
	}
	victim.dl.Lock()
	defer victim.dl.Unlock()
	if victim.idle {
		victim.evicted.Store(true)
		victim.client.SetReadDeadline(time.Now())
	}
}

// startRead sets the deadline of a read that begins now, smtpd_timeout
// or smtpd_stress_timeout away; idle marks a wait for a command outside a
// transaction, which may be cut short for a new client or a shutdown.
// An error means the session must end without reading.
func (c *conn) startRead(idle bool) error {
	c.dl.Lock()
	defer c.dl.Unlock()
	if idle && c.evicted.Load() {
		// (A session chosen just as it began a transaction finishes it.)
		return errEvicted
	}
	now := time.Now()
	c.readStart, c.idle = now, idle
	c.nc.SetReadDeadline(now.Add(c.srv.timeout()))
	return nil
}

// endRead marks the end of a read, or of the reads of a message.
func (c *conn) endRead() {
	c.dl.Lock()
	c.readStart, c.idle = time.Time{}, false
	c.dl.Unlock()
}

// shorten brings the deadline of a read in progress to d from its start,
// if that is sooner.
func (c *conn) shorten(d time.Duration) {
	c.dl.Lock()
	defer c.dl.Unlock()
	if !c.readStart.IsZero() && !c.evicted.Load() && d < c.srv.cfg.Timeout {
		c.client.SetReadDeadline(c.readStart.Add(d))
	}
}

// nudge makes a session blocked reading its next command wake up, so
// that Shutdown can tell idle clients 421 at once. A session in the
// middle of a transaction is left alone: its client began a message
// before the shutdown (a reload, say) and may finish it in the time
// Shutdown gives; a nudge would cut it off mid-transaction, or mid-DATA,
// and throw away whatever part of a line had arrived.
func (c *conn) nudge() {
	c.dl.Lock()
	defer c.dl.Unlock()
	if c.idle {
		c.client.SetReadDeadline(time.Now())
	}
}

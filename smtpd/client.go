package smtpd

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"sort"
	"strings"
	"sync"
	"time"
)

// limitListener enforces the connection limits and attaches client state
// to each connection. A process at its limit makes room for each new
// client by closing an idle session (Server.acquire); while it cannot,
// it stops accepting, so further clients wait in the kernel's listen
// queue instead of costing memory.
type limitListener struct {
	net.Listener
	srv *Server
}

func (l *limitListener) Accept() (net.Conn, error) {
	s := l.srv
	for {
		c, err := l.Listener.Accept()
		if err != nil {
			return nil, err
		}
		host, _, _ := net.SplitHostPort(c.RemoteAddr().String())
		a, _ := netip.ParseAddr(host)
		exempt := s.cfg.Limits.exempt(a)
		// Each process counts its own clients' connections as well as
		// anvil counting all of them (conn.admit): this count holds when
		// anvil cannot be reached, and costs nothing.
		s.mu.Lock()
		over := s.cfg.ClientConnLimit > 0 && !exempt && s.clients[host] >= s.cfg.ClientConnLimit
		if !over {
			s.clients[host]++
		}
		s.mu.Unlock()
		if over {
			// Postfix's wording, so fail2ban filters keep working.
			s.log.Warn("Connection concurrency limit exceeded: %d from unknown[%s] for service %s", s.cfg.ClientConnLimit+1, host, s.cfg.Service)
			c.SetWriteDeadline(time.Now().Add(5 * time.Second))
			fmt.Fprintf(c, "421 4.7.0 %s Error: too many connections from %s\r\n", s.cfg.Hostname, host)
			c.Close()
			continue
		}
		if !s.acquire() {
			c.Close()
			s.mu.Lock()
			s.forget(host)
			s.mu.Unlock()
			return nil, errClosed
		}
		return &clientConn{Conn: c, srv: s, host: host, exempt: exempt, named: make(chan struct{}), counts: map[string][2]int{}}, nil
	}
}

// clientConn is a client connection with what smtpd knows about it. It
// sits below TLS, so after STARTTLS it is reached through the tls.Conn.
type clientConn struct {
	net.Conn
	srv    *Server
	host   string // IP address as text
	exempt bool   // in smtpd_client_event_limit_exceptions
	name   string // verified host name or "unknown"
	named  chan struct{}

	mu      sync.Mutex
	counts  map[string][2]int // command -> {ok, total}, for the disconnect line
	release func()            // tells anvil the connection ended; nil if anvil was not told it began
	closed  sync.Once
}

// nameTimeout bounds the client-name lookup, which its greeting waits
// for: a slow resolver must not keep the client waiting long (it is
// "unknown" then, as in Postfix).
const nameTimeout = 10 * time.Second

// lookupName finds the client's name, in the session's goroutine (so not
// holding up the accept loop, and inside the connection boundary), then
// logs the connection, as Postfix's "connect from" line. Until it is
// done, Close waits for it (waitName), to log the name.
func (c *clientConn) lookupName(ctx context.Context) {
	defer close(c.named)
	c.name = "unknown"
	ip := net.ParseIP(c.host)
	switch {
	case ip == nil:
	case ip.IsLoopback():
		// No query leaves the host for its own address.
		c.name = "localhost"
	case c.srv.cfg.PeernameLookup && c.srv.names != nil:
		ctx, cancel := context.WithTimeout(ctx, min(nameTimeout, c.srv.timeout()))
		if n := c.srv.names.ClientName(ctx, ip); n != "" {
			c.name = n
		}
		cancel()
	}
	c.srv.log.Info("connect from %s", c.label())
}

func (c *clientConn) waitName() { <-c.named }

// label is name[address], the form every smtpd log line uses.
func (c *clientConn) label() string { return c.name + "[" + c.host + "]" }

// count records a command and whether it succeeded.
func (c *clientConn) count(cmd string, ok bool) {
	c.mu.Lock()
	v := c.counts[cmd]
	v[1]++
	if ok {
		v[0]++
	}
	c.counts[cmd] = v
	c.mu.Unlock()
}

// setRelease keeps the function that tells anvil the connection ended.
func (c *clientConn) setRelease(f func()) {
	c.mu.Lock()
	c.release = f
	c.mu.Unlock()
}

// Close ends the connection once, logging the Postfix-style disconnect
// line and releasing the connection's place in the limits, anvil's
// among them.
func (c *clientConn) Close() error {
	err := c.Conn.Close()
	c.closed.Do(func() {
		c.waitName()
		c.srv.log.Info("disconnect from %s%s", c.label(), c.summary())
		c.srv.mu.Lock()
		c.srv.forget(c.host)
		c.srv.mu.Unlock()
		c.srv.release()
		c.mu.Lock()
		release := c.release
		c.mu.Unlock()
		if release != nil {
			release()
		}
	})
	return err
}

// forget takes a connection off its client's count; s.mu is held.
func (s *Server) forget(host string) {
	if s.clients[host]--; s.clients[host] <= 0 {
		delete(s.clients, host)
	}
}

// summaryOrder is the order of Postfix's disconnect line (its command
// table's), which log tools and people reading logs expect; a command
// missing here sorts after these, by name.
var summaryOrder = map[string]int{"helo": 1, "ehlo": 2, "starttls": 3, "auth": 4, "mail": 5, "rcpt": 6, "data": 7,
	"bdat": 8, "rset": 9, "noop": 10, "vrfy": 11, "help": 12, "quit": 13, "unknown": 14}

// summary renders " ehlo=1 mail=1 rcpt=0/1 data=1 quit=1 commands=4/5".
func (c *clientConn) summary() string {
	c.mu.Lock()
	defer c.mu.Unlock()
	var cmds []string
	for k := range c.counts {
		cmds = append(cmds, k)
	}
	rank := func(k string) int {
		if r, ok := summaryOrder[k]; ok {
			return r
		}
		return len(summaryOrder) + 1
	}
	sort.Slice(cmds, func(i, j int) bool {
		if ri, rj := rank(cmds[i]), rank(cmds[j]); ri != rj {
			return ri < rj
		}
		return cmds[i] < cmds[j]
	})
	var b strings.Builder
	ok, total := 0, 0
	for _, k := range cmds {
		v := c.counts[k]
		ok += v[0]
		total += v[1]
		if v[0] == v[1] {
			fmt.Fprintf(&b, " %s=%d", k, v[1])
		} else {
			fmt.Fprintf(&b, " %s=%d/%d", k, v[0], v[1])
		}
	}
	if ok == total {
		fmt.Fprintf(&b, " commands=%d", total)
	} else {
		fmt.Fprintf(&b, " commands=%d/%d", ok, total)
	}
	return b.String()
}

// addr returns the client's address for policy checks.
func (c *clientConn) addr() netip.Addr {
	a, _ := netip.ParseAddr(c.host)
	return a
}

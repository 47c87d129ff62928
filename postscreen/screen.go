package postscreen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"postern.dev/postern/libmail/ipc/pass"
)

// pregreetPeek is how much of a pregreeting client's text is peeked at
// and logged: a small array per held client, never a read buffer.
const pregreetPeek = 64

// arrive takes a new client, in the accept loop's goroutine: it logs
// it, counts it, and either refuses it, passes it on, or sends the 220-
// line and starts the goroutine that holds it through the greet wait.
// Doing the deep calls (logging, the first write) here rather than in
// that goroutine keeps its stack at the minimum while it waits, which is
// most of what an idle client costs. Nothing here blocks: a fresh
// socket's send buffer takes a greeting line.
func (s *Server) arrive(c *net.TCPConn) {
	start := s.now()
	client := c.RemoteAddr().(*net.TCPAddr).AddrPort()
	client = netip.AddrPortFrom(client.Addr().Unmap(), client.Port())
	local := c.LocalAddr().(*net.TCPAddr).AddrPort()
	local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	label := "[" + client.Addr().String() + "]:" + strconv.Itoa(int(client.Port()))
	s.log.Info("CONNECT from %s to [%s]:%d", label, local.Addr(), local.Port())

	if reply, why := s.admit(c, client.Addr()); reply != "" {
		s.log.Info("NOQUEUE: reject: CONNECT from %s: %s", label, why)
		s.refuse(c, reply, label)
		return
	}
	req := pass.Request{Type: pass.RequestType, Client: client.String(), Local: local.String()}
	if permit, found := s.access(client.Addr()); found {
		if !permit {
			s.log.Info("DENYLISTED %s", label)
			s.refuse(c, "421 4.7.1 Service unavailable; client ["+client.Addr().String()+"] blocked\r\n", label)
			s.release(c, client.Addr())
			return
		}
		s.log.Info("ALLOWLISTED %s", label)
		req.Verdict = pass.Allowlisted
		s.goHand(c, client.Addr(), req, label)
		return
	}
	if s.cache.passed(client.Addr(), start) {
		s.log.Info("PASS OLD %s", label)
		req.Verdict = pass.PassOld
		s.goHand(c, client.Addr(), req, label)
		return
	}
	if s.cfg.GreetBanner != "" {
		c.SetWriteDeadline(start.Add(time.Second))
		_, err := c.Write([]byte("220-" + s.cfg.GreetBanner + "\r\n"))
		c.SetWriteDeadline(time.Time{})
		if err != nil {
			s.log.Info("HANGUP after %.2f from %s in tests before SMTP handshake", s.now().Sub(start).Seconds(), label)
			s.log.Info("DISCONNECT %s", label)
			c.Close()
			s.release(c, client.Addr())
			return
		}
	}
	h := &held{c: c, req: req, addr: client.Addr(), start: start, label: label}
	// The deadline first: an allow-listing DNS answer moves it.
	c.SetReadDeadline(start.Add(s.cfg.GreetWait))
	s.startDNSBL(h)
	s.wg.Add(1)
	go s.hold(h)
}

// goHand passes an admitted client on in a goroutine of its own: the
// pass dials smtpd, which the accept loop must not wait for.
func (s *Server) goHand(c *net.TCPConn, addr netip.Addr, req pass.Request, label string) {
	s.wg.Add(1)
	go func() {
		defer s.wg.Done()
		s.hand(c, req, label)
		s.release(c, addr)
	}()
}

// held is a client in its greet wait, on the heap rather than on the
// stack of the goroutine that waits for it.
type held struct {
	c           *net.TCPConn
	req         pass.Request
	addr        netip.Addr
	start       time.Time
	label       string
	dnsbl       chan dnsblResult // nil without DNS lists
	cancelDNSBL context.CancelFunc
}

// hold waits, on the netpoller, for the greet wait to end or the client
// to talk, then decides. It is all an idle client runs: a small frame
// whose callees are the poller's, so the goroutine keeps the minimum
// stack (test/bench/idleconns measures it).
func (s *Server) hold(h *held) {
	var buf [pregreetPeek]byte
	n, err := peek(h.c, buf[:])
	s.decide(h, buf[:n], err)
}

// startDNSBL starts the DNS list lookups of a new client; they end with
// the greet wait.
func (s *Server) startDNSBL(h *held) {
	if len(s.cfg.Sites) == 0 {
		return
	}
	ctx, cancel := context.WithDeadline(s.base, h.start.Add(s.cfg.GreetWait))
	h.dnsbl, h.cancelDNSBL = make(chan dnsblResult, 1), cancel
	go func() {
		r := dnsblScore(ctx, s.dns, s.cfg.Sites, h.addr)
		if s.cfg.AllowScore < 0 && r.score <= s.cfg.AllowScore {
			// An allow-listed client need not wait out the greet wait:
			// end hold's read now.
			h.c.SetReadDeadline(time.Unix(1, 0))
		}
		h.dnsbl <- r
	}()
}

// decide acts on what the greet wait showed (peeked: what the client
// sent, if anything) and on the DNS lists: pass the client to smtpd, or
// refuse it.
func (s *Server) decide(h *held, peeked []byte, err error) {
	defer s.wg.Done()
	defer s.release(h.c, h.addr)
	if h.cancelDNSBL != nil {
		defer h.cancelDNSBL()
	}
	h.c.SetReadDeadline(time.Time{})
	v := s.verdict(h, peeked, err)
	switch {
	case v.hangup:
		s.log.Info("HANGUP after %.2f from %s in tests before SMTP handshake", s.now().Sub(h.start).Seconds(), h.label)
		s.log.Info("DISCONNECT %s", h.label)
		h.c.Close()
	case v.reply != "":
		s.refuse(h.c, v.reply, h.label)
	default:
		if v.clean {
			s.log.Info("PASS NEW %s", h.label)
			s.cache.add(h.addr, s.now())
		}
		h.req.Verdict = pass.PassNew
		s.hand(h.c, h.req, h.label)
	}
}

// verdict is what the tests found.
type verdict struct {
	hangup bool   // the client left during the tests
	reply  string // the 421 to send; empty to pass the client
	clean  bool   // every test passed (not only ignored failures): cache it
}

// verdict judges the tests: the pregreet, from what the client sent
// during the greet wait, and the DNS list score.
func (s *Server) verdict(h *held, peeked []byte, err error) verdict {
	pregreet := len(peeked) > 0
	if !pregreet && !errors.Is(err, os.ErrDeadlineExceeded) {
		return verdict{hangup: true}
	}
	v := verdict{clean: true}
	if pregreet {
		s.log.Info("PREGREET %d after %.2f from %s: %s", len(peeked), s.now().Sub(h.start).Seconds(), h.label, escape(peeked))
		v.clean = false
		if s.cfg.GreetEnforce {
			// The DNS lists no longer matter. What was peeked is read,
			// so that closing does not reset the connection under the
			// 421.
			h.c.Read(peeked)
			v.reply = "421 4.7.1 Service unavailable; protocol error: talking before the greeting\r\n"
			return v
		}
	}
	if h.dnsbl != nil {
		r := <-h.dnsbl
		if r.score >= s.cfg.Threshold {
			s.log.Info("DNSBL rank %d for %s", r.score, h.label)
			v.clean = false
			if s.cfg.DNSBLEnforce {
				v.reply = "421 4.7.1 Service unavailable; client [" + h.addr.String() + "] blocked using " + strings.Join(r.listed, ", ") + "\r\n"
			}
		}
	}
	return v
}

// peek waits, on the netpoller and up to the read deadline, for the
// client to send something, and copies it into buf without taking it
// from the socket (MSG_PEEK): a client whose pregreet is only logged
// (postscreen_greet_action = ignore) reaches smtpd with its words
// intact. It returns 0 and nil when the client closed.
func peek(c *net.TCPConn, buf []byte) (int, error) {
	rc, err := c.SyscallConn()
	if err != nil {
		return 0, err
	}
	var n int
	var rerr error
	err = rc.Read(func(fd uintptr) bool {
		n, _, rerr = unix.Recvfrom(int(fd), buf, unix.MSG_PEEK)
		return rerr != unix.EAGAIN
	})
	if err != nil {
		return 0, err
	}
	return n, rerr
}

// access looks addr up in postscreen_access_list.
func (s *Server) access(addr netip.Addr) (permit, found bool) {
	for _, r := range s.cfg.Access {
		if r.Prefix.Contains(addr) {
			return r.Permit, true
		}
	}
	return false, false
}

// refuse sends reply and disconnects.
func (s *Server) refuse(c *net.TCPConn, reply, label string) {
	c.SetWriteDeadline(s.now().Add(10 * time.Second))
	c.Write([]byte(reply))
	c.Close()
	s.log.Info("DISCONNECT %s", label)
}

// hand passes the client to smtpd and lets go of it here.
func (s *Server) hand(c *net.TCPConn, req pass.Request, label string) {
	ctx, cancel := context.WithTimeout(s.base, 10*time.Second)
	defer cancel()
	if err := s.passer.Pass(ctx, c, req); err != nil {
		s.log.Warn("cannot pass %s to smtpd: %v", label, err)
		s.refuse(c, "421 4.3.2 Service currently unavailable\r\n", label)
		return
	}
	c.Close()
}

// escape renders what a pregreeting client sent for the log, as
// Postfix does: CR and LF as \r and \n, other controls and bytes
// outside ASCII as \ooo.
func escape(b []byte) string {
	var sb strings.Builder
	for _, c := range b {
		switch {
		case c == '\r':
			sb.WriteString(`\r`)
		case c == '\n':
			sb.WriteString(`\n`)
		case c == '\\':
			sb.WriteString(`\\`)
		case c < ' ' || c >= 0x7f:
			fmt.Fprintf(&sb, `\%03o`, c)
		default:
			sb.WriteByte(c)
		}
	}
	return sb.String()
}

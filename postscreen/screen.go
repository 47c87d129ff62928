package postscreen

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strings"
	"time"

	"golang.org/x/sys/unix"

	"postern.dev/postern/libmail/ipc/pass"
)

// pregreetPeek is how much of a pregreeting client's text is read and
// logged. It lives on the goroutine's stack: an idle client costs no
// buffer.
const pregreetPeek = 64

// handle runs one client through the tests and either passes it to
// smtpd or refuses it. Until the greet wait ends the goroutine sits in
// one Read on the netpoller; that is all an idle client costs.
func (s *Server) handle(c *net.TCPConn) {
	defer s.wg.Done()
	start := s.now()
	client := c.RemoteAddr().(*net.TCPAddr).AddrPort()
	client = netip.AddrPortFrom(client.Addr().Unmap(), client.Port())
	local := c.LocalAddr().(*net.TCPAddr).AddrPort()
	local = netip.AddrPortFrom(local.Addr().Unmap(), local.Port())
	label := "[" + client.Addr().String() + "]:" + fmt.Sprint(client.Port())
	s.log.Info("CONNECT from %s to [%s]:%d", label, local.Addr(), local.Port())

	if reply, why := s.admit(c, client.Addr()); reply != "" {
		s.log.Info("NOQUEUE: reject: CONNECT from %s: %s", label, why)
		s.refuse(c, reply, label)
		return
	}
	defer s.release(c, client.Addr())

	req := pass.Request{Type: pass.RequestType, Client: client.String(), Local: local.String()}
	if permit, found := s.access(client.Addr()); found {
		if !permit {
			s.log.Info("DENYLISTED %s", label)
			s.refuse(c, "421 4.7.1 Service unavailable; client ["+client.Addr().String()+"] blocked\r\n", label)
			return
		}
		s.log.Info("ALLOWLISTED %s", label)
		req.Verdict = pass.Allowlisted
		s.hand(c, req, label)
		return
	}
	if s.cache.passed(client.Addr(), start) {
		s.log.Info("PASS OLD %s", label)
		req.Verdict = pass.PassOld
		s.hand(c, req, label)
		return
	}

	v := s.screen(c, client.Addr(), start, label)
	switch {
	case v.hangup:
		s.log.Info("HANGUP after %.2f from %s in tests before SMTP handshake", s.now().Sub(start).Seconds(), label)
		s.log.Info("DISCONNECT %s", label)
		c.Close()
	case v.reply != "":
		s.refuse(c, v.reply, label)
	default:
		if v.clean {
			s.log.Info("PASS NEW %s", label)
			s.cache.add(client.Addr(), s.now())
		}
		req.Verdict = pass.PassNew
		s.hand(c, req, label)
	}
}

// verdict is what the tests found.
type verdict struct {
	hangup bool   // the client left during the tests
	reply  string // the 421 to send; empty to pass the client
	clean  bool   // every test passed (not only ignored failures): cache it
}

// screen runs the tests before the greeting: it sends the 220- line,
// starts the DNS list lookups, and waits out the greet wait for the
// client to talk out of turn.
func (s *Server) screen(c *net.TCPConn, addr netip.Addr, start time.Time, label string) verdict {
	deadline := start.Add(s.cfg.GreetWait)
	if s.cfg.GreetBanner != "" {
		c.SetWriteDeadline(deadline)
		_, err := c.Write([]byte("220-" + s.cfg.GreetBanner + "\r\n"))
		c.SetWriteDeadline(time.Time{})
		if err != nil {
			return verdict{hangup: true}
		}
	}
	var dnsbl chan dnsblResult
	ctx, cancel := context.WithDeadline(s.base, deadline)
	defer cancel()
	if len(s.cfg.Sites) > 0 {
		dnsbl = make(chan dnsblResult, 1)
		go func() {
			r := dnsblScore(ctx, s.dns, s.cfg.Sites, addr)
			if s.cfg.AllowScore < 0 && r.score <= s.cfg.AllowScore {
				// An allow-listed client need not wait out the greet
				// wait: end the Read below now.
				c.SetReadDeadline(time.Unix(1, 0))
			}
			dnsbl <- r
		}()
	}

	c.SetReadDeadline(deadline)
	var buf [pregreetPeek]byte
	n, err := peek(c, buf[:])
	c.SetReadDeadline(time.Time{})
	pregreet := n > 0
	if !pregreet && !errors.Is(err, os.ErrDeadlineExceeded) {
		return verdict{hangup: true}
	}
	v := verdict{clean: true}
	if pregreet {
		s.log.Info("PREGREET %d after %.2f from %s: %s", n, s.now().Sub(start).Seconds(), label, escape(buf[:n]))
		v.clean = false
		if s.cfg.GreetEnforce {
			// The DNS lists no longer matter. What was peeked is read,
			// so that closing does not reset the connection under the
			// 421.
			c.Read(buf[:n])
			v.reply = "421 4.7.1 Service unavailable; protocol error: talking before the greeting\r\n"
			return v
		}
	}
	if dnsbl != nil {
		r := <-dnsbl
		if r.score >= s.cfg.Threshold {
			s.log.Info("DNSBL rank %d for %s", r.score, label)
			v.clean = false
			if s.cfg.DNSBLEnforce {
				v.reply = "421 4.7.1 Service unavailable; client [" + addr.String() + "] blocked using " + strings.Join(r.listed, ", ") + "\r\n"
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

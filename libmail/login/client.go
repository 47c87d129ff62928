package login

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/netip"
	"time"

	"postern.dev/postern/libmail/maillog"
)

// MaxLine bounds a command line before login: the longest a client needs
// is an AUTHENTICATE with an initial response (a few hundred bytes).
const MaxLine = 8192

// Client is a client in the login state: its connection, TLS, and what
// it tried. It holds no mailbox and no credentials once a login is
// decided, and its methods are what a Protocol may do before login.
type Client struct {
	srv    *Server
	raw    net.Conn  // the TCP connection
	nc     net.Conn  // raw, or the TLS connection over it
	tc     *tls.Conn // nil before TLS
	r      *bufio.Reader
	w      *bufio.Writer
	remote netip.AddrPort
	local  netip.AddrPort
	exempt bool
	// failures counts this session's failed logins: the failure delay
	// grows with it when anvil cannot say (it is down, or the client is
	// in no limit).
	failures int
	release  func() // reports the connection's end to anvil
	// handed, once the session service took the client, finishes what
	// the login process still does for it (the TLS proxy, or nothing).
	handed func()
}

func newClient(s *Server, nc net.Conn) *Client {
	c := &Client{srv: s, raw: nc, nc: nc, r: bufio.NewReaderSize(nc, MaxLine+2), w: bufio.NewWriter(nc),
		remote: addrPort(nc.RemoteAddr()), local: addrPort(nc.LocalAddr())}
	c.exempt = s.cfg.Limits.exempt(c.remote.Addr())
	return c
}

// Log is the login process's logger.
func (c *Client) Log() *maillog.Logger { return c.srv.log }

// Hostname is myhostname, for greetings.
func (c *Client) Hostname() string { return c.srv.cfg.Hostname }

// Label names the client in log lines as Postfix does, "unknown[ADDR]":
// the login processes look up no client names.
func (c *Client) Label() string { return "unknown[" + c.remote.Addr().Unmap().String() + "]" }

// Addr is the client's address.
func (c *Client) Addr() netip.Addr { return c.remote.Addr().Unmap() }

// TLS reports whether the connection is under TLS.
func (c *Client) TLS() bool { return c.tc != nil }

// CanStartTLS reports whether STARTTLS (STLS) is offered: there is a
// certificate and the connection is not under TLS yet.
func (c *Client) CanStartTLS() bool { return c.srv.cfg.TLS != nil && c.tc == nil }

// PasswordsAllowed reports whether the client may send a password now:
// under TLS, or anywhere with login_plaintext_auth.
func (c *Client) PasswordsAllowed() bool { return c.tc != nil || c.srv.cfg.PlaintextAuth }

// ReadLine reads one command line without its CRLF (a bare LF is taken
// too, as Dovecot does). A line longer than MaxLine is an error, and the
// client is not worth reading further.
func (c *Client) ReadLine() (string, error) {
	c.nc.SetReadDeadline(c.srv.now().Add(c.srv.cfg.Timeout))
	line, err := c.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull || len(line) > MaxLine {
		return "", ErrLineTooLong
	}
	if err != nil {
		return "", err
	}
	n := len(line) - 1
	if n > 0 && line[n-1] == '\r' {
		n--
	}
	return string(line[:n]), nil
}

// ReadFull reads n bytes (an IMAP literal).
func (c *Client) ReadFull(n int) ([]byte, error) {
	c.nc.SetReadDeadline(c.srv.now().Add(c.srv.cfg.Timeout))
	b := make([]byte, n)
	_, err := io.ReadFull(c.r, b)
	return b, err
}

// Printf buffers a reply; Flush sends it. A line ends in CRLF only if
// the format says so.
func (c *Client) Printf(format string, args ...any) { fmt.Fprintf(c.w, format, args...) }

// Flush sends what Printf buffered.
func (c *Client) Flush() error {
	c.nc.SetWriteDeadline(c.srv.now().Add(c.srv.cfg.Timeout))
	return c.w.Flush()
}

// StartTLS runs the TLS handshake after the protocol said go ahead (and
// flushed that). Whatever the client sent after its STARTTLS in
// plaintext is thrown away, not taken as said under TLS (RFC 2595 §3.1,
// CVE-2011-0411). After an error the client must be dropped.
func (c *Client) StartTLS() error {
	if !c.CanStartTLS() {
		return fmt.Errorf("TLS not available")
	}
	tc := tls.Server(c.raw, c.srv.cfg.TLS)
	tc.SetDeadline(c.srv.now().Add(c.srv.cfg.Timeout))
	if err := tc.Handshake(); err != nil {
		c.srv.log.Info("TLS handshake failed from %s: %v", c.Label(), err)
		return err
	}
	tc.SetDeadline(time.Time{})
	c.useTLS(tc)
	return nil
}

func (c *Client) useTLS(tc *tls.Conn) {
	c.tc, c.nc = tc, tc
	c.r.Reset(tc)
	c.w.Reset(tc)
	st := tc.ConnectionState()
	c.srv.log.Info("TLS connection established from %s: %s with cipher %s", c.Label(), tls.VersionName(st.Version), tls.CipherSuiteName(st.CipherSuite))
}

// close ends a client the login process still holds.
func (c *Client) close() {
	if c.release != nil {
		c.release()
		c.release = nil
	}
	if c.handed == nil {
		c.nc.Close()
	}
}

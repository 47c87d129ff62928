package esmtp

import (
	"bufio"
	"context"
	"crypto/tls"
	"net"
	"net/netip"
	"strconv"
	"sync/atomic"
	"time"
)

// Buffer sizes. The writer is large because a pipelined group (MAIL, 50
// RCPTs, DATA) must go out in one write, and the message body streams
// through it; replies are short and read through a small buffer.
const (
	writeBufferSize = 64 << 10
	readBufferSize  = maxReplyLine + 2
)

// Timeouts bound each phase of a session, as Postfix's smtp_*_timeout
// parameters do: each is how long the client waits for the connection,
// for one reply, or (DataXfer) for the server to take one buffer of
// message data.
type Timeouts struct {
	Connect, Helo, Mail, Rcpt, DataInit, DataXfer, DataDone, Quit time.Duration
}

// Config is how the client introduces itself and sends.
type Config struct {
	Helo      string // the name in EHLO and HELO (smtp_helo_name)
	Timeouts  Timeouts
	LineLimit int // message lines longer than this are broken (smtp_line_length_limit); 0: no limit
}

// Client is one SMTP session with one server address: connected,
// greeted, introduced with EHLO (and perhaps in TLS). It is used by one
// goroutine at a time, except Abort; a connection cache may hand it
// from one delivery to the next.
type Client struct {
	raw   net.Conn // the TCP connection
	conn  net.Conn // raw, or TLS over it
	br    *bufio.Reader
	bw    *bufio.Writer
	wdead time.Duration // write timeout of the current phase, for deadlineWriter

	host  string         // the server's name (MX host), or its address literal
	addr  netip.AddrPort // where it is
	relay string         // "host[ip]:port", for logs and results
	cfg   Config

	ext     Extensions
	tls     *tls.ConnectionState // nil: plaintext
	born    time.Time            // when it connected: smtp_connection_reuse_time_limit counts from here
	open    bool                 // a MAIL transaction may be open: RSET before the next one
	broken  bool                 // the protocol state is unknown: never reuse, only close
	aborted atomic.Bool          // Abort was called: every wait fails at once
}

// RelayName formats a server as Postfix logs it: "host[ip]:port".
func RelayName(host string, addr netip.AddrPort) string {
	return host + "[" + addr.Addr().String() + "]:" + strconv.Itoa(int(addr.Port()))
}

// Dial connects to the server host at addr with dial, within
// cfg.Timeouts.Connect, and returns the session, not yet greeted (see
// Greet). now is when the session begins, for Born. A failure is a
// *ConnectError.
func Dial(ctx context.Context, dial func(ctx context.Context, network, address string) (net.Conn, error),
	host string, addr netip.AddrPort, cfg *Config, now time.Time) (*Client, error) {
	dctx, cancel := context.WithTimeout(ctx, cfg.Timeouts.Connect)
	conn, err := dial(dctx, "tcp", addr.String())
	cancel()
	if err != nil {
		return nil, &ConnectError{Relay: RelayName(host, addr), Err: err}
	}
	return NewClient(conn, host, addr, cfg, now), nil
}

// NewClient wraps a fresh connection to the server host at addr.
func NewClient(conn net.Conn, host string, addr netip.AddrPort, cfg *Config, now time.Time) *Client {
	c := &Client{raw: conn, conn: conn, host: host, addr: addr, relay: RelayName(host, addr),
		cfg: *cfg, born: now}
	c.br = bufio.NewReaderSize(conn, readBufferSize)
	c.bw = bufio.NewWriterSize(deadlineWriter{c}, writeBufferSize)
	return c
}

// Relay is the server as logs and results name it: "host[ip]:port".
func (c *Client) Relay() string { return c.relay }

// Ext is what the server announced in its last EHLO reply.
func (c *Client) Ext() Extensions { return c.ext }

// TLS is the state of the TLS session, nil in plaintext.
func (c *Client) TLS() *tls.ConnectionState { return c.tls }

// Born is when the session began.
func (c *Client) Born() time.Time { return c.born }

// Broken reports a session whose protocol state is unknown (a connection
// or grammar error, a 421, an Abort): it can only be closed.
func (c *Client) Broken() bool { return c.broken || c.aborted.Load() }

// RsetFirst makes the next transaction begin with RSET and require 250
// before it sends message data: a session taken from a cache may have
// been timed out by the server while it waited.
func (c *Client) RsetFirst() { c.open = true }

// deadlineWriter refreshes the write deadline before each write to the
// connection, so a timeout bounds how long the server takes to accept one
// buffer, not the whole message (Postfix's smtp_data_xfer_timeout).
type deadlineWriter struct{ c *Client }

func (w deadlineWriter) Write(p []byte) (int, error) {
	if err := w.c.conn.SetWriteDeadline(time.Now().Add(w.c.wdead)); err != nil {
		return 0, err
	}
	if w.c.aborted.Load() {
		return 0, context.Canceled
	}
	return w.c.conn.Write(p)
}

// Abort makes the session's current and next waits fail: the deadline in
// the past ends a blocked read or write, and the flag (checked after every
// deadline is set) keeps a later phase from setting a new one. It may be
// called from another goroutine, as context.AfterFunc does when the
// delivery's context ends.
func (c *Client) Abort() {
	c.aborted.Store(true)
	c.raw.SetDeadline(time.Unix(1, 0))
}

// fail marks the session unusable and wraps err for the phase.
func (c *Client) fail(phase string, err error) error {
	c.broken = true
	return &IOError{Relay: c.relay, Phase: phase, Err: err}
}

// read reads one reply within timeout.
func (c *Client) read(timeout time.Duration, phase string) (Reply, error) {
	if err := c.conn.SetReadDeadline(time.Now().Add(timeout)); err != nil {
		return Reply{}, c.fail(phase, err)
	}
	if c.aborted.Load() {
		return Reply{}, c.fail(phase, context.Canceled)
	}
	r, err := readReply(c.br)
	if err != nil {
		return Reply{}, c.fail(phase, err)
	}
	if r.Code == 421 {
		// The server is closing the session (RFC 5321 §3.8).
		c.broken = true
	}
	return r, nil
}

// flush sends what is buffered, within timeout for each write.
func (c *Client) flush(timeout time.Duration, phase string) error {
	c.wdead = timeout
	if err := c.bw.Flush(); err != nil {
		return c.fail(phase, err)
	}
	return nil
}

// command sends one command line and reads its reply.
func (c *Client) command(line string, timeout time.Duration, phase string) (Reply, error) {
	c.bw.WriteString(line)
	c.bw.WriteString("\r\n")
	if err := c.flush(timeout, phase); err != nil {
		return Reply{}, err
	}
	return c.read(timeout, phase)
}

// Greet reads the greeting and introduces the client with EHLO, or HELO
// when the server refuses EHLO with 5xx. A reply that is not 2xx comes
// back as a *Refusal, a failure of the connection as an *IOError.
func (c *Client) Greet() error {
	r, err := c.read(c.cfg.Timeouts.Helo, "receiving the initial server greeting")
	if err != nil {
		return err
	}
	if r.Class() != 2 {
		return &Refusal{Reply: r, In: ""}
	}
	return c.ehlo()
}

// ehlo sends EHLO (again after STARTTLS) and records the extensions.
func (c *Client) ehlo() error {
	r, err := c.command("EHLO "+c.cfg.Helo, c.cfg.Timeouts.Helo, "performing the EHLO handshake")
	if err != nil {
		return err
	}
	if r.Class() == 5 && c.tls == nil {
		// An old server: HELO, and no extensions.
		r, err = c.command("HELO "+c.cfg.Helo, c.cfg.Timeouts.Helo, "performing the HELO handshake")
		if err != nil {
			return err
		}
		if r.Class() != 2 {
			return &Refusal{Reply: r, In: "HELO"}
		}
		c.ext = Extensions{}
		return nil
	}
	if r.Class() != 2 {
		return &Refusal{Reply: r, In: "EHLO"}
	}
	c.ext = ParseExtensions(&r)
	return nil
}

// Quit ends the session politely and closes the connection. It does not
// wait for the reply to QUIT, as Postfix's smtp_skip_quit_response: the
// server has nothing left to say that would change anything. A broken
// session is only closed.
func (c *Client) Quit() {
	if !c.Broken() {
		c.bw.WriteString("QUIT\r\n")
		c.flush(min(c.cfg.Timeouts.Quit, time.Second), "sending QUIT")
	}
	c.conn.Close()
}

// Close drops the connection without a word, for a session in an
// unknown state.
func (c *Client) Close() { c.conn.Close() }

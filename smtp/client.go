package smtp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"strconv"
	"strings"
	"sync/atomic"
	"syscall"
	"time"
)

// Buffer sizes. The writer is large because a pipelined group (MAIL, 50
// RCPTs, DATA) must go out in one write, and the message body streams
// through it; replies are short and read through a small buffer.
const (
	writeBufferSize = 64 << 10
	readBufferSize  = maxReplyLine + 2
)

// client is one SMTP session with one server address: connected,
// greeted, introduced with EHLO (and perhaps in TLS). It is used by one
// goroutine at a time; the connection cache hands it from one request to
// the next.
type client struct {
	raw   net.Conn // the TCP connection
	conn  net.Conn // raw, or TLS over it
	br    *bufio.Reader
	bw    *bufio.Writer
	wdead time.Duration // write timeout of the current phase, for deadlineWriter

	host  string         // the server's name (MX host), or its address literal
	addr  netip.AddrPort // where it is
	relay string         // "host[ip]:port", for logs and results
	to    Timeouts
	helo  string
	data  Content // how message data is adapted to the server

	ext     extensions
	tls     *tls.ConnectionState // nil: plaintext
	born    time.Time            // when it connected: smtp_connection_reuse_time_limit counts from here
	open    bool                 // a MAIL transaction may be open: RSET before the next one
	broken  bool                 // the protocol state is unknown: never reuse, only close
	aborted atomic.Bool          // the request's context ended: every wait fails at once
}

// extensions are what the server announced in its EHLO reply.
type extensions struct {
	pipelining   bool
	size         bool
	sizeLimit    int64 // 0: none announced
	eightBitMIME bool
	smtputf8     bool
	dsn          bool
	startTLS     bool
	enhanced     bool
}

// relayName formats a server as Postfix logs it: "host[ip]:port".
func relayName(host string, addr netip.AddrPort) string {
	return host + "[" + addr.Addr().String() + "]:" + strconv.Itoa(int(addr.Port()))
}

// newClient wraps a fresh connection.
func newClient(conn net.Conn, host string, addr netip.AddrPort, helo string, to Timeouts, now time.Time) *client {
	c := &client{raw: conn, conn: conn, host: host, addr: addr, relay: relayName(host, addr),
		to: to, helo: helo, born: now}
	c.br = bufio.NewReaderSize(conn, readBufferSize)
	c.bw = bufio.NewWriterSize(deadlineWriter{c}, writeBufferSize)
	return c
}

// deadlineWriter refreshes the write deadline before each write to the
// connection, so a timeout bounds how long the server takes to accept one
// buffer, not the whole message (Postfix's smtp_data_xfer_timeout).
type deadlineWriter struct{ c *client }

func (w deadlineWriter) Write(p []byte) (int, error) {
	if err := w.c.conn.SetWriteDeadline(time.Now().Add(w.c.wdead)); err != nil {
		return 0, err
	}
	if w.c.aborted.Load() {
		return 0, context.Canceled
	}
	return w.c.conn.Write(p)
}

// abort makes the session's current and next waits fail: the deadline in
// the past ends a blocked read or write, and the flag (checked after every
// deadline is set) keeps a later phase from setting a new one.
func (c *client) abort() {
	c.aborted.Store(true)
	c.raw.SetDeadline(time.Unix(1, 0))
}

// ioError is a failure of the connection (or of the server's grammar)
// during a phase of the session: the state of the session is unknown
// afterwards.
type ioError struct {
	phase string // "receiving the initial server greeting", "sending MAIL FROM", ...
	err   error
}

func (e *ioError) Error() string { return "while " + e.phase + ": " + e.err.Error() }
func (e *ioError) Unwrap() error { return e.err }

// reason renders an ioError as Postfix does in its logs and bounces.
func (c *client) reason(e *ioError) string {
	var ne net.Error
	switch {
	case errors.As(e.err, &ne) && ne.Timeout(), errors.Is(e.err, os.ErrDeadlineExceeded):
		return fmt.Sprintf("conversation with %s timed out while %s", c.relay, e.phase)
	case errors.Is(e.err, errReplySyntax):
		return fmt.Sprintf("protocol error with %s while %s: %v", c.relay, e.phase, e.err)
	}
	return fmt.Sprintf("lost connection with %s while %s", c.relay, e.phase)
}

// fail marks the session unusable and wraps err for the phase.
func (c *client) fail(phase string, err error) error {
	c.broken = true
	return &ioError{phase: phase, err: err}
}

// read reads one reply within timeout.
func (c *client) read(timeout time.Duration, phase string) (Reply, error) {
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

// send writes b and flushes it as one write.
func (c *client) send(b []byte, timeout time.Duration, phase string) error {
	c.wdead = timeout
	if _, err := c.bw.Write(b); err != nil {
		return c.fail(phase, err)
	}
	if err := c.bw.Flush(); err != nil {
		return c.fail(phase, err)
	}
	return nil
}

// command sends one command line and reads its reply.
func (c *client) command(line string, timeout time.Duration, phase string) (Reply, error) {
	b := make([]byte, 0, len(line)+2)
	b = append(append(b, line...), '\r', '\n')
	if err := c.send(b, timeout, phase); err != nil {
		return Reply{}, err
	}
	return c.read(timeout, phase)
}

// greet reads the greeting and introduces the client with EHLO, or HELO
// when the server refuses EHLO with 5xx. A reply that is not 2xx comes
// back as a *Reply error with the phase's words.
func (c *client) greet() error {
	r, err := c.read(c.to.Helo, "receiving the initial server greeting")
	if err != nil {
		return err
	}
	if r.Class() != 2 {
		return &refusal{reply: r, in: ""}
	}
	return c.ehlo()
}

// refusal is a non-2xx reply that ends the session attempt with this
// server: the greeting, EHLO/HELO, or STARTTLS.
type refusal struct {
	reply Reply
	in    string // the command it answers ("EHLO"), "" for the greeting
}

func (e *refusal) Error() string { return e.reply.String() }

// ehlo sends EHLO (again after STARTTLS) and records the extensions.
func (c *client) ehlo() error {
	r, err := c.command("EHLO "+c.helo, c.to.Helo, "performing the EHLO handshake")
	if err != nil {
		return err
	}
	if r.Class() == 5 && c.tls == nil {
		// An old server: HELO, and no extensions.
		r, err = c.command("HELO "+c.helo, c.to.Helo, "performing the HELO handshake")
		if err != nil {
			return err
		}
		if r.Class() != 2 {
			return &refusal{reply: r, in: "HELO"}
		}
		c.ext = extensions{}
		return nil
	}
	if r.Class() != 2 {
		return &refusal{reply: r, in: "EHLO"}
	}
	c.ext = parseExtensions(&r)
	return nil
}

// parseExtensions reads the keywords of an EHLO reply (its lines after
// the first).
func parseExtensions(r *Reply) extensions {
	var x extensions
	for i := 1; i < len(r.Lines); i++ {
		kw, arg, _ := strings.Cut(r.Text(i), " ")
		switch strings.ToUpper(kw) {
		case "PIPELINING":
			x.pipelining = true
		case "SIZE":
			x.size = true
			if n, err := strconv.ParseInt(strings.TrimSpace(arg), 10, 64); err == nil && n > 0 {
				x.sizeLimit = n
			}
		case "8BITMIME":
			x.eightBitMIME = true
		case "SMTPUTF8":
			x.smtputf8 = true
		case "DSN":
			x.dsn = true
		case "STARTTLS":
			x.startTLS = true
		case "ENHANCEDSTATUSCODES":
			x.enhanced = true
		}
	}
	return x
}

// quit ends the session politely and closes the connection. It does not
// wait for the reply to QUIT, as Postfix's smtp_skip_quit_response: the
// server has nothing left to say that would change anything.
func (c *client) quit() {
	if !c.broken {
		c.send([]byte("QUIT\r\n"), min(c.to.Quit, time.Second), "sending QUIT")
	}
	c.conn.Close()
}

// close drops the connection without a word, for a session in an unknown
// state.
func (c *client) close() { c.conn.Close() }

// connectReason renders a failed dial as Postfix does: "connect to
// host[ip]:port: Connection refused".
func connectReason(relay string, err error) string {
	var why string
	var ne net.Error
	switch {
	case errors.Is(err, syscall.ECONNREFUSED):
		why = "Connection refused"
	case errors.Is(err, syscall.ENETUNREACH):
		why = "Network is unreachable"
	case errors.Is(err, syscall.EHOSTUNREACH):
		why = "No route to host"
	case errors.As(err, &ne) && ne.Timeout():
		why = "Connection timed out"
	default:
		why = err.Error()
		var se *os.SyscallError
		if errors.As(err, &se) {
			why = se.Err.Error()
		}
	}
	return "connect to " + relay + ": " + why
}

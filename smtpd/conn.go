package smtpd

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"os"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"postern.dev/postern/libmail/intake"
	"postern.dev/postern/libmail/queue"
	"postern.dev/postern/libmail/sasl"
)

// Read and write buffer sizes. A 5 KB message and its envelope usually
// arrive in one read; replies to a pipelined group leave in one write.
const (
	readBufSize  = 16 << 10
	writeBufSize = 4 << 10
)

// conn is one SMTP session. Its goroutine owns all of it.
type conn struct {
	srv    *Server
	client *clientConn // the TCP connection and what is known of the client
	nc     net.Conn    // client, or a tls.Conn over it
	r      *bufio.Reader
	w      *bufio.Writer

	helo     string
	esmtp    bool
	tlsState *tls.ConnectionState
	authUser string
	authMech string
	errors   int
	closing  bool
	// authFailures counts the session's failed AUTH exchanges, for the
	// wait before the next answer (limits.go).
	authFailures int

	tx *transaction // nil outside MAIL ... DATA

	// What the server's goroutines may look at, for stress and Shutdown
	// (stress.go): the read in progress, under dl.
	dl        sync.Mutex
	readStart time.Time   // zero when not reading
	idle      bool        // waiting for a command outside a transaction
	evicted   atomic.Bool // chosen to make room for a new client
}

// transaction is the state from MAIL to the end of DATA or BDAT.
type transaction struct {
	id      queue.ID
	from    string
	params  mailParams
	rcpts   []queue.Recipient
	logged  bool           // the "ID: client=" line was written
	entry   *intake.Writer // the message being taken in, discarded if the session ends first
	bdat    *intake.Writer // the message being taken in by BDAT chunks
	failed  *Reply         // a BDAT chunk failed: the rest of the message is refused
	fromHdr *fromTap       // the From: addresses, when the sender login check applies
	auth    *txAuth        // SPF, DKIM and DMARC, when the client's mail is checked
}

func newConn(s *Server, cc *clientConn) *conn {
	c := &conn{srv: s, client: cc, nc: cc}
	c.r, _ = s.readers.Get().(*bufio.Reader)
	if c.r == nil {
		c.r = bufio.NewReaderSize(cc, readBufSize)
	}
	c.w, _ = s.writers.Get().(*bufio.Writer)
	if c.w == nil {
		c.w = bufio.NewWriterSize(cc, writeBufSize)
	}
	c.r.Reset(cc)
	c.w.Reset(cc)
	return c
}

// serve runs the session; serveConn (boundary.go) ends it.
func (c *conn) serve(ctx context.Context) {
	c.client.lookupName(ctx)
	if c.srv.cfg.WrapperMode {
		if !c.startTLS() {
			return
		}
	}
	// After the TLS handshake on port 465, so that a refused client
	// reads its 421 rather than a broken handshake.
	if !c.admit(ctx) {
		c.flush()
		return
	}
	c.writeReply(&Reply{Code: 220, Text: c.srv.cfg.Hostname + " ESMTP " + c.srv.cfg.MailName})
	for !c.closing {
		line, err := c.readLine(c.tx == nil)
		if err != nil {
			if !c.lineError(err) {
				// Out of the loop rather than return: replies still
				// buffered, such as the 421 after too many overlong or
				// bare-LF lines, must go out before the connection closes.
				break
			}
			continue
		}
		c.dispatch(ctx, parseCommand(line))
	}
	c.flush()
}

// flush sends the replies buffered. The client has smtpd_timeout to take
// them: one that does not read its replies must not hold its place for
// ever, blocked in a write.
func (c *conn) flush() error {
	c.nc.SetWriteDeadline(time.Now().Add(c.srv.timeout()))
	return c.w.Flush()
}

// finish discards an unfinished queue entry and releases the connection
// and its buffers.
func (c *conn) finish() {
	c.reset()
	c.client.Close()
	c.r.Reset(nil)
	c.w.Reset(nil)
	c.srv.readers.Put(c.r)
	c.srv.writers.Put(c.w)
}

var (
	errLineTooLong = errors.New("line too long")
	errBareLFCmd   = errors.New("bare LF")
)

// readLine returns the next command line without its CRLF. Replies
// buffered so far go out first unless more pipelined commands are already
// waiting: that is what makes one write answer a whole pipelined group
// (RFC 2920 §3.1). idle says the line is a command outside a transaction
// (not a SASL response): a wait for it may be cut short (stress.go).
func (c *conn) readLine(idle bool) ([]byte, error) {
	if err := c.startRead(idle); err != nil {
		return nil, err
	}
	defer c.endRead()
	if c.r.Buffered() == 0 {
		if err := c.flush(); err != nil {
			return nil, err
		}
	}
	line, err := c.r.ReadSlice('\n')
	if err == bufio.ErrBufferFull || (err == nil && len(line) > c.srv.cfg.LineLimit+2) {
		for err == bufio.ErrBufferFull {
			_, err = c.r.ReadSlice('\n')
		}
		if err != nil {
			return nil, err
		}
		return nil, errLineTooLong
	}
	if err != nil {
		return nil, err
	}
	if len(line) < 2 || line[len(line)-2] != '\r' {
		return nil, errBareLFCmd
	}
	return line[:len(line)-2], nil
}

// lineError handles a failed read and reports whether the session goes on.
func (c *conn) lineError(err error) bool {
	switch {
	case errors.Is(err, errLineTooLong):
		c.fail(replyLineTooLong)
		return !c.closing
	case errors.Is(err, errBareLFCmd):
		c.fail(reply(500, "5.5.2", "Error: bare <LF> received"))
		return !c.closing
	case errors.Is(err, errEvicted) || errors.Is(err, os.ErrDeadlineExceeded) && c.evicted.Load() && c.tx == nil:
		c.srv.log.Info("closing idle connection from %s under load: smtpd_process_connection_limit %d reached", c.client.label(), c.srv.cfg.ProcessConnLimit)
		c.writeReply(reply(421, "4.7.0", "%s Error: too many connections, closing idle connection", c.srv.cfg.Hostname))
		c.flush()
		return false
	case errors.Is(err, os.ErrDeadlineExceeded):
		if c.srv.draining.Load() {
			c.writeReply(reply(421, "4.3.2", "%s Service shutting down, closing transmission channel", c.srv.cfg.Hostname))
		} else {
			c.srv.log.Info("timeout after %s from %s", c.lastVerb(), c.client.label())
			c.writeReply(reply(421, "4.4.2", "%s Error: timeout exceeded", c.srv.cfg.Hostname))
		}
		c.flush()
		return false
	case errors.Is(err, io.EOF):
		if c.tx != nil {
			c.srv.log.Info("lost connection after %s from %s", c.lastVerb(), c.client.label())
		}
		return false
	}
	return false
}

// lastVerb names the session's stage for "timeout after" log lines.
func (c *conn) lastVerb() string {
	switch {
	case c.tx == nil:
		return "END-OF-MESSAGE"
	case len(c.tx.rcpts) > 0:
		return "RCPT"
	}
	return "MAIL"
}

// fail writes an error reply and counts it; too many errors end the
// session: smtpd_hard_error_limit, or its stress value.
func (c *conn) fail(r *Reply) {
	c.writeReply(r)
	c.errors++
	if c.errors >= c.srv.errorLimit() {
		c.writeReply(reply(421, "4.7.0", "%s Error: too many errors", c.srv.cfg.Hostname))
		c.srv.log.Info("too many errors after %s from %s", c.lastVerb(), c.client.label())
		c.closing = true
	}
}

// respond writes the outcome of a command: the OK reply, or the error.
func (c *conn) respond(verb string, ok *Reply, err *Reply) {
	c.client.count(verb, err == nil)
	if err != nil {
		c.fail(err)
		return
	}
	c.writeReply(ok)
}

// dispatch runs one command. ctx is the session's (boundary.go); the
// handlers of commands whose policy may look things up in the DNS (HELO,
// SPF at MAIL FROM, DMARC at the end of the message) take it.
func (c *conn) dispatch(ctx context.Context, cmd command) {
	switch cmd.verb {
	case "EHLO", "HELO":
		c.hello(ctx, cmd)
	case "MAIL":
		c.respond("mail", replyMailOK, c.mail(ctx, cmd.arg))
	case "RCPT":
		c.respond("rcpt", replyRcptOK, c.rcpt(ctx, cmd.arg))
	case "DATA":
		c.data(ctx, cmd.arg)
	case "BDAT":
		c.bdat(ctx, cmd.arg)
	case "RSET":
		if cmd.arg != "" {
			c.respond("rset", nil, reply(501, "5.5.4", "Syntax: RSET"))
			return
		}
		c.reset()
		c.respond("rset", replyOK, nil)
	case "NOOP":
		c.respond("noop", replyOK, nil)
	case "QUIT":
		c.respond("quit", replyBye, nil)
		c.closing = true
	case "VRFY":
		// RFC 5321 §3.5.3: a server that will not say whether a user
		// exists answers 252, which does not leak the user list.
		c.respond("vrfy", &Reply{Code: 252, Enhanced: "2.0.0", Text: "Cannot VRFY user, but will accept message and attempt delivery"}, nil)
	case "HELP":
		c.respond("help", &Reply{Code: 214, Enhanced: "2.0.0", Text: "Commands: EHLO HELO MAIL RCPT DATA BDAT RSET NOOP QUIT VRFY STARTTLS AUTH; see RFC 5321"}, nil)
	case "STARTTLS":
		c.starttls(cmd.arg)
	case "AUTH":
		c.auth(ctx, cmd.arg)
	case "":
		c.client.count("unknown", false)
		c.fail(reply(500, "5.5.2", "Error: bad syntax"))
	default:
		c.client.count("unknown", false)
		c.fail(replyUnknown)
	}
}

// hello handles EHLO and HELO (RFC 5321 §4.1.1.1); either resets the
// session's transaction.
func (c *conn) hello(ctx context.Context, cmd command) {
	verb := strings.ToLower(cmd.verb)
	if cmd.arg == "" {
		c.respond(verb, nil, reply(501, "5.5.4", "Syntax: %s hostname", cmd.verb))
		return
	}
	c.reset()
	c.helo = printable(strings.Fields(cmd.arg)[0])
	c.esmtp = cmd.verb == "EHLO"
	if !c.esmtp {
		c.respond(verb, &Reply{Code: 250, Text: c.srv.cfg.Hostname}, nil)
		return
	}
	caps := []string{c.srv.cfg.Hostname, "PIPELINING", "SIZE " + itoa(c.srv.cfg.SizeLimit)}
	if c.srv.tlsConfig() != nil && c.tlsState == nil {
		caps = append(caps, "STARTTLS")
	}
	if c.authOffered() {
		caps = append(caps, "AUTH "+strings.Join(sasl.Mechanisms(), " "))
	}
	caps = append(caps, "ENHANCEDSTATUSCODES", "8BITMIME", "DSN")
	if c.srv.cfg.SMTPUTF8 {
		caps = append(caps, "SMTPUTF8")
	}
	caps = append(caps, "CHUNKING")
	c.respond(verb, &Reply{Code: 250, Text: strings.Join(caps, "\n")}, nil)
}

// reset ends the transaction, discarding a queue entry not yet
// committed (a half-written BDAT message, or any entry when the session
// ends early). Aborting an entry twice, or after its commit (it is no
// longer in tmp/ then), does nothing.
func (c *conn) reset() {
	if c.tx != nil && c.tx.entry != nil {
		c.tx.entry.Abort()
	}
	c.tx = nil
}

func itoa(n int64) string {
	if n == 0 {
		return "0"
	}
	var b []byte
	for ; n > 0; n /= 10 {
		b = append([]byte{byte('0' + n%10)}, b...)
	}
	return string(b)
}

// discard skips n bytes of input (a BDAT chunk that is refused).
func (c *conn) discard(n int64) error {
	_, err := io.CopyN(io.Discard, c.r, n)
	return err
}

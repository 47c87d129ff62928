package smtpd

import (
	"bufio"
	"context"
	"errors"
	"io"
	"strconv"
	"strings"

	"postern.dev/postern/libmail/dkim"
	"postern.dev/postern/libmail/intake"
	"postern.dev/postern/libmail/metrics"
	"postern.dev/postern/libmail/queue"
)

func recipientFrom(addr string) queue.Recipient { return queue.Recipient{Addr: addr} }

// begin checks that a message may follow and opens its queue entry
// through intake, which writes the Received: field first.
func (c *conn) begin(ctx context.Context) (*intake.Writer, *Reply) {
	if c.tx == nil {
		return nil, replyNeedMail
	}
	if len(c.tx.rcpts) == 0 {
		return nil, replyNeedRcpt
	}
	tx := c.tx
	env := &queue.Envelope{
		Arrival: c.srv.now(), Sender: tx.from, Recipients: tx.rcpts,
		EnvID: tx.params.envid, Ret: tx.params.ret, Body: tx.params.body, SMTPUTF8: tx.params.utf8,
		ClientName: c.client.name, ClientAddr: c.client.host, Helo: c.helo, Proto: c.proto(), AuthUser: c.authUser,
	}
	// An authenticated session is a submission (RFC 6409): its client is
	// the originator's agent, so what the message lacks may be added.
	// Other sessions relay (RFC 5321 §6.4), unless the admin says
	// always_add_missing_headers, as in Postfix.
	// Mail whose sender the server vouches for is DKIM-signed (RFC 6376):
	// that of authenticated clients and of clients in mynetworks, as
	// OpenDKIM signs for its InternalHosts.
	src := intake.Source{TLS: c.tlsState, AddMissing: c.authUser != "" || c.srv.cfg.AlwaysAddMissing,
		Sign: c.authUser != "" || c.srv.cfg.trusted(c.client.addr())}
	if c.authUser != "" && c.srv.cfg.SenderLoginCheck {
		tx.fromHdr = &fromTap{}
		src.Taps = append(src.Taps, tx.fromHdr)
	}
	c.authSource(ctx, tx, &src)
	w, err := intake.Create(c.srv.spool, tx.id, env, &c.srv.intake, &src)
	if err != nil {
		c.srv.log.Error("%s: %v", tx.id, err)
		return nil, replyWriteError
	}
	tx.entry = w
	return w, nil
}

// data handles DATA: 354, the message up to CRLF.CRLF, then 250 once the
// entry is durable.
func (c *conn) data(ctx context.Context, arg string) {
	if arg != "" {
		c.respond("data", nil, reply(501, "5.5.4", "Syntax: DATA"))
		return
	}
	if c.tx != nil && c.tx.bdat != nil {
		c.respond("data", nil, reply(503, "5.5.1", "Error: BDAT in progress"))
		return
	}
	w, r := c.begin(ctx)
	if r != nil {
		c.logReject("DATA", r, c.txFrom(), "")
		c.respond("data", nil, r)
		return
	}
	c.writeReply(replyData)
	// The client waits for the 354 before it sends the message (DATA ends
	// a pipelined group, RFC 2920 §3.1), so it goes out now.
	if err := c.flush(); err != nil {
		w.Abort()
		c.closing = true
		return
	}
	if err := c.readData(w); err != nil {
		// The connection broke or timed out mid-message: nothing was
		// promised, so nothing is kept.
		w.Abort()
		c.lineError(err)
		c.closing = true
		return
	}
	c.respondMessage("data", c.finishMessage(ctx, w))
}

// respondMessage answers the end of a message: 250, or the error.
func (c *conn) respondMessage(verb string, r *Reply) {
	if r.Code == 250 {
		c.respond(verb, r, nil)
	} else {
		c.respond(verb, nil, r)
	}
}

// finishMessage commits a fully received message, or explains why not.
// The reply it returns is the 250 or the error.
func (c *conn) finishMessage(ctx context.Context, w *intake.Writer) (r *Reply) {
	tx := c.tx
	defer func() {
		if r.Code != 250 {
			c.logReject("END-OF-MESSAGE", r, tx.from, "")
		}
		c.tx = nil
	}()
	err := w.End()
	if w.HeaderCut() && (err == nil || errors.Is(err, intake.ErrHops)) {
		c.srv.log.Info("%s: header section longer than header_size_limit (%d bytes): the rest is kept as body", tx.id, c.srv.cfg.HeaderLimit)
	}
	if err != nil {
		w.Abort()
		return c.refusal(err)
	}
	// The From: addresses are known only now; a message in a name the
	// user does not own is not queued (sender.go).
	if r := c.checkFrom(tx.fromHdr); r != nil {
		w.Abort()
		return r
	}
	// So are the DKIM results, and with them DMARC (authcheck.go).
	if r := c.authenticate(ctx, tx, w); r != nil {
		w.Abort()
		return r
	}
	if err := w.Commit(); err != nil {
		c.srv.log.Error("%s: %v", tx.id, err)
		return replyWriteError
	}
	c.srv.wake.Wake(tx.id)
	c.srv.metrics.Inc(metrics.Received, c.srv.cfg.Service)
	if id := w.MessageID(); id != "" {
		c.srv.log.Info("%s: message-id=%s", tx.id, printable(id))
	}
	if keys := w.DKIMKeys(); len(keys) > 0 {
		c.srv.log.Info("%s: %s", tx.id, dkim.Added(keys))
	}
	return reply(250, "2.0.0", "Ok: queued as %s", tx.id)
}

// refusal is the reply to a message intake refused.
func (c *conn) refusal(err error) *Reply {
	switch {
	case errors.Is(err, intake.ErrBareLF):
		return replyBareLF
	case errors.Is(err, intake.ErrBareCR):
		return replyBareCR
	case errors.Is(err, intake.ErrNUL):
		return replyNUL
	case errors.Is(err, intake.ErrTooBig):
		return replyTooBig
	case errors.Is(err, intake.ErrHops):
		return replyHops
	}
	c.srv.log.Error("%s: %v", c.tx.id, err)
	return replyWriteError
}

// readData reads the message of a DATA command up to the CRLF.CRLF line,
// removing dot-stuffing (RFC 5321 §4.5.2), into w. Only CRLF "." CRLF
// ends a message: "\n.\r\n" or "\r.\r\n" do not, which is what makes SMTP
// smuggling impossible here; a message containing them is refused whole
// (by w, strict CRLF) after reading to the real end. The error is for the
// connection only: EOF or a timeout.
func (c *conn) readData(w *intake.Writer) error {
	// bol: at the beginning of a line, that is after a CRLF. A bare LF
	// does not count, so "\n.\r\n" is not an end of data; a line that
	// arrives in several slices (longer than the buffer) may have its CR
	// at the end of one slice and its LF alone in the next.
	bol, cr := true, false
	defer c.endRead()
	for {
		// Each line has smtpd_timeout, as Postfix's per-record deadline.
		if err := c.startRead(false); err != nil {
			return err
		}
		line, err := c.r.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			return err
		}
		if bol && err == nil && len(line) == 3 && line[0] == '.' && line[1] == '\r' {
			return nil
		}
		n := len(line)
		crlf := err == nil && (n >= 2 && line[n-2] == '\r' || n == 1 && cr)
		cr = n > 0 && line[n-1] == '\r'
		if bol && n > 0 && line[0] == '.' {
			line = line[1:]
		}
		w.Write(line)
		bol = crlf
	}
}

// bdat handles BDAT (RFC 3030 CHUNKING). The chunk follows the command
// at once, pipelined or not, so it is always read, even when the command
// is refused: otherwise its bytes would be taken for commands.
func (c *conn) bdat(ctx context.Context, arg string) {
	f := strings.Fields(arg)
	last := len(f) == 2 && strings.EqualFold(f[1], "LAST")
	size, err := strconv.ParseInt(firstField(f), 10, 64)
	if err != nil || size < 0 || len(f) == 0 || len(f) > 2 || (len(f) == 2 && !last) {
		// Without a size there is no telling where the chunk ends, and no
		// way to go on safely.
		c.respond("bdat", nil, reply(501, "5.5.4", "Syntax: BDAT count [LAST]"))
		c.writeReply(reply(421, "4.5.0", "%s Error: lost track of the chunk, closing", c.srv.cfg.Hostname))
		c.closing = true
		return
	}
	if c.tx == nil || len(c.tx.rcpts) == 0 || c.tx.failed != nil {
		r := replyNeedMail
		if c.tx != nil && c.tx.failed != nil {
			r = c.tx.failed
		} else if c.tx != nil {
			r = replyNeedRcpt
		}
		if err := c.discard(size); err != nil {
			c.lineError(err)
			c.closing = true
			return
		}
		if last && c.tx != nil && c.tx.failed != nil {
			c.tx = nil // the failed message is over
		}
		c.respond("bdat", nil, r)
		return
	}
	if c.tx.bdat == nil {
		w, r := c.begin(ctx)
		if r != nil {
			c.discard(size)
			c.respond("bdat", nil, r)
			return
		}
		c.tx.bdat = w
	}
	w := c.tx.bdat
	err = c.startRead(false)
	if err == nil {
		_, err = io.CopyN(w, c.r, size)
		c.endRead()
	}
	if err != nil {
		c.tx.bdat.Abort()
		c.tx.bdat = nil
		c.lineError(err)
		c.closing = true
		return
	}
	if err := w.Err(); err != nil && !last {
		// Refuse the rest of this message; its remaining chunks are read
		// and dropped until LAST.
		w.Abort()
		r := c.refusal(err)
		c.tx.bdat, c.tx.failed = nil, r
		c.respond("bdat", nil, r)
		return
	}
	if !last {
		c.respond("bdat", reply(250, "2.0.0", "Ok: %d bytes", size), nil)
		return
	}
	c.tx.bdat = nil
	c.respondMessage("bdat", c.finishMessage(ctx, w))
}

func firstField(f []string) string {
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

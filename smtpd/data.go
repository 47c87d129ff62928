package smtpd

import (
	"bufio"
	"bytes"
	"io"
	"strconv"
	"strings"
	"time"

	"postern.dev/postern/libmail/message"
	"postern.dev/postern/libmail/queue"
)

// hopLimit is Postfix's hopcount_limit: more Received: headers than this
// means a mail loop.
const hopLimit = 50

func recipientFrom(addr string) queue.Recipient { return queue.Recipient{Addr: addr} }

// begin checks that a message may follow and opens its queue entry with
// the Received: header written.
func (c *conn) begin() (*queue.Writer, *Reply) {
	if c.tx == nil {
		return nil, replyNeedMail
	}
	if len(c.tx.rcpts) == 0 {
		return nil, replyNeedRcpt
	}
	now := c.srv.now()
	tx := c.tx
	env := &queue.Envelope{
		Arrival: now, Sender: tx.from, Recipients: tx.rcpts,
		EnvID: tx.params.envid, Ret: tx.params.ret, Body: tx.params.body, SMTPUTF8: tx.params.utf8,
		ClientName: c.client.name, ClientAddr: c.client.host, Helo: c.helo, Proto: c.proto(), AuthUser: c.authUser,
	}
	w, err := c.srv.spool.Create(tx.id, env)
	if err != nil {
		c.srv.log.Error("%s: %v", tx.id, err)
		return nil, replyWriteError
	}
	c.writeReceived(w, now)
	return w, nil
}

// data handles DATA: 354, the message up to CRLF.CRLF, then 250 once the
// entry is durable.
func (c *conn) data(arg string) {
	if arg != "" {
		c.respond("data", nil, reply(501, "5.5.4", "Syntax: DATA"))
		return
	}
	if c.tx != nil && c.tx.bdat != nil {
		c.respond("data", nil, reply(503, "5.5.1", "Error: BDAT in progress"))
		return
	}
	w, r := c.begin()
	if r != nil {
		c.logReject("DATA", r, c.txFrom(), "")
		c.respond("data", nil, r)
		return
	}
	c.writeReply(replyData)
	// The client waits for the 354 before it sends the message (DATA ends
	// a pipelined group, RFC 2920 §3.1), so it goes out now.
	if err := c.w.Flush(); err != nil {
		w.Abort()
		c.closing = true
		return
	}
	cp := &copier{w: w, limit: c.srv.cfg.SizeLimit}
	if err := c.readData(cp); err != nil {
		// The connection broke or timed out mid-message: nothing was
		// promised, so nothing is kept.
		w.Abort()
		c.lineError(err)
		c.closing = true
		return
	}
	c.respondMessage("data", c.finishMessage(w, cp))
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
func (c *conn) finishMessage(w *queue.Writer, cp *copier) (r *Reply) {
	tx := c.tx
	defer func() {
		if r.Code != 250 {
			c.logReject("END-OF-MESSAGE", r, tx.from, "")
		}
		c.tx = nil
	}()
	if cp.bad != nil {
		w.Abort()
		return cp.bad
	}
	msgID, hops := cp.headerFacts()
	if hops > hopLimit {
		w.Abort()
		return replyHops
	}
	if err := w.Commit(); err != nil {
		c.srv.log.Error("%s: %v", tx.id, err)
		return replyWriteError
	}
	c.srv.wake.Wake(tx.id)
	if msgID != "" {
		c.srv.log.Info("%s: message-id=%s", tx.id, printable(msgID))
	}
	return reply(250, "2.0.0", "Ok: queued as %s", tx.id)
}

// readData reads the message of a DATA command up to the CRLF.CRLF line,
// removing dot-stuffing (RFC 5321 §4.5.2), into cp. Only CRLF "." CRLF
// ends a message: "\n.\r\n" or "\r.\r\n" do not, which is what makes SMTP
// smuggling impossible here; a message containing them is refused whole
// (cp.bad) after reading to the real end. The error is for the
// connection only: EOF or a timeout.
func (c *conn) readData(cp *copier) error {
	// bol: at the beginning of a line, that is after a CRLF. A bare LF
	// does not count, so "\n.\r\n" is not an end of data; a line that
	// arrives in several slices (longer than the buffer) may have its CR
	// at the end of one slice and its LF alone in the next.
	bol, cr := true, false
	for {
		c.nc.SetReadDeadline(time.Now().Add(c.srv.cfg.Timeout))
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
		cp.write(line)
		bol = crlf
	}
}

// bdat handles BDAT (RFC 3030 CHUNKING). The chunk follows the command
// at once, pipelined or not, so it is always read, even when the command
// is refused: otherwise its bytes would be taken for commands.
func (c *conn) bdat(arg string) {
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
		w, r := c.begin()
		if r != nil {
			c.discard(size)
			c.respond("bdat", nil, r)
			return
		}
		c.tx.bdat, c.tx.bdatCp = w, &copier{w: w, limit: c.srv.cfg.SizeLimit}
	}
	c.nc.SetReadDeadline(time.Now().Add(c.srv.cfg.Timeout))
	cp := c.tx.bdatCp
	if _, err := io.CopyN(cp, c.r, size); err != nil {
		c.tx.bdat.Abort()
		c.tx.bdat = nil
		c.lineError(err)
		c.closing = true
		return
	}
	if cp.bad != nil && !last {
		// Refuse the rest of this message; its remaining chunks are read
		// and dropped until LAST.
		c.tx.bdat.Abort()
		c.tx.bdat, c.tx.failed = nil, cp.bad
		c.respond("bdat", nil, cp.bad)
		return
	}
	if !last {
		c.respond("bdat", reply(250, "2.0.0", "Ok: %d bytes", size), nil)
		return
	}
	if cp.prevCR {
		cp.fail(replyBareCR)
	}
	w := c.tx.bdat
	c.tx.bdat = nil
	c.respondMessage("bdat", c.finishMessage(w, cp))
}

func firstField(f []string) string {
	if len(f) == 0 {
		return ""
	}
	return f[0]
}

// copier checks and stores message bytes: strict CRLF, no NUL, the size
// limit, and the header section kept aside for Message-ID and hop
// counting. After the first problem it only counts and discards, so the
// session can read on to the end of the message and answer once.
type copier struct {
	w      io.Writer
	limit  int64
	size   int64
	bad    *Reply
	prevCR bool   // the last chunk ended in CR
	header []byte // the start of the message, up to the end of the header
	noHead bool   // the header is complete (or too long to keep)
}

// maxHeader is how much of the header is kept for Message-ID and hop
// counting; a longer header is still accepted, just not looked at past it.
const maxHeader = 64 << 10

// Write implements io.Writer for BDAT chunks; it never fails, see bad.
func (cp *copier) Write(p []byte) (int, error) {
	cp.write(p)
	return len(p), nil
}

func (cp *copier) fail(r *Reply) {
	if cp.bad == nil {
		cp.bad = r
	}
}

func (cp *copier) write(p []byte) {
	if len(p) == 0 {
		return
	}
	cp.size += int64(len(p))
	if cp.size > cp.limit {
		cp.fail(replyTooBig)
	}
	if cp.bad == nil {
		cp.check(p)
	}
	if cp.bad != nil {
		return
	}
	if !cp.noHead {
		cp.collect(p)
	}
	if _, err := cp.w.Write(p); err != nil {
		cp.fail(replyWriteError)
	}
}

// check enforces strict CRLF on one chunk: every LF must follow a CR and
// every CR must precede an LF, also across chunk boundaries.
func (cp *copier) check(p []byte) {
	if bytes.IndexByte(p, 0) >= 0 {
		cp.fail(replyNUL)
		return
	}
	start := 0
	if cp.prevCR {
		if p[0] != '\n' {
			cp.fail(replyBareCR)
			return
		}
		start = 1
	}
	paired := 0 // CRs known to be followed by LF
	for i := start; ; {
		j := bytes.IndexByte(p[i:], '\n')
		if j < 0 {
			break
		}
		k := i + j
		if k == 0 || p[k-1] != '\r' {
			cp.fail(replyBareLF)
			return
		}
		paired++
		i = k + 1
	}
	crs := bytes.Count(p[start:], []byte{'\r'})
	cp.prevCR = p[len(p)-1] == '\r'
	if cp.prevCR {
		crs--
	}
	if crs != paired {
		cp.fail(replyBareCR)
	}
}

// collect keeps the header section: everything up to the empty line.
func (cp *copier) collect(p []byte) {
	room := maxHeader - len(cp.header)
	if len(p) > room {
		p = p[:room]
	}
	from := max(0, len(cp.header)-3)
	cp.header = append(cp.header, p...)
	if len(cp.header) >= 2 && cp.header[0] == '\r' && cp.header[1] == '\n' {
		cp.header, cp.noHead = cp.header[:0], true // no header at all
		return
	}
	if i := bytes.Index(cp.header[from:], []byte("\r\n\r\n")); i >= 0 {
		cp.header, cp.noHead = cp.header[:from+i+2], true
	} else if len(cp.header) >= maxHeader {
		cp.noHead = true
	}
}

// headerFacts returns the Message-ID and the number of Received: fields
// (counting the one smtpd added, which is not in the header kept).
func (cp *copier) headerFacts() (msgID string, hops int) {
	message.ScanHeader(bufio.NewReader(bytes.NewReader(cp.header)), maxHeader, func(name, value []byte) bool {
		switch {
		case bytes.EqualFold(name, []byte("received")):
			hops++
		case bytes.EqualFold(name, []byte("message-id")) && msgID == "":
			msgID = string(bytes.TrimSpace(value))
		}
		return true
	})
	return msgID, hops + 1
}

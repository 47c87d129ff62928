package smtpd

import (
	"bufio"
	"bytes"
	"context"
	"io"
	"strconv"
	"strings"

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
	w, r := c.begin()
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
	cp := newCopier(w, &c.srv.cfg)
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
	cp.end()
	if cp.bad != nil {
		w.Abort()
		return cp.bad
	}
	if cp.cut {
		c.srv.log.Info("%s: header section longer than header_size_limit (%d bytes): the rest is kept as body", tx.id, c.srv.cfg.HeaderLimit)
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
		cp.write(line)
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
		w, r := c.begin()
		if r != nil {
			c.discard(size)
			c.respond("bdat", nil, r)
			return
		}
		c.tx.bdat, c.tx.bdatCp = w, newCopier(w, &c.srv.cfg)
	}
	cp := c.tx.bdatCp
	err = c.startRead(false)
	if err == nil {
		_, err = io.CopyN(cp, c.r, size)
		c.endRead()
	}
	if err != nil {
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
// limit, and header_size_limit. It holds the header section back until
// its end is known, so that it can end it at the limit (see collect), and
// keeps it for Message-ID and hop counting. After the first problem it
// only counts and discards, so the session can read on to the end of the
// message and answer once.
type copier struct {
	w        io.Writer
	limit    int64
	hlimit   int // header_size_limit
	size     int64
	bad      *Reply
	prevCR   bool   // the last chunk ended in CR
	header   []byte // the header section: held back until headDone, then kept
	headDone bool   // the header section has ended and been written
	cut      bool   // it ended at hlimit, with an empty line inserted
}

func newCopier(w io.Writer, cfg *Config) *copier {
	return &copier{w: w, limit: cfg.SizeLimit, hlimit: cfg.HeaderLimit}
}

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
	if !cp.headDone {
		if p = cp.collect(p); len(p) == 0 {
			return
		}
	}
	cp.put(p)
}

func (cp *copier) put(p []byte) {
	if _, err := cp.w.Write(p); err != nil {
		cp.fail(replyWriteError)
	}
}

var (
	crlf     = []byte("\r\n")
	crlfCRLF = []byte("\r\n\r\n")
)

// collect adds p to the header section held back and, once the
// section's end is known, writes the section out and returns the part of
// p that follows what it took. The section ends at its empty line (RFC
// 5322 §2.1) if that comes within header_size_limit. Otherwise smtpd ends
// it after the last whole line within the limit with an empty line of its
// own, so the rest is body (header text past header_size_limit "forces
// the start of the message body", in the words of Postfix's older
// mail_params.h; newer Postfix drops what exceeds it): every agent then
// finds the end of the header of any message accepted, within a bound it
// can afford, and no byte the client sent is dropped. A single line
// longer than the limit is broken near the limit.
func (cp *copier) collect(p []byte) []byte {
	old := len(cp.header)
	// Two bytes past the limit show whether an empty line follows a
	// header section of exactly the limit.
	take := min(len(p), cp.hlimit+2-old)
	cp.header = append(cp.header, p[:take]...)
	h, rest := cp.header, p[take:]
	if bytes.HasPrefix(h, crlf) { // no header section at all
		return cp.endHeader(0, len(h), nil, rest)
	}
	if i := bytes.Index(h[max(0, old-3):], crlfCRLF); i >= 0 {
		end := max(0, old-3) + i + 2
		return cp.endHeader(end, len(h), nil, rest)
	}
	if len(h) < cp.hlimit+2 {
		return nil // not known yet
	}
	cp.cutHeader()
	return rest
}

// cutHeader ends a header section held back that is longer than the
// limit: after its last line end within the limit, or at the limit.
func (cp *copier) cutHeader() {
	h := cp.header
	cp.cut = true
	if k := bytes.LastIndexByte(h[:cp.hlimit], '\n') + 1; k > 0 {
		cp.endHeader(k, k, crlf, nil)
		return
	}
	// One line longer than the limit: broken where its first part and the
	// line end added fit in the limit. (Not between CR and LF: a CR there
	// would have its LF within the limit, a line end found above.)
	k := max(cp.hlimit-2, 1)
	cp.endHeader(k, k, crlfCRLF, nil)
}

// endHeader writes the header section held back, with sep inserted at
// offset at, keeps its first n bytes (the fields) and returns rest.
func (cp *copier) endHeader(n, at int, sep, rest []byte) []byte {
	h := cp.header
	cp.headDone = true
	cp.put(h[:at])
	if len(sep) > 0 {
		cp.put(sep)
	}
	if at < len(h) {
		cp.put(h[at:])
	}
	cp.header = h[:n]
	return rest
}

// end writes what is still held back: the header section of a message
// that ended inside it, without an empty line.
func (cp *copier) end() {
	switch {
	case cp.headDone || cp.bad != nil:
	case len(cp.header) > cp.hlimit:
		cp.cutHeader()
	default:
		cp.endHeader(len(cp.header), len(cp.header), nil, nil)
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

// headerFacts returns the Message-ID and the number of Received: fields
// (counting the one smtpd added, which is not in the header kept).
func (cp *copier) headerFacts() (msgID string, hops int) {
	message.ScanHeader(bufio.NewReader(bytes.NewReader(cp.header)), len(cp.header)+1, func(name, value []byte) bool {
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

package esmtp

import (
	"errors"
	"fmt"
	"io"
	"slices"
	"strconv"
	"strings"
	"time"

	"postern.dev/postern/libmail/address"
	"postern.dev/postern/libmail/dsn"
)

// rsetTimeout bounds the RSET that checks a session before reuse, as
// Postfix's smtp_rset_timeout (20s) does: a server that went silent
// while the session was idle must not hold a delivery for the full
// smtp_quit_timeout.
const rsetTimeout = 20 * time.Second

// Mail is the MAIL FROM command of a transaction: the reverse-path and
// what the message needs declared. A parameter goes out only to a server
// that announced its extension.
type Mail struct {
	From     string // in postern's unquoted form; "" is the null sender
	Size     int64  // SIZE= (RFC 1870); 0: not declared
	Body     string // the BODY= the message came with: "8BITMIME" and "BINARYMIME" are declared as BODY=8BITMIME
	SMTPUTF8 bool   // SMTPUTF8 (RFC 6531)
	Ret      string // RET= (RFC 3461): FULL or HDRS; "": none
	EnvID    string // ENVID=, xtext-encoded on the wire; "": none
}

// Rcpt is one RCPT TO command.
type Rcpt struct {
	To     string // in postern's unquoted form
	Notify string // NOTIFY= (RFC 3461); "": none
	ORcpt  string // ORCPT= as "addr-type;address", the address xtext-encoded on the wire; "": none
}

// Transaction is one mail transaction: what Client.Send sends, and what
// came back.
type Transaction struct {
	Mail  Mail
	Rcpts []Rcpt
	// Data writes the message to w with CRLF line ends, as the queue
	// keeps it; the client dot-stuffs it, breaks lines longer than
	// Config.LineLimit and ends it with the final dot. An error from it
	// ends the session.
	Data func(w io.Writer) error

	Answers []Answer // one per Rcpt, set by Send
	Folded  bool     // set by Send: a line of the data was broken at Config.LineLimit
}

// Answer is the reply that decided a recipient in a transaction, and the
// command it answered, for the log's "(in reply to RCPT TO command)".
type Answer struct {
	Reply Reply
	In    string // "MAIL FROM", "RCPT TO", "DATA", "end of DATA"; "": undecided
}

// Phases, in Postfix's words for what was going on when a session broke.
const (
	phaseMail    = "sending MAIL FROM"
	phaseRcpt    = "sending RCPT TO"
	phaseData    = "sending DATA command"
	phaseBody    = "sending message body"
	phaseDataEnd = "sending end of data -- message may be sent more than once"
	phaseRset    = "sending RSET"
)

// Send runs one mail transaction and sets one answer per recipient.
// With PIPELINING, MAIL, every RCPT and DATA go out in one write (RFC
// 2920) and the replies are read afterwards; without it, one command at
// a time. The reply to the end of the data applies to every recipient
// that RCPT accepted. When err is not nil (an *IOError) the session
// broke; recipients whose answer is not set were not decided.
func (c *Client) Send(tx *Transaction) error {
	tx.Answers = slices.Grow(tx.Answers[:0], len(tx.Rcpts))[:len(tx.Rcpts)]
	clear(tx.Answers)
	tx.Folded = false
	if c.ext.Pipelining {
		return c.sendPipelined(tx)
	}
	return c.sendInTurn(tx)
}

// sendPipelined sends the commands of tx as one group (RFC 2920 §3.1:
// RSET, MAIL and RCPT may be followed by others, DATA ends the group).
func (c *Client) sendPipelined(tx *Transaction) error {
	out := tx.Answers
	to := &c.cfg.Timeouts
	c.wdead = to.Mail
	rset := c.open
	b := c.bw.AvailableBuffer()
	if rset {
		b = append(b, "RSET\r\n"...)
	}
	b = c.appendMail(b, &tx.Mail)
	for i := range tx.Rcpts {
		b = c.appendRcpt(b, &tx.Rcpts[i])
	}
	b = append(b, "DATA\r\n"...)
	c.bw.Write(b)
	if err := c.flush(to.Mail, phaseMail); err != nil {
		return err
	}
	if rset {
		if err := c.checkRset(); err != nil {
			return err
		}
	}
	c.open = true
	mail, err := c.read(to.Mail, phaseMail)
	if err != nil {
		return err
	}
	var accepted int
	for i := range tx.Rcpts {
		r, err := c.read(to.Rcpt, phaseRcpt)
		if err != nil {
			return err
		}
		if mail.Class() != 2 {
			out[i] = Answer{Reply: mail, In: "MAIL FROM"}
			continue
		}
		if r.Class() == 2 {
			accepted++
			continue
		}
		out[i] = Answer{Reply: r, In: "RCPT TO"}
	}
	data, err := c.read(to.DataInit, phaseData)
	if err != nil {
		return err
	}
	if data.Code != 354 {
		setUnset(out, data, "DATA")
		return nil
	}
	if accepted == 0 {
		// A server that says 354 with no recipient breaks RFC 2920
		// §3.1; sending an empty message to nobody is no way out.
		c.broken = true
		return nil
	}
	return c.body(tx)
}

// sendInTurn sends the commands of tx one at a time, each after the
// reply to the one before.
func (c *Client) sendInTurn(tx *Transaction) error {
	out := tx.Answers
	to := &c.cfg.Timeouts
	if c.open {
		c.wdead = to.Quit
		c.bw.WriteString("RSET\r\n")
		if err := c.flush(to.Quit, phaseRset); err != nil {
			return err
		}
		if err := c.checkRset(); err != nil {
			return err
		}
	}
	c.open = true
	c.wdead = to.Mail
	c.bw.Write(c.appendMail(c.bw.AvailableBuffer(), &tx.Mail))
	if err := c.flush(to.Mail, phaseMail); err != nil {
		return err
	}
	mail, err := c.read(to.Mail, phaseMail)
	if err != nil {
		return err
	}
	if mail.Class() != 2 {
		setUnset(out, mail, "MAIL FROM")
		return nil
	}
	var accepted int
	for i := range tx.Rcpts {
		c.wdead = to.Rcpt
		c.bw.Write(c.appendRcpt(c.bw.AvailableBuffer(), &tx.Rcpts[i]))
		if err := c.flush(to.Rcpt, phaseRcpt); err != nil {
			return err
		}
		r, err := c.read(to.Rcpt, phaseRcpt)
		if err != nil {
			return err
		}
		if r.Class() == 2 {
			accepted++
			continue
		}
		out[i] = Answer{Reply: r, In: "RCPT TO"}
	}
	if accepted == 0 {
		return nil
	}
	data, err := c.command("DATA", to.DataInit, phaseData)
	if err != nil {
		return err
	}
	if data.Code != 354 {
		setUnset(out, data, "DATA")
		return nil
	}
	return c.body(tx)
}

// checkRset reads the reply to RSET, which must be 250. Anything else
// (a 421 from a server that timed the session out while it was cached,
// or the connection closed) ends the session before any message data is
// sent: the recipients stay undecided, for a new connection.
func (c *Client) checkRset() error {
	r, err := c.read(min(c.cfg.Timeouts.Quit, rsetTimeout), phaseRset)
	if err != nil {
		return err
	}
	if r.Code != 250 {
		return c.fail(phaseRset, fmt.Errorf("%w: %s", errRsetRefused, r.String()))
	}
	c.open = false
	return nil
}

// errRsetRefused marks a session whose RSET was not answered with 250.
var errRsetRefused = errors.New("RSET refused")

// body sends the message and the final dot, and applies the reply to the
// recipients not yet decided (those RCPT accepted).
func (c *Client) body(tx *Transaction) error {
	c.wdead = c.cfg.Timeouts.DataXfer
	d := newDataWriter(c.bw, c.cfg.LineLimit)
	if err := tx.Data(d); err != nil {
		// A read error of the message, or of the connection: the session
		// is in the middle of DATA and cannot be saved.
		return c.fail(phaseBody, err)
	}
	if err := d.Close(); err != nil {
		return c.fail(phaseBody, err)
	}
	tx.Folded = d.folded
	if err := c.flush(c.cfg.Timeouts.DataXfer, phaseDataEnd); err != nil {
		return err
	}
	r, err := c.read(c.cfg.Timeouts.DataDone, phaseDataEnd)
	if err != nil {
		return err
	}
	c.open = false
	setUnset(tx.Answers, r, "end of DATA")
	return nil
}

// setUnset gives r to every recipient not yet decided.
func setUnset(out []Answer, r Reply, in string) {
	for i := range out {
		if out[i].In == "" {
			out[i] = Answer{Reply: r, In: in}
		}
	}
}

// appendPath appends a command's verb and its path: the address in
// angle brackets, its local part quoted where RFC 5321 §4.1.2 wants it
// (address.AppendPath). The queue keeps addresses unquoted, so writing
// one as it is would let a sender such as "x> RET=FULL"@example.org end
// the path early and add parameters of its own choosing.
func appendPath(b []byte, verb, addr string) []byte {
	b = append(b, verb...)
	b = append(b, '<')
	b = address.AppendPath(b, addr)
	return append(b, '>')
}

// appendMail appends the MAIL FROM command with the parameters the
// server supports and the message needs.
func (c *Client) appendMail(b []byte, m *Mail) []byte {
	b = appendPath(b, "MAIL FROM:", m.From)
	if c.ext.Size && m.Size > 0 {
		b = append(b, " SIZE="...)
		b = strconv.AppendInt(b, m.Size, 10)
	}
	if c.ext.EightBitMIME && (m.Body == "8BITMIME" || m.Body == "BINARYMIME") {
		// BINARYMIME needs BDAT, which this client does not speak; a
		// message that arrived so is sent as 8BITMIME, as Postfix does.
		b = append(b, " BODY=8BITMIME"...)
	}
	if c.ext.SMTPUTF8 && m.SMTPUTF8 {
		b = append(b, " SMTPUTF8"...)
	}
	if c.ext.DSN {
		if m.Ret != "" {
			b = append(b, " RET="...)
			b = append(b, m.Ret...)
		}
		if m.EnvID != "" {
			b = append(b, " ENVID="...)
			b = dsn.AppendXtext(b, m.EnvID)
		}
	}
	return append(b, '\r', '\n')
}

// appendRcpt appends the RCPT TO command; the DSN parameters go only to
// a server that announced DSN (RFC 3461 §5.2).
func (c *Client) appendRcpt(b []byte, r *Rcpt) []byte {
	b = appendPath(b, "RCPT TO:", r.To)
	if c.ext.DSN {
		if r.Notify != "" {
			b = append(b, " NOTIFY="...)
			b = append(b, r.Notify...)
		}
		if typ, addr, ok := strings.Cut(r.ORcpt, ";"); ok {
			b = append(b, " ORCPT="...)
			b = append(b, typ...)
			b = append(b, ';')
			b = dsn.AppendXtext(b, addr)
		}
	}
	return append(b, '\r', '\n')
}

package smtp

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"

	"postern.dev/postern/libmail/address"
	"postern.dev/postern/libmail/dsn"
	"postern.dev/postern/libmail/queue"
	"postern.dev/postern/smtp/downgrade"
)

// message is what one transaction sends: the envelope and a reader on
// the message bytes in the queue file.
type message struct {
	env    *queue.Envelope
	body   *io.SectionReader
	size   int64
	folded bool // a line was broken for smtp_line_length_limit
	noted  bool // and the log said so (once per message, as Postfix)

	// For servers without 8BITMIME: the conversion planned (once per
	// message, on first need), and whether this transaction converts.
	plan    *downgrade.Plan
	planErr error
	convert bool
}

// downgradePlan reads the message once to plan its conversion to 7-bit
// MIME (package downgrade), and remembers the plan.
func (m *message) downgradePlan() (*downgrade.Plan, error) {
	if m.plan == nil && m.planErr == nil {
		m.plan, m.planErr = downgrade.Scan(io.NewSectionReader(m.body, 0, m.body.Size()))
	}
	return m.plan, m.planErr
}

// answer is the reply that decided a recipient in a transaction, and the
// command it answered, for the log's "(in reply to RCPT TO command)".
type answer struct {
	reply Reply
	in    string // "MAIL FROM", "RCPT TO", "DATA", "end of DATA"
	set   bool
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

// transact runs one mail transaction for rcpts and returns one answer
// per recipient. With PIPELINING, MAIL, every RCPT and DATA go out in
// one write (RFC 2920) and the replies are read afterwards; without it,
// one command at a time. The reply to the end of the data applies to
// every recipient that RCPT accepted. When err is not nil the session
// broke; recipients whose answer is not set were not decided.
func (c *client) transact(m *message, rcpts []queue.Recipient, buf []byte) ([]answer, error) {
	out := make([]answer, len(rcpts))
	var accepted int
	if c.ext.pipelining {
		b := buf[:0]
		rset := c.open
		if rset {
			b = append(b, "RSET\r\n"...)
		}
		b = c.appendMail(b, m)
		for i := range rcpts {
			b = c.appendRcpt(b, &rcpts[i])
		}
		b = append(b, "DATA\r\n"...)
		if err := c.send(b, c.to.Mail, phaseMail); err != nil {
			return out, err
		}
		if rset {
			if err := c.checkRset(); err != nil {
				return out, err
			}
		}
		c.open = true
		mail, err := c.read(c.to.Mail, phaseMail)
		if err != nil {
			return out, err
		}
		for i := range rcpts {
			r, err := c.read(c.to.Rcpt, phaseRcpt)
			if err != nil {
				return out, err
			}
			if mail.Class() != 2 {
				out[i] = answer{reply: mail, in: "MAIL FROM", set: true}
				continue
			}
			if r.Class() == 2 {
				accepted++
				continue
			}
			out[i] = answer{reply: r, in: "RCPT TO", set: true}
		}
		data, err := c.read(c.to.DataInit, phaseData)
		if err != nil {
			return out, err
		}
		if data.Code != 354 {
			setUnset(out, data, "DATA")
			return out, nil
		}
		if accepted == 0 {
			// A server that says 354 with no recipient breaks RFC 2920
			// §3.1; sending an empty message to nobody is no way out.
			c.broken = true
			return out, nil
		}
		return out, c.body(m, out, buf)
	}

	if c.open {
		if err := c.send([]byte("RSET\r\n"), c.to.Quit, phaseRset); err != nil {
			return out, err
		}
		if err := c.checkRset(); err != nil {
			return out, err
		}
	}
	c.open = true
	if err := c.send(c.appendMail(buf[:0], m), c.to.Mail, phaseMail); err != nil {
		return out, err
	}
	mail, err := c.read(c.to.Mail, phaseMail)
	if err != nil {
		return out, err
	}
	if mail.Class() != 2 {
		setUnset(out, mail, "MAIL FROM")
		return out, nil
	}
	for i := range rcpts {
		b := c.appendRcpt(buf[:0], &rcpts[i])
		if err := c.send(b, c.to.Rcpt, phaseRcpt); err != nil {
			return out, err
		}
		r, err := c.read(c.to.Rcpt, phaseRcpt)
		if err != nil {
			return out, err
		}
		if r.Class() == 2 {
			accepted++
			continue
		}
		out[i] = answer{reply: r, in: "RCPT TO", set: true}
	}
	if accepted == 0 {
		return out, nil
	}
	data, err := c.command("DATA", c.to.DataInit, phaseData)
	if err != nil {
		return out, err
	}
	if data.Code != 354 {
		setUnset(out, data, "DATA")
		return out, nil
	}
	return out, c.body(m, out, buf)
}

// checkRset reads the reply to RSET, which must be 250. Anything else
// (a 421 from a server that timed the session out while it was cached,
// or the connection closed) ends the session before any message data is
// sent: the recipients stay undecided, for a new connection.
func (c *client) checkRset() error {
	r, err := c.read(min(c.to.Quit, rsetTimeout), phaseRset)
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
func (c *client) body(m *message, out []answer, buf []byte) error {
	c.wdead = c.to.DataXfer
	if _, err := m.body.Seek(0, io.SeekStart); err != nil {
		// A read error of the queue file: the session is in the middle of
		// DATA and cannot be saved.
		return c.fail(phaseBody, err)
	}
	d := newDataWriter(c.bw, c.data.LineLimit)
	var err error
	if m.convert {
		err = downgrade.Write(d, m.body, m.plan)
	} else {
		// The struct hides dataWriter's methods from io.CopyBuffer,
		// which would otherwise look for a ReaderFrom; none is there,
		// but the buffer is what keeps a large message out of memory.
		_, err = io.CopyBuffer(struct{ io.Writer }{d}, m.body, buf)
	}
	if err != nil {
		return c.fail(phaseBody, err)
	}
	if err := d.Close(); err != nil {
		return c.fail(phaseBody, err)
	}
	m.folded = m.folded || d.folded
	if err := c.bw.Flush(); err != nil {
		return c.fail(phaseDataEnd, err)
	}
	r, err := c.read(c.to.DataDone, phaseDataEnd)
	if err != nil {
		return err
	}
	c.open = false
	setUnset(out, r, "end of DATA")
	return nil
}

func setUnset(out []answer, r Reply, in string) {
	for i := range out {
		if !out[i].set {
			out[i] = answer{reply: r, in: in, set: true}
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
func (c *client) appendMail(b []byte, m *message) []byte {
	b = appendPath(b, "MAIL FROM:", m.env.Sender)
	if c.ext.size && !m.convert {
		// Converted, the message is larger than the queue file says;
		// Postfix leaves SIZE out then too (RFC 1870 makes it optional).
		b = append(b, " SIZE="...)
		b = strconv.AppendInt(b, m.size, 10)
	}
	if c.ext.eightBitMIME && (m.env.Body == "8BITMIME" || m.env.Body == "BINARYMIME") {
		// BINARYMIME needs BDAT, which this client does not speak; a
		// message that arrived so is sent as 8BITMIME, as Postfix does.
		b = append(b, " BODY=8BITMIME"...)
	}
	if c.ext.smtputf8 && m.env.SMTPUTF8 {
		b = append(b, " SMTPUTF8"...)
	}
	if c.ext.dsn {
		if m.env.Ret != "" {
			b = append(b, " RET="...)
			b = append(b, m.env.Ret...)
		}
		if m.env.EnvID != "" {
			b = append(b, " ENVID="...)
			b = dsn.AppendXtext(b, m.env.EnvID)
		}
	}
	return append(b, '\r', '\n')
}

// appendRcpt appends the RCPT TO command; the DSN parameters go only to
// a server that announced DSN (RFC 3461 §5.2).
func (c *client) appendRcpt(b []byte, r *queue.Recipient) []byte {
	b = appendPath(b, "RCPT TO:", r.Addr)
	if c.ext.dsn {
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

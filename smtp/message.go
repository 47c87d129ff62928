package smtp

import (
	"io"

	"postern.dev/postern/libmail/esmtp"
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

// mail is the MAIL FROM of the message's transactions; the session
// leaves out what the server did not announce.
func (m *message) mail() esmtp.Mail {
	mail := esmtp.Mail{From: m.env.Sender, Size: m.size, Body: m.env.Body, SMTPUTF8: m.env.SMTPUTF8,
		Ret: m.env.Ret, EnvID: m.env.EnvID}
	if m.convert {
		// Converted, the message is larger than the queue file says;
		// Postfix leaves SIZE out then too (RFC 1870 makes it optional).
		mail.Size = 0
	}
	return mail
}

// writeTo writes the message from the queue file to w (the session's
// DATA), converted to 7-bit MIME when this transaction converts, through
// buf so that a large message stays out of memory.
func (m *message) writeTo(w io.Writer, buf []byte) error {
	if _, err := m.body.Seek(0, io.SeekStart); err != nil {
		return err
	}
	if m.convert {
		return downgrade.Write(w, m.body, m.plan)
	}
	_, err := io.CopyBuffer(w, m.body, buf)
	return err
}

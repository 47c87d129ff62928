package smtpd

import (
	"fmt"

	"postern.dev/postern/libmail/esmtp"
)

// Reply is an SMTP reply: a code, an RFC 3463 enhanced status code and
// text, lines joined by "\n". It is the type the SMTP client reads the
// replies of remote servers into (esmtp.Reply), so the two sides agree
// on the wire form. Policy decisions are Replies, which conn writes in
// one place (writeReply).
type Reply = esmtp.Reply

// writeReply buffers a reply: each line the code, '-' but on the last,
// the enhanced code and the text (esmtp.Reply.Append). It is built in
// the writer's free buffer, so a reply costs no allocation.
func (c *conn) writeReply(r *Reply) {
	c.w.Write(r.Append(c.w.AvailableBuffer()))
}

// reply builds a Reply with formatted text.
func reply(code int, enhanced, format string, args ...any) *Reply {
	return &Reply{Code: code, Enhanced: enhanced, Text: fmt.Sprintf(format, args...)}
}

// The replies smtpd gives in more than one place, worded as Postfix's so
// that admins and log tools recognize them.
var (
	replyOK          = &Reply{Code: 250, Enhanced: "2.0.0", Text: "Ok"}
	replyMailOK      = &Reply{Code: 250, Enhanced: "2.1.0", Text: "Ok"}
	replyRcptOK      = &Reply{Code: 250, Enhanced: "2.1.5", Text: "Ok"}
	replyData        = &Reply{Code: 354, Enhanced: "", Text: "End data with <CR><LF>.<CR><LF>"}
	replyBye         = &Reply{Code: 221, Enhanced: "2.0.0", Text: "Bye"}
	replyUnknown     = &Reply{Code: 502, Enhanced: "5.5.2", Text: "Error: command not recognized"}
	replyNeedMail    = &Reply{Code: 503, Enhanced: "5.5.1", Text: "Error: need MAIL command"}
	replyNeedRcpt    = &Reply{Code: 503, Enhanced: "5.5.1", Text: "Error: need RCPT command"}
	replyNested      = &Reply{Code: 503, Enhanced: "5.5.1", Text: "Error: nested MAIL command"}
	replyTooBig      = &Reply{Code: 552, Enhanced: "5.3.4", Text: "Message size exceeds fixed limit"}
	replyTooMany     = &Reply{Code: 452, Enhanced: "4.5.3", Text: "Error: too many recipients"}
	replyWriteError  = &Reply{Code: 451, Enhanced: "4.3.0", Text: "Error: queue file write error"}
	replyNeedTLS     = &Reply{Code: 530, Enhanced: "5.7.0", Text: "Must issue a STARTTLS command first"}
	replyLineTooLong = &Reply{Code: 500, Enhanced: "5.5.2", Text: "Error: line too long"}
	replyBareLF      = &Reply{Code: 554, Enhanced: "5.6.0", Text: "Error: bare <LF> received; lines must end in <CR><LF> (RFC 5321 section 2.3.8)"}
	replyBareCR      = &Reply{Code: 554, Enhanced: "5.6.0", Text: "Error: bare <CR> received; lines must end in <CR><LF> (RFC 5321 section 2.3.8)"}
	replyNUL         = &Reply{Code: 554, Enhanced: "5.6.0", Text: "Error: message contains NUL characters"}
	replyHops        = &Reply{Code: 554, Enhanced: "5.4.6", Text: "Error: too many hops"}
)

package smtpd

import (
	"fmt"
	"strconv"
)

// Reply is an SMTP reply: a code, an RFC 3463 enhanced status code and
// text. Policy decisions are Replies, which conn writes in one place.
type Reply struct {
	Code     int
	Enhanced string // "5.1.1"; empty for replies that carry none (220, 354, 334)
	Text     string
}

func (r *Reply) Error() string { return r.String() }

// String is the reply as one line without CRLF.
func (r *Reply) String() string {
	if r.Enhanced == "" {
		return strconv.Itoa(r.Code) + " " + r.Text
	}
	return strconv.Itoa(r.Code) + " " + r.Enhanced + " " + r.Text
}

// Temporary reports a 4xx reply.
func (r *Reply) Temporary() bool { return r.Code/100 == 4 }

// reply builds a Reply with formatted text.
func reply(code int, enhanced, format string, args ...any) *Reply {
	return &Reply{Code: code, Enhanced: enhanced, Text: fmt.Sprintf(format, args...)}
}

// The replies smtpd gives in more than one place, worded as Postfix's so
// that admins and log tools recognize them.
var (
	replyOK          = &Reply{250, "2.0.0", "Ok"}
	replyMailOK      = &Reply{250, "2.1.0", "Ok"}
	replyRcptOK      = &Reply{250, "2.1.5", "Ok"}
	replyData        = &Reply{354, "", "End data with <CR><LF>.<CR><LF>"}
	replyBye         = &Reply{221, "2.0.0", "Bye"}
	replyUnknown     = &Reply{502, "5.5.2", "Error: command not recognized"}
	replyNeedMail    = &Reply{503, "5.5.1", "Error: need MAIL command"}
	replyNeedRcpt    = &Reply{503, "5.5.1", "Error: need RCPT command"}
	replyNested      = &Reply{503, "5.5.1", "Error: nested MAIL command"}
	replyTooBig      = &Reply{552, "5.3.4", "Message size exceeds fixed limit"}
	replyTooMany     = &Reply{452, "4.5.3", "Error: too many recipients"}
	replyWriteError  = &Reply{451, "4.3.0", "Error: queue file write error"}
	replyNeedTLS     = &Reply{530, "5.7.0", "Must issue a STARTTLS command first"}
	replyLineTooLong = &Reply{500, "5.5.2", "Error: line too long"}
	replyBareLF      = &Reply{554, "5.6.0", "Error: bare <LF> received; lines must end in <CR><LF> (RFC 5321 section 2.3.8)"}
	replyBareCR      = &Reply{554, "5.6.0", "Error: bare <CR> received; lines must end in <CR><LF> (RFC 5321 section 2.3.8)"}
	replyNUL         = &Reply{554, "5.6.0", "Error: message contains NUL characters"}
	replyHops        = &Reply{554, "5.4.6", "Error: too many hops"}
)

package smtpd

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"

	"github.com/emersion/go-smtp"

	"postern.dev/postern/libmail/message"
	"postern.dev/postern/libmail/queue"
)

// hopLimit is Postfix's hopcount_limit: more Received: headers than this
// means a mail loop.
const hopLimit = 50

// Data receives the message, writes the queue entry and answers 250 only
// after the entry is durable.
func (s *session) Data(r io.Reader) error {
	err := s.data(r)
	var se *smtp.SMTPError
	ok := errors.As(err, &se) && se.Code == 250
	s.client.count("data", ok)
	if !ok {
		s.reject("DATA", err, s.from, "")
	}
	return err
}

func (s *session) data(r io.Reader) error {
	srv := s.srv
	now := srv.now()
	env := &queue.Envelope{
		Arrival: now, Sender: s.from, Recipients: s.rcpts,
		EnvID: s.opts.EnvelopeID, Ret: string(s.opts.Return), Body: string(s.opts.Body), SMTPUTF8: s.opts.UTF8,
		ClientName: s.client.name, ClientAddr: s.client.host, Helo: s.conn.Hostname(), Proto: s.proto(), AuthUser: s.authUser,
	}
	w, err := srv.spool.Create(s.id, env)
	if err != nil {
		srv.log.Error("%s: %v", s.id, err)
		return reply(451, smtp.EnhancedCode{4, 3, 0}, "Error: queue file write error")
	}
	s.writeReceived(w, now)

	bufp := srv.bufs.Get().(*[]byte)
	c := copier{w: w}
	err = c.copy(r, *bufp)
	srv.bufs.Put(bufp)
	if err != nil {
		w.Abort()
		var se *smtp.SMTPError
		if errors.As(err, &se) {
			return se
		}
		if errors.Is(err, io.ErrUnexpectedEOF) || errors.Is(err, smtp.ErrDataTooLarge) {
			return err
		}
		srv.log.Error("%s: %v", s.id, err)
		return reply(451, smtp.EnhancedCode{4, 3, 0}, "Error: queue file write error")
	}
	msgID, hops := c.headerFacts()
	if hops > hopLimit {
		w.Abort()
		return reply(554, smtp.EnhancedCode{5, 4, 6}, "Error: too many hops")
	}
	if err := w.Commit(); err != nil {
		srv.log.Error("%s: %v", s.id, err)
		return reply(451, smtp.EnhancedCode{4, 3, 0}, "Error: queue file write error")
	}
	srv.wake.Wake(s.id)
	if msgID != "" {
		srv.log.Info("%s: message-id=%s", s.id, msgID)
	}
	id := s.id
	// go-smtp answers a nil error with its own text; a 250 "error" lets
	// the client see the queue ID, as Postfix's reply shows it.
	return reply(250, smtp.EnhancedCode{2, 0, 0}, "Ok: queued as %s", id)
}

// copier streams the message into the queue entry, checking line ends
// and collecting the header section for a look afterwards.
type copier struct {
	w      io.Writer
	prevCR bool   // the previous chunk ended in CR
	header []byte // the start of the message, up to the end of the header
	inHead bool
}

// maxHeader is how much of the header is kept for Message-ID and hop
// counting; a longer header is still accepted, just not looked at past it.
const maxHeader = 64 << 10

func (c *copier) copy(r io.Reader, buf []byte) error {
	c.inHead = true
	for {
		n, rerr := r.Read(buf)
		if n > 0 {
			p := buf[:n]
			if err := c.check(p); err != nil {
				return err
			}
			if c.inHead {
				c.collect(p)
			}
			if _, err := c.w.Write(p); err != nil {
				return err
			}
		}
		if rerr == io.EOF {
			if c.prevCR {
				return errBareCR
			}
			return nil
		}
		if rerr != nil {
			return rerr
		}
	}
}

var (
	errBareLF = reply(554, smtp.EnhancedCode{5, 6, 0}, "Error: bare <LF> received; lines must end in <CR><LF> (RFC 5321 section 2.3.8)")
	errBareCR = reply(554, smtp.EnhancedCode{5, 6, 0}, "Error: bare <CR> received; lines must end in <CR><LF> (RFC 5321 section 2.3.8)")
	errNUL    = reply(554, smtp.EnhancedCode{5, 6, 0}, "Error: message contains NUL characters")
)

// check enforces strict CRLF on one chunk: every LF must follow a CR and
// every CR must precede an LF, also across chunk boundaries. Rejecting
// them is what defeats SMTP smuggling: "\n.\r\n" and "\r.\r" can never end
// a message here, and a message that contains them is refused whole.
func (c *copier) check(p []byte) error {
	if bytes.IndexByte(p, 0) >= 0 {
		return errNUL
	}
	paired := 0 // CRs known to be followed by LF
	start := 0
	if c.prevCR {
		if p[0] != '\n' {
			return errBareCR
		}
		start = 1
	}
	for i := start; ; {
		j := bytes.IndexByte(p[i:], '\n')
		if j < 0 {
			break
		}
		k := i + j
		if k == 0 || p[k-1] != '\r' {
			return errBareLF
		}
		paired++
		i = k + 1
	}
	crs := bytes.Count(p[start:], []byte{'\r'})
	c.prevCR = p[len(p)-1] == '\r'
	if c.prevCR {
		crs--
	}
	if crs != paired {
		return errBareCR
	}
	return nil
}

// collect keeps the header section: everything up to the empty line.
func (c *copier) collect(p []byte) {
	room := maxHeader - len(c.header)
	if len(p) > room {
		p = p[:room]
	}
	from := max(0, len(c.header)-3)
	c.header = append(c.header, p...)
	if len(c.header) >= 2 && c.header[0] == '\r' && c.header[1] == '\n' {
		c.header = c.header[:0] // no header at all
		c.inHead = false
		return
	}
	if i := bytes.Index(c.header[from:], []byte("\r\n\r\n")); i >= 0 {
		c.header = c.header[:from+i+2]
		c.inHead = false
	} else if len(c.header) >= maxHeader {
		c.inHead = false
	}
}

// headerFacts returns the Message-ID and the number of Received: fields.
func (c *copier) headerFacts() (msgID string, hops int) {
	message.ScanHeader(bufio.NewReader(bytes.NewReader(c.header)), maxHeader, func(name, value []byte) bool {
		switch {
		case len(name) == 8 && strings.EqualFold(string(name), "received"):
			hops++
		case len(name) == 10 && strings.EqualFold(string(name), "message-id") && msgID == "":
			msgID = string(bytes.TrimSpace(value))
		}
		return true
	})
	return msgID, hops + 1
}

package smtpd

import (
	"errors"
	"fmt"
	"strings"

	"github.com/emersion/go-smtp"

	"postern.dev/postern/libmail/address"
	"postern.dev/postern/libmail/queue"
	"postern.dev/postern/libmail/recipient"
)

// session is one client's SMTP session; go-smtp calls its methods in the
// order the client's commands arrive, from the connection's goroutine.
type session struct {
	srv      *Server
	conn     *smtp.Conn
	client   *clientConn
	authUser string

	// The current transaction; id is set by MAIL.
	id          queue.ID
	from        string
	opts        smtp.MailOptions
	rcpts       []queue.Recipient
	loggedQueue bool // the "ID: client=" line was written
}

// reply builds a protocol error; go-smtp writes it to the client as is.
func reply(code int, ec smtp.EnhancedCode, format string, args ...any) *smtp.SMTPError {
	return &smtp.SMTPError{Code: code, EnhancedCode: ec, Message: fmt.Sprintf(format, args...)}
}

func (s *session) tls() bool {
	_, ok := s.conn.TLSConnectionState()
	return ok
}

// proto is the protocol name for logs and Received: (RFC 3848).
func (s *session) proto() string {
	p := "ESMTP"
	if s.tls() {
		p += "S"
	}
	if s.authUser != "" {
		p += "A"
	}
	return p
}

// Mail handles MAIL FROM.
func (s *session) Mail(from string, opts *smtp.MailOptions) error {
	err := s.mail(from, opts)
	s.client.count("mail", err == nil)
	if err != nil {
		s.reject("MAIL", err, from, "")
	}
	return err
}

func (s *session) mail(from string, opts *smtp.MailOptions) error {
	if s.id != "" {
		return reply(503, smtp.EnhancedCode{5, 5, 1}, "Error: nested MAIL command")
	}
	if s.srv.draining.Load() {
		return reply(421, smtp.EnhancedCode{4, 3, 2}, "%s Service shutting down, try again later", s.srv.cfg.Hostname)
	}
	if s.srv.cfg.RequireTLS && !s.tls() {
		return reply(530, smtp.EnhancedCode{5, 7, 0}, "Must issue a STARTTLS command first")
	}
	if from != "" {
		if err := address.Check(from, opts.UTF8); err != nil {
			if errors.Is(err, address.ErrNotASCII) {
				return reply(553, smtp.EnhancedCode{5, 6, 7}, "<%s>: Sender address rejected: non-ASCII address requires SMTPUTF8", from)
			}
			return reply(501, smtp.EnhancedCode{5, 1, 7}, "<%s>: Bad sender address syntax: %v", from, err)
		}
		from = address.Canonical(from)
	}
	s.id = s.srv.spool.NewID()
	s.from = from
	s.opts = *opts
	s.rcpts = nil
	s.loggedQueue = false
	return nil
}

// Rcpt handles RCPT TO: syntax, relay control, local recipient check.
func (s *session) Rcpt(to string, opts *smtp.RcptOptions) error {
	err := s.rcpt(to, opts)
	s.client.count("rcpt", err == nil)
	if err != nil {
		s.reject("RCPT", err, s.from, to)
		return err
	}
	if !s.loggedQueue {
		s.loggedQueue = true
		line := fmt.Sprintf("%s: client=%s", s.id, s.client.label())
		if s.authUser != "" {
			line += ", sasl_method=" + "PLAIN" + ", sasl_username=" + s.authUser
		}
		s.srv.log.Info("%s", line)
	}
	return nil
}

func (s *session) rcpt(to string, opts *smtp.RcptOptions) error {
	if s.id == "" {
		return reply(503, smtp.EnhancedCode{5, 5, 1}, "Error: need MAIL command")
	}
	if err := address.Check(to, s.opts.UTF8); err != nil {
		if errors.Is(err, address.ErrNotASCII) {
			return reply(553, smtp.EnhancedCode{5, 6, 7}, "<%s>: Recipient address rejected: non-ASCII address requires SMTPUTF8", to)
		}
		return reply(501, smtp.EnhancedCode{5, 1, 3}, "<%s>: Bad recipient address syntax: %v", to, err)
	}
	to = address.Canonical(to)
	_, domain := address.Split(to)
	if s.srv.dir.IsLocal(domain) {
		m, err := s.srv.dir.Lookup(to)
		if err != nil {
			s.srv.log.Warn("%s: recipient lookup for <%s>: %v", s.id, to, err)
			return reply(451, smtp.EnhancedCode{4, 3, 0}, "<%s>: Temporary lookup failure", to)
		}
		if m.Kind == recipient.Unknown {
			return reply(550, smtp.EnhancedCode{5, 1, 1}, "<%s>: Recipient address rejected: User unknown in local recipient table", to)
		}
	} else if !s.srv.cfg.trusted(s.client.addr()) && s.authUser == "" {
		return reply(554, smtp.EnhancedCode{5, 7, 1}, "<%s>: Relay access denied", to)
	}
	r := queue.Recipient{Addr: to}
	if len(opts.Notify) > 0 {
		var n []string
		for _, v := range opts.Notify {
			n = append(n, string(v))
		}
		r.Notify = strings.Join(n, ",")
	}
	if opts.OriginalRecipient != "" {
		r.ORcpt = string(opts.OriginalRecipientType) + ";" + opts.OriginalRecipient
	}
	s.rcpts = append(s.rcpts, r)
	return nil
}

// reject logs a refused command the way Postfix does, so log tools see it:
//
//	NOQUEUE: reject: RCPT from host[ip]: 554 5.7.1 <x>: Relay access denied; from=<a> to=<x> proto=ESMTP helo=<h>
func (s *session) reject(cmd string, err error, from, to string) {
	var se *smtp.SMTPError
	if !errors.As(err, &se) {
		return
	}
	id := "NOQUEUE"
	if s.loggedQueue {
		id = string(s.id)
	}
	line := fmt.Sprintf("%s: reject: %s from %s: %d %d.%d.%d %s; from=<%s>", id, cmd, s.client.label(), se.Code,
		se.EnhancedCode[0], se.EnhancedCode[1], se.EnhancedCode[2], se.Message, from)
	if to != "" {
		line += " to=<" + to + ">"
	}
	s.srv.log.Info("%s proto=%s helo=<%s>", line, s.proto(), s.conn.Hostname())
}

// Reset forgets the transaction (RSET, a new EHLO, or the end of DATA).
func (s *session) Reset() {
	s.id, s.from, s.rcpts, s.loggedQueue = "", "", nil, false
	s.opts = smtp.MailOptions{}
}

// Logout ends the session; the disconnect line comes from the connection.
func (s *session) Logout() error { return nil }

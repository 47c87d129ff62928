package smtpd

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"strings"

	"postern.dev/postern/libmail/address"
	"postern.dev/postern/libmail/dsn"
	"postern.dev/postern/libmail/metrics"
	"postern.dev/postern/libmail/recipient"
)

// mailParams are the ESMTP parameters of MAIL FROM that postern keeps.
type mailParams struct {
	size  int64
	body  string // 7BIT or 8BITMIME
	utf8  bool   // RFC 6531 SMTPUTF8
	ret   string // RFC 3461 FULL or HDRS
	envid string // RFC 3461, decoded
}

// mail handles MAIL FROM.
func (c *conn) mail(ctx context.Context, arg string) (err *Reply) {
	var from string
	defer func() {
		if err != nil {
			c.logReject("MAIL", err, from, "")
		}
	}()
	if c.tx != nil {
		return replyNested
	}
	if c.srv.draining.Load() {
		c.closing = true
		return reply(421, "4.3.2", "%s Service shutting down, closing transmission channel", c.srv.cfg.Hostname)
	}
	if c.srv.cfg.RequireTLS && c.tlsState == nil {
		return replyNeedTLS
	}
	if c.srv.cfg.AuthRequired && c.authUser == "" {
		// RFC 4954 §6: "530 5.7.0 Authentication required" answers any
		// command but AUTH, EHLO, HELO, NOOP, RSET or QUIT when policy
		// requires authentication; refusing MAIL refuses the rest.
		return reply(530, "5.7.0", "Authentication required")
	}
	p, ok := parsePath(arg, "FROM:")
	if !ok {
		return reply(501, "5.5.4", "Syntax: MAIL FROM:<address>")
	}
	var mp mailParams
	for k, v := range p.params {
		switch k {
		case "SIZE":
			n, err := strconv.ParseInt(v, 10, 64)
			if err != nil || n < 0 {
				return reply(501, "5.5.4", "Bad message size syntax")
			}
			if n > c.srv.cfg.SizeLimit {
				return replyTooBig
			}
			mp.size = n
		case "BODY":
			switch v = strings.ToUpper(v); v {
			case "7BIT", "8BITMIME":
				mp.body = v
			default:
				return reply(501, "5.5.4", "Unsupported BODY parameter value")
			}
		case "SMTPUTF8":
			if !c.srv.cfg.SMTPUTF8 || v != "" {
				return reply(555, "5.5.4", "Unsupported option: SMTPUTF8")
			}
			mp.utf8 = true
		case "RET":
			switch v = strings.ToUpper(v); v {
			case "FULL", "HDRS":
				mp.ret = v
			default:
				return reply(501, "5.5.4", "Bad RET parameter syntax")
			}
		case "ENVID":
			id, ok := dsn.DecodeXtext(v)
			if !ok || id == "" || len(id) > 100 || !address.IsASCII(id) {
				return reply(501, "5.5.4", "Bad ENVID parameter syntax")
			}
			mp.envid = id
		case "AUTH":
			// RFC 4954 §5: a server may ignore the AUTH parameter.
		default:
			return reply(555, "5.5.4", "Unsupported option: %s", printable(k))
		}
	}
	from = p.addr
	if from != "" {
		if err := address.Check(from, mp.utf8); err != nil {
			if errors.Is(err, address.ErrNotASCII) {
				return reply(553, "5.6.7", "<%s>: Sender address rejected: non-ASCII address without SMTPUTF8", quoted(from))
			}
			return reply(501, "5.1.7", "<%s>: Bad sender address syntax", quoted(from))
		}
		from = address.Canonical(from)
		if r := c.checkSender(from, "Sender address rejected"); r != nil {
			return r
		}
	}
	// Last, so that only a MAIL FROM that would be accepted counts.
	if refused := c.limitMessage(ctx); refused != nil {
		return refused
	}
	c.tx = &transaction{id: c.srv.spool.NewID(), from: from, params: mp}
	c.checkSPF(ctx, c.tx)
	return nil
}

// rcpt handles RCPT TO: syntax, relay control and the local recipient
// check, so that unknown users are refused now rather than bounced later.
func (c *conn) rcpt(ctx context.Context, arg string) (err *Reply) {
	var to string
	defer func() {
		if err != nil {
			c.logReject("RCPT", err, c.txFrom(), to)
		}
	}()
	if c.tx == nil {
		return replyNeedMail
	}
	if c.tx.bdat != nil {
		return reply(503, "5.5.1", "Error: MAIL transaction in progress")
	}
	p, ok := parsePath(arg, "TO:")
	if !ok {
		return reply(501, "5.5.4", "Syntax: RCPT TO:<address>")
	}
	to = p.addr
	// RFC 5321 §4.5.1: <postmaster> without a domain must be accepted.
	if strings.EqualFold(to, "postmaster") && c.srv.cfg.FirstLocalDomain != "" {
		to = "postmaster@" + c.srv.cfg.FirstLocalDomain
	}
	if len(c.tx.rcpts) >= c.srv.cfg.RcptLimit {
		return replyTooMany
	}
	if err := address.Check(to, c.tx.params.utf8); err != nil {
		if errors.Is(err, address.ErrNotASCII) {
			return reply(553, "5.6.7", "<%s>: Recipient address rejected: non-ASCII address without SMTPUTF8", quoted(to))
		}
		return reply(501, "5.1.3", "<%s>: Bad recipient address syntax", quoted(to))
	}
	to = address.Canonical(to)
	r := recipientFrom(to)
	for k, v := range p.params {
		switch k {
		case "NOTIFY":
			n, ok := dsn.ParseNotify(v)
			if !ok {
				return reply(501, "5.5.4", "Error: Bad NOTIFY parameter syntax")
			}
			r.Notify = n
		case "ORCPT":
			typ, val, ok := strings.Cut(v, ";")
			dec, ok2 := dsn.DecodeXtext(val)
			if !ok || !ok2 || typ == "" || dec == "" {
				return reply(501, "5.5.4", "Error: Bad ORCPT parameter syntax")
			}
			r.ORcpt = typ + ";" + dec
		default:
			return reply(555, "5.5.4", "Unsupported option: %s", printable(k))
		}
	}
	_, domain := address.Split(to)
	if c.srv.dir.IsLocal(domain) {
		m, err := c.srv.dir.Lookup(to)
		if err != nil {
			c.srv.log.Warn("%s: recipient lookup for <%s>: %v", c.tx.id, quoted(to), err)
			return reply(451, "4.3.0", "<%s>: Temporary lookup failure", quoted(to))
		}
		if m.Kind == recipient.Unknown {
			return reply(550, "5.1.1", "<%s>: Recipient address rejected: User unknown in local recipient table", quoted(to))
		}
	} else if !c.srv.cfg.trusted(c.client.addr()) && c.authUser == "" {
		return reply(554, "5.7.1", "<%s>: Relay access denied", quoted(to))
	}
	// Last, so that only a recipient that would be accepted counts.
	if refused := c.limitRecipient(ctx); refused != nil {
		return refused
	}
	c.tx.rcpts = append(c.tx.rcpts, r)
	if !c.tx.logged {
		c.tx.logged = true
		line := fmt.Sprintf("%s: client=%s", c.tx.id, c.client.label())
		if c.authUser != "" {
			line += ", sasl_method=" + c.authMech + ", sasl_username=" + c.authUser
		}
		c.srv.log.Info("%s", line)
	}
	return nil
}

func (c *conn) txFrom() string {
	if c.tx == nil {
		return ""
	}
	return c.tx.from
}

// logReject logs a refused command the way Postfix does, so log tools see it:
//
//	NOQUEUE: reject: RCPT from host[ip]: 554 5.7.1 <x>: Relay access denied; from=<a> to=<x> proto=ESMTP helo=<h>
func (c *conn) logReject(cmd string, r *Reply, from, to string) {
	id := "NOQUEUE"
	if c.tx != nil && c.tx.logged {
		id = string(c.tx.id)
	}
	line := fmt.Sprintf("%s: reject: %s from %s: %s; from=<%s>", id, cmd, c.client.label(), r, printable(from))
	if to != "" {
		line += " to=<" + printable(to) + ">"
	}
	c.srv.metrics.Inc(metrics.Rejected, c.srv.cfg.Service, rejectClass(cmd, r))
	c.srv.log.Info("%s proto=%s helo=<%s>", line, c.proto(), c.helo)
}

// proto is the protocol name for logs and Received: (RFC 3848).
func (c *conn) proto() string {
	p := "SMTP"
	if c.esmtp {
		p = "ESMTP"
	}
	if c.tlsState != nil {
		p += "S"
	}
	if c.authUser != "" {
		p += "A"
	}
	return p
}

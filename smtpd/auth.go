package smtpd

import (
	"context"
	"errors"
	"strings"

	"postern.dev/postern/libmail/sasl"
)

// authOffered reports whether EHLO lists AUTH: the service enables it and,
// with smtpd_tls_auth_only, the session is under TLS.
func (c *conn) authOffered() bool {
	return c.srv.cfg.Auth && (c.tlsState != nil || !c.srv.cfg.AuthTLSOnly)
}

// auth handles AUTH (RFC 4954) against the accounts file. The exchange
// itself (PLAIN, LOGIN, base64, "=" and "*") is package sasl's; this
// reads the client's lines and says what the outcome means in SMTP.
// Failures count against the client's limits (limits.go): a client past
// smtpd_auth_failure_limit is cut off with 421, and each failure is
// answered after a wait that grows.
func (c *conn) auth(ctx context.Context, arg string) {
	fail := func(r *Reply) { c.respond("auth", nil, r) }
	switch {
	case !c.srv.cfg.Auth:
		fail(reply(503, "5.5.1", "Error: authentication not enabled"))
		return
	case !c.authOffered():
		// smtpd_tls_auth_only before STARTTLS: the password would cross
		// the network in the clear. RFC 4954 §6 names this reply (and
		// RFC 5248 registers 5.7.11); no exchange starts.
		fail(reply(538, "5.7.11", "Encryption required for requested authentication mechanism"))
		return
	case c.authUser != "":
		fail(reply(503, "5.5.1", "Error: already authenticated"))
		return
	case c.tx != nil:
		fail(reply(503, "5.5.1", "Error: MAIL transaction in progress"))
		return
	}
	if r, closing := c.limitAuth(ctx); r != nil {
		c.refuseAuth(r, closing)
		return
	}
	mech, initial, _ := strings.Cut(arg, " ")
	ex, err := sasl.NewServer(mech)
	if err != nil {
		fail(reply(504, "5.5.4", "Unrecognized authentication type"))
		return
	}
	challenge, done, err := ex.Start(initial)
	for err == nil && !done {
		c.writeReply(&Reply{Code: 334, Text: challenge})
		line, rerr := c.readLine(false)
		if rerr != nil {
			c.lineError(rerr)
			c.closing = c.closing || !isProtocolError(rerr)
			return
		}
		challenge, done, err = ex.Next(string(line))
	}
	if err != nil {
		// An abort ("*") is the client giving up, not a guess.
		if !errors.Is(err, sasl.ErrAborted) {
			c.srv.log.Warn("%s: SASL %s authentication failed: %v", c.client.label(), ex.Mechanism(), err)
			if r := c.authFailed(ctx); r != nil {
				c.refuseAuth(r, true)
				return
			}
		}
		fail(saslReply(err, ex.Mechanism()))
		return
	}
	cred, _ := ex.Credentials()
	acct, ok := c.srv.dir.Authenticate(cred.Username, cred.Password)
	if !ok {
		c.srv.log.Warn("%s: SASL %s authentication failed: authentication failure, sasl_username=%s", c.client.label(), ex.Mechanism(), printable(cred.Username))
		if r := c.authFailed(ctx); r != nil {
			c.refuseAuth(r, true)
			return
		}
		fail(reply(535, "5.7.8", "Error: authentication failed: authentication failure"))
		return
	}
	c.authUser, c.authMech = acct.Address, ex.Mechanism()
	c.respond("auth", &Reply{Code: 235, Enhanced: "2.7.0", Text: "Authentication successful"}, nil)
}

// refuseAuth answers an AUTH refused by a limit; closing ends the
// session after the reply.
func (c *conn) refuseAuth(r *Reply, closing bool) {
	if !closing {
		c.respond("auth", nil, r)
		return
	}
	c.client.count("auth", false)
	c.writeReply(r)
	c.closing = true
}

// saslReply is the SMTP reply to a failed exchange (RFC 4954 §4, §6).
func saslReply(err error, mech string) *Reply {
	switch {
	case errors.Is(err, sasl.ErrAborted):
		return reply(501, "5.7.0", "Authentication aborted")
	case errors.Is(err, sasl.ErrEncoding):
		return reply(501, "5.5.2", "Cannot decode response")
	}
	return reply(535, "5.7.8", "Error: authentication failed: malformed %s response", mech)
}

func isProtocolError(err error) bool { return err == errLineTooLong || err == errBareLFCmd }

package smtpd

import (
	"bytes"
	"encoding/base64"
	"strings"
)

// authOffered reports whether EHLO lists AUTH: the service enables it and,
// with smtpd_tls_auth_only, the session is under TLS.
func (c *conn) authOffered() bool {
	return c.srv.cfg.Auth && (c.tlsState != nil || !c.srv.cfg.AuthTLSOnly)
}

// auth handles AUTH (RFC 4954) with the PLAIN (RFC 4616) and LOGIN
// mechanisms against the accounts file.
func (c *conn) auth(arg string) {
	fail := func(r *Reply) { c.respond("auth", nil, r) }
	switch {
	case !c.authOffered():
		fail(reply(503, "5.5.1", "Error: authentication not enabled"))
		return
	case c.authUser != "":
		fail(reply(503, "5.5.1", "Error: already authenticated"))
		return
	case c.tx != nil:
		fail(reply(503, "5.5.1", "Error: MAIL transaction in progress"))
		return
	}
	mech, initial, _ := strings.Cut(arg, " ")
	mech = strings.ToUpper(mech)
	var user, pass string
	switch mech {
	case "PLAIN":
		resp, ok := c.saslStep(initial, "")
		if !ok {
			return
		}
		parts := bytes.Split(resp, []byte{0})
		if len(parts) != 3 || (len(parts[0]) > 0 && !bytes.Equal(parts[0], parts[1])) {
			fail(reply(535, "5.7.8", "Error: authentication failed: malformed PLAIN response"))
			return
		}
		user, pass = string(parts[1]), string(parts[2])
	case "LOGIN":
		u, ok := c.saslStep(initial, "Username:")
		if !ok {
			return
		}
		p, ok := c.saslStep("", "Password:")
		if !ok {
			return
		}
		user, pass = string(u), string(p)
	default:
		fail(reply(504, "5.5.4", "Unrecognized authentication type"))
		return
	}
	acct, ok := c.srv.dir.Authenticate(user, pass)
	if !ok {
		c.srv.log.Warn("%s: SASL %s authentication failed: authentication failure, sasl_username=%s", c.client.label(), mech, printable(user))
		fail(reply(535, "5.7.8", "Error: authentication failed: authentication failure"))
		return
	}
	c.authUser, c.authMech = acct.Address, mech
	c.respond("auth", &Reply{Code: 235, Enhanced: "2.7.0", Text: "Authentication successful"}, nil)
}

// saslStep returns the client's decoded response: the initial response
// if one came with the command, else the answer to a 334 challenge. On a
// problem it has answered the client and reports false.
func (c *conn) saslStep(initial, challenge string) ([]byte, bool) {
	line := initial
	if line == "" {
		c.writeReply(&Reply{Code: 334, Text: base64.StdEncoding.EncodeToString([]byte(challenge))})
		b, err := c.readLine(false)
		if err != nil {
			c.lineError(err)
			c.closing = c.closing || !isProtocolError(err)
			return nil, false
		}
		line = string(b)
	}
	if line == "*" {
		c.respond("auth", nil, reply(501, "5.7.0", "Authentication aborted"))
		return nil, false
	}
	if line == "=" { // RFC 4954 §4: an empty initial response
		return []byte{}, true
	}
	b, err := base64.StdEncoding.DecodeString(line)
	if err != nil {
		c.respond("auth", nil, reply(501, "5.5.2", "Cannot decode response"))
		return nil, false
	}
	return b, true
}

func isProtocolError(err error) bool { return err == errLineTooLong || err == errBareLFCmd }

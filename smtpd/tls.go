package smtpd

import (
	"crypto/tls"
	"time"

	"postern.dev/postern/libmail/intake"
)

// starttls handles STARTTLS (RFC 3207).
func (c *conn) starttls(arg string) {
	switch {
	case c.srv.tlsConfig() == nil:
		c.respond("starttls", nil, reply(502, "5.5.1", "Error: command not implemented"))
		return
	case c.tlsState != nil:
		c.respond("starttls", nil, reply(554, "5.5.1", "Error: TLS already active"))
		return
	case arg != "":
		c.respond("starttls", nil, reply(501, "5.5.4", "Syntax: STARTTLS"))
		return
	}
	c.respond("starttls", &Reply{Code: 220, Enhanced: "2.0.0", Text: "Ready to start TLS"}, nil)
	if err := c.flush(); err != nil {
		c.closing = true
		return
	}
	// Whatever the client pipelined after STARTTLS arrived in plaintext
	// and must not be taken as said under TLS (CVE-2011-0411): it is
	// thrown away with the old reader.
	c.r.Reset(nil)
	if !c.startTLS() {
		c.closing = true
		return
	}
	// RFC 3207 §4.2: the session starts over, as if just connected.
	c.helo, c.esmtp, c.authUser, c.authMech = "", false, "", ""
	c.reset()
}

// startTLS runs the handshake over the client connection and switches
// the session's reader and writer to it.
func (c *conn) startTLS() bool {
	tc := tls.Server(c.client, c.srv.tlsConfig())
	tc.SetDeadline(time.Now().Add(c.srv.timeout()))
	if err := tc.Handshake(); err != nil {
		c.srv.log.Info("SSL_accept error from %s: %v", c.client.label(), err)
		return false
	}
	tc.SetDeadline(time.Time{})
	st := tc.ConnectionState()
	c.tlsState = &st
	c.countTLS(&st)
	c.nc = tc
	c.r.Reset(tc)
	c.w.Reset(tc)
	c.srv.log.Info("%s TLS connection established from %s: %s with cipher %s", "Anonymous", c.client.label(),
		intake.TLSVersion(st.Version), tls.CipherSuiteName(st.CipherSuite))
	return true
}

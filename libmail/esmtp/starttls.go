package esmtp

import (
	"context"
	"crypto/tls"
	"errors"
	"time"
)

// StartTLS sends STARTTLS, runs the handshake with cfg and introduces
// the client again with EHLO (RFC 3207 §4.2: the server forgets what it
// learned before). Which servers must or may get TLS, and how their
// certificates are checked (cfg's VerifyConnection), is the caller's
// policy. A non-220 reply comes back as a *Refusal (the session goes on
// in plaintext if the caller wants), a failed handshake as a
// *HandshakeError.
func (c *Client) StartTLS(ctx context.Context, cfg *tls.Config) error {
	r, err := c.command("STARTTLS", c.cfg.Timeouts.Helo, "sending STARTTLS")
	if err != nil {
		return err
	}
	if r.Code != 220 {
		return &Refusal{Reply: r, In: "STARTTLS"}
	}
	if c.br.Buffered() > 0 {
		// Bytes the server sent after its 220 in plaintext would be read
		// as if they came through TLS: a response injection (the client
		// side of CVE-2011-0411).
		return c.fail("starting TLS", errors.New("server sent data after its reply to STARTTLS"))
	}
	tc := tls.Client(c.raw, cfg)
	if err := c.raw.SetDeadline(time.Now().Add(c.cfg.Timeouts.Helo)); err != nil {
		return c.fail("starting TLS", err)
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		c.broken = true
		return &HandshakeError{err}
	}
	cs := tc.ConnectionState()
	c.conn, c.tls = tc, &cs
	c.br.Reset(tc)
	return c.ehlo()
}

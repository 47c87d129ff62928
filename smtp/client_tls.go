package smtp

import (
	"context"
	"crypto/tls"
	"errors"
	"time"
)

// handshakeError is a failed TLS handshake after the server agreed to
// STARTTLS. The connection is useless afterwards.
type handshakeError struct{ err error }

func (e *handshakeError) Error() string { return "TLS handshake: " + e.err.Error() }
func (e *handshakeError) Unwrap() error { return e.err }

// startTLS sends STARTTLS, runs the handshake with cfg and introduces
// the client again with EHLO (RFC 3207 §4.2: the server forgets what it
// learned before). A non-220 reply comes back as a *refusal, a failed
// handshake as a *handshakeError.
func (c *client) startTLS(ctx context.Context, cfg *tls.Config) error {
	r, err := c.command("STARTTLS", c.to.Helo, "sending STARTTLS")
	if err != nil {
		return err
	}
	if r.Code != 220 {
		return &refusal{reply: r, in: "STARTTLS"}
	}
	if c.br.Buffered() > 0 {
		// Bytes the server sent after its 220 in plaintext would be read
		// as if they came through TLS: a response injection (the client
		// side of CVE-2011-0411).
		return c.fail("starting TLS", errors.New("server sent data after its reply to STARTTLS"))
	}
	tc := tls.Client(c.raw, cfg)
	if err := c.raw.SetDeadline(time.Now().Add(c.to.Helo)); err != nil {
		return c.fail("starting TLS", err)
	}
	if err := tc.HandshakeContext(ctx); err != nil {
		c.broken = true
		return &handshakeError{err}
	}
	cs := tc.ConnectionState()
	c.conn, c.tls = tc, &cs
	c.br.Reset(tc)
	return c.ehlo()
}

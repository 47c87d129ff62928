package esmtp

import (
	"postern.dev/postern/libmail/sasl"
)

// maxCommandLine is the longest command line a server must take, CRLF
// included (RFC 5321 §4.5.3.1.4).
const maxCommandLine = 512

const phaseAuth = "performing SASL authentication"

// Auth authenticates the session with sc's mechanism (RFC 4954 §4): AUTH
// with the initial response when the command line stays within 512
// octets, then one line for each 334 challenge, until the final reply.
// 235 is success; any other final reply comes back as a *Refusal (In
// "AUTH"), a failure of the connection as an *IOError. A challenge after
// the mechanism's last response is cancelled with "*" and comes back as
// an *AuthLoopError; the session is broken afterwards. Whether to
// authenticate, with what, and only inside TLS, is the caller's policy.
// The reply to AUTH and to each response is awaited within the Helo
// timeout.
func (c *Client) Auth(sc *sasl.Client) error {
	cmd := "AUTH " + sc.Mechanism()
	// The initial response goes after a space and before CRLF.
	if ir := sc.Start(maxCommandLine - len(cmd) - 3); ir != "" {
		cmd += " " + ir
	}
	r, err := c.command(cmd, c.cfg.Timeouts.Helo, phaseAuth)
	for err == nil && r.Code == 334 {
		resp, serr := sc.Next(r.Text)
		if serr != nil {
			// RFC 4954 §4: "*" cancels the exchange; the server answers
			// 501. Whatever it says, the exchange is over, and where the
			// server thinks it is, is not known.
			if _, err := c.command("*", c.cfg.Timeouts.Helo, phaseAuth); err != nil {
				return err
			}
			c.broken = true
			return &AuthLoopError{Relay: c.relay}
		}
		r, err = c.command(resp, c.cfg.Timeouts.Helo, phaseAuth)
	}
	if err != nil {
		return err
	}
	if r.Code != 235 {
		return &Refusal{Reply: r, In: "AUTH"}
	}
	return nil
}

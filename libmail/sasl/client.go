package sasl

import (
	"errors"
	"fmt"
	"strings"
)

// ErrSteps: the server sent a challenge after the client had said all
// its mechanism has to say. A client answers it with "*" (RFC 4954 §4)
// rather than guess; Postfix calls it an "authentication protocol loop".
var ErrSteps = errors.New("the server asks for more than the mechanism sends")

// Client is one exchange on the client side: what to send for the
// mechanism, line by line, base64-encoded, as RFC 4954 (SMTP AUTH)
// frames it. It does no I/O and never looks at what a challenge says:
// PLAIN's one is empty (RFC 4616 §2), and LOGIN's texts ("Username:",
// "Password:") are not to be relied on (draft-murchison-sasl-login §2.1),
// so the n-th challenge gets the n-th response. Not safe for concurrent
// use.
type Client struct {
	mech       string
	user, pass string
	sent       int // responses given, the initial one included
}

// NewClient begins an exchange with mech (Plain or Login, in any case)
// for user and pass. ErrMechanism for another mechanism; ErrMalformed
// for credentials the mechanism cannot carry: an empty user name or
// password (RFC 4616 §2's authcid and passwd are 1*SAFE), or a NUL,
// which would move PLAIN's field boundaries. The error never quotes
// the password.
func NewClient(mech, user, pass string) (*Client, error) {
	m := strings.ToUpper(mech)
	if m != Plain && m != Login {
		return nil, ErrMechanism
	}
	switch {
	case user == "":
		return nil, fmt.Errorf("%w: empty user name", ErrMalformed)
	case pass == "":
		return nil, fmt.Errorf("%w: empty password", ErrMalformed)
	case strings.IndexByte(user, 0) >= 0:
		return nil, fmt.Errorf("%w: NUL in the user name", ErrMalformed)
	case strings.IndexByte(pass, 0) >= 0:
		return nil, fmt.Errorf("%w: NUL in the password", ErrMalformed)
	}
	return &Client{mech: m, user: user, pass: pass}, nil
}

// Mechanism is the mechanism's name in upper case, as the AUTH command
// names it.
func (c *Client) Mechanism() string { return c.mech }

// Start returns the initial response to send on the command line, or ""
// for none. PLAIN has one (RFC 4616 §2, RFC 4954 §4), sent when it is at
// most max bytes long: a longer one would make the command line longer
// than the protocol allows, and RFC 4954 §4 then requires the client to
// wait for the (empty) challenge instead. LOGIN has none; its user name
// waits for the first challenge, as most clients and servers expect.
func (c *Client) Start(max int) string {
	if c.mech != Plain || c.sent > 0 {
		return ""
	}
	ir := encode(c.plainMessage())
	if len(ir) > max {
		return ""
	}
	c.sent++
	return ir
}

// Next answers a challenge (the text after "334 ") with the response
// line to send. After the mechanism's last response it returns ErrSteps.
func (c *Client) Next(challenge string) (string, error) {
	c.sent++
	switch {
	case c.mech == Plain && c.sent == 1:
		return encode(c.plainMessage()), nil
	case c.mech == Login && c.sent == 1:
		return encode(c.user), nil
	case c.mech == Login && c.sent == 2:
		return encode(c.pass), nil
	}
	return "", ErrSteps
}

// plainMessage is RFC 4616 §2's message with no authorization identity:
// the client acts as the user it authenticates as.
func (c *Client) plainMessage() string { return "\x00" + c.user + "\x00" + c.pass }

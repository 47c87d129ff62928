package login

import (
	"context"
	"strings"
	"time"

	"postern.dev/postern/libmail/ipc/anvil"
)

// Credentials are what a client offered to log in with.
type Credentials struct {
	// Mechanism: PLAIN or LOGIN (SASL, and IMAP's LOGIN command), USER
	// (POP3 USER/PASS).
	Mechanism string
	User      string
	Password  string
	// Tag is the IMAP command's tag; empty for POP3.
	Tag string
}

// Outcome is what became of a login attempt, for the Protocol to answer.
type Outcome int

const (
	// LoggedIn: the session service took the client and answers it; the
	// Protocol returns from Serve without a word.
	LoggedIn Outcome = iota
	// Failed: wrong credentials (already logged and waited for); the
	// Protocol says so and reads the next command.
	Failed
	// TryLater: the session could not be started (a system problem, not
	// counted as a failure); the Protocol says so with a temporary error.
	TryLater
	// Closing: the client is over login_auth_failure_limit; the Protocol
	// says goodbye and returns.
	Closing
)

// limited returns the client's address for anvil if a limit of n
// applies to it, "" if not (no anvil, no limit, an exempt client).
func (c *Client) limited(n int) string {
	if c.srv.limiter == nil || n <= 0 || c.exempt {
		return ""
	}
	return c.Addr().WithZone("").String()
}

// admit reports the new connection to anvil and refuses it (the
// Protocol's Refuse, and a log line for fail2ban) when its client has
// too many connections open or made too many.
func (c *Client) admit(ctx context.Context) bool {
	l := &c.srv.cfg.Limits
	client := c.limited(max(l.ConnCount, l.ConnRate))
	if client == "" {
		return true
	}
	r, release, ok := c.srv.limiter.Connect(ctx, client)
	if !ok {
		return true
	}
	c.release = release
	switch {
	case l.ConnCount > 0 && r.Client.Connections > l.ConnCount:
		c.limitLine("Connection concurrency", r.Client.Connections)
	case l.ConnRate > 0 && r.Client.ConnectRate > l.ConnRate:
		c.limitLine("Connection rate", r.Client.ConnectRate)
	default:
		return true
	}
	c.srv.proto.Refuse(c, "Too many connections from "+c.Addr().String())
	c.Flush()
	return false
}

// limitLine logs a refusal by a limit in the form fail2ban matches
// (the same as smtpd's).
func (c *Client) limitLine(what string, n int) {
	c.srv.log.Warn("%s limit exceeded: %d from %s for service %s", what, n, c.Label(), c.srv.cfg.Service)
}

// BeginAuth counts a login attempt, before any credentials are read. A
// client that has reached login_auth_failure_limit within the time unit
// is refused here (false: the Protocol says goodbye and returns), so
// that a password guessed after the limit is guessed too late.
func (c *Client) BeginAuth(ctx context.Context) bool {
	l := &c.srv.cfg.Limits
	client := c.limited(l.AuthFailures)
	if client == "" {
		return true
	}
	r, ok := c.srv.limiter.Count(ctx, anvil.Auth, client, "")
	if ok && r.Client.AuthFailures >= l.AuthFailures {
		c.limitLine("AUTH failure", r.Client.AuthFailures)
		return false
	}
	return true
}

// Authenticate hands the credentials, and with them the client, to the
// session service. On LoggedIn the client is the session's and the
// Protocol must not touch it again.
func (c *Client) Authenticate(ctx context.Context, cred Credentials) Outcome {
	r, err := c.handoff(ctx, cred)
	switch {
	case err != nil:
		c.srv.log.Warn("%s: %s login of %s not handed over: %v", c.Label(), c.srv.proto.Name(), printable(cred.User), err)
		return TryLater
	case r.Temp:
		c.srv.log.Warn("%s: %s login of %s: %s", c.Label(), c.srv.proto.Name(), printable(cred.User), r.Text)
		return TryLater
	case !r.OK:
		return c.fail(ctx, cred.Mechanism, "authentication failure, sasl_username="+printable(cred.User))
	}
	tls := ""
	if c.TLS() {
		tls = ", TLS"
	}
	// Dovecot's login line, with Postfix's warning-free form.
	c.srv.log.Info("Login: user=<%s>, method=%s, rip=%s, lip=%s, mpid=%d%s, service=%s",
		printable(r.User), cred.Mechanism, c.Addr(), c.local.Addr().Unmap(), r.PID, tls, c.srv.cfg.Service)
	return LoggedIn
}

// Failed counts an exchange that failed before there were credentials
// to check (a malformed SASL response): it is a guess too.
func (c *Client) Failed(ctx context.Context, mechanism, reason string) Outcome {
	return c.fail(ctx, mechanism, reason)
}

// fail logs a failed login in the form fail2ban's filter and Postfix's
// tools know, counts it, and waits before the Protocol answers: the
// wait doubles with each failure of the client within the time unit
// (or of this session, if more), up to login_auth_failure_max_delay.
func (c *Client) fail(ctx context.Context, mechanism, reason string) Outcome {
	what := "SASL " + mechanism
	if mechanism == "USER" {
		what = "USER"
	}
	c.srv.log.Warn("%s: %s authentication failed: %s", c.Label(), what, reason)
	c.failures++
	l := &c.srv.cfg.Limits
	n := c.failures
	if client := c.limited(l.AuthFailures); client != "" {
		if r, ok := c.srv.limiter.Count(ctx, anvil.AuthFailure, client, ""); ok {
			if r.Client.AuthFailures >= l.AuthFailures {
				c.limitLine("AUTH failure", r.Client.AuthFailures)
				return Closing
			}
			n = max(n, r.Client.AuthFailures)
		}
	}
	if c.exempt || l.AuthDelay <= 0 {
		return Failed
	}
	d := l.AuthDelay
	for i := 1; i < n && d < l.AuthMaxDelay; i++ {
		d *= 2
	}
	d = min(d, l.AuthMaxDelay, c.srv.cfg.Timeout)
	// The protocol's earlier replies (a "+" challenge) go out first.
	c.Flush()
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
	return Failed
}

// printable makes a user name safe for a log line.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

package smtpd

import (
	"context"
	"net/netip"
	"time"

	"postern.dev/postern/libmail/ipc/anvil"
)

// Client limits across processes, Postfix's anvil limits and postern's
// own for users and AUTH failures. Every smtpd process, whatever service
// it serves, reports its clients' events to the one anvil (a Limiter)
// and compares the counts it hears back with its own limits, so that a
// client's connections, mail and AUTH failures count together on every
// port, while a service may set its own limits.
//
// Refusals come only where nothing acknowledged can be lost: at connect
// (421 4.7.0, before the greeting), at MAIL (450 4.7.1, before the
// transaction), at RCPT (450 4.7.1, that recipient only; those accepted
// go on to DATA), and at AUTH (421 4.7.0: AUTH is refused inside a
// transaction, so no message is open). A Limiter that does not answer
// refuses nothing (fail open). Each refusal writes one warning line of a
// fixed form, the client's address in brackets after "from", which
// fail2ban matches (conf/fail2ban/postern.conf):
//
//	warning: Connection rate limit exceeded: 31 from host[192.0.2.1] for service smtp
//	warning: AUTH failure limit exceeded: 10 from host[192.0.2.1] for service submission
//
// A per-user limit adds ", sasl_username=USER" after the service.

// Limiter counts clients' events across every smtpd process;
// *anvil.Client implements it. ok is false when it cannot say, and the
// event is then allowed.
type Limiter interface {
	// Connect reports a new connection and returns the function that
	// reports its end.
	Connect(ctx context.Context, client string) (r anvil.Reply, release func(), ok bool)
	// Count reports an event of a client (empty: exempt) or a user
	// (empty: none) and returns the counts after it.
	Count(ctx context.Context, event, client, user string) (r anvil.Reply, ok bool)
}

// Limits are the limits on clients and users; 0 means no limit. Each
// field says its parameter.
type Limits struct {
	Exceptions      []netip.Prefix // smtpd_client_event_limit_exceptions
	ConnRate        int            // smtpd_client_connection_rate_limit
	MessageRate     int            // smtpd_client_message_rate_limit
	RcptRate        int            // smtpd_client_recipient_rate_limit
	AuthRate        int            // smtpd_client_auth_rate_limit
	UserMessageRate int            // smtpd_user_message_rate_limit
	UserRcptRate    int            // smtpd_user_recipient_rate_limit
	AuthFailures    int            // smtpd_auth_failure_limit
	AuthDelay       time.Duration  // smtpd_auth_failure_delay
	AuthMaxDelay    time.Duration  // smtpd_auth_failure_max_delay
}

// exempt reports whether no per-client limit applies to a.
func (l *Limits) exempt(a netip.Addr) bool {
	a = a.Unmap()
	for _, n := range l.Exceptions {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

// UseLimiter makes the server count its clients with l; call it before
// Serve. Without one, only smtpd_client_connection_count_limit holds,
// per process.
func (s *Server) UseLimiter(l Limiter) { s.limiter = l }

// limitLine logs one refusal in the form fail2ban matches.
func (c *conn) limitLine(what string, n int, user string) {
	if user != "" {
		c.srv.log.Warn("%s limit exceeded: %d from %s for service %s, sasl_username=%s", what, n, c.client.label(), c.srv.cfg.Service, printable(user))
		return
	}
	c.srv.log.Warn("%s limit exceeded: %d from %s for service %s", what, n, c.client.label(), c.srv.cfg.Service)
}

// limited returns the client's address for anvil if a client limit of n
// applies to it, and "" if not (no anvil, no limit, or an exempt
// client).
func (c *conn) limited(n int) string {
	if c.srv.limiter == nil || n <= 0 || c.client.exempt {
		return ""
	}
	return c.client.addr().Unmap().WithZone("").String()
}

// admit reports a new connection and refuses it, with 421 4.7.0 before
// the greeting, when its client has too many connections open or has
// made too many within the time unit.
func (c *conn) admit(ctx context.Context) bool {
	cl := c.srv.cfg.ClientConnLimit
	client := c.limited(max(cl, c.srv.cfg.Limits.ConnRate))
	if client == "" {
		return true
	}
	r, release, ok := c.srv.limiter.Connect(ctx, client)
	if !ok {
		return true
	}
	c.client.setRelease(release)
	switch {
	case cl > 0 && r.Client.Connections > cl:
		c.limitLine("Connection concurrency", r.Client.Connections, "")
	case c.srv.cfg.Limits.ConnRate > 0 && r.Client.ConnectRate > c.srv.cfg.Limits.ConnRate:
		c.limitLine("Connection rate", r.Client.ConnectRate, "")
	default:
		return true
	}
	c.writeReply(reply(421, "4.7.0", "%s Error: too many connections from %s", c.srv.cfg.Hostname, c.client.host))
	return false
}

// limitMessage counts a MAIL FROM about to be accepted against the
// client's and the user's message rate; over either, 450 4.7.1.
func (c *conn) limitMessage(ctx context.Context) *Reply {
	l := &c.srv.cfg.Limits
	r, client, user := c.countEvent(ctx, anvil.Message, l.MessageRate, l.UserMessageRate)
	switch {
	case client != "" && r.Client.Messages > l.MessageRate:
		c.limitLine("Message delivery request rate", r.Client.Messages, "")
		return reply(450, "4.7.1", "Error: too much mail from %s", c.client.host)
	case user != "" && r.User.Messages > l.UserMessageRate:
		c.limitLine("Message delivery request rate", r.User.Messages, user)
		return reply(450, "4.7.1", "Error: too much mail from %s", printable(user))
	}
	return nil
}

// limitRecipient counts a RCPT TO about to be accepted against the
// client's and the user's recipient rate; over either, 450 4.7.1.
func (c *conn) limitRecipient(ctx context.Context) *Reply {
	l := &c.srv.cfg.Limits
	r, client, user := c.countEvent(ctx, anvil.Recipient, l.RcptRate, l.UserRcptRate)
	switch {
	case client != "" && r.Client.Recipients > l.RcptRate:
		c.limitLine("Recipient address rate", r.Client.Recipients, "")
		return reply(450, "4.7.1", "Error: too many recipients from %s", c.client.host)
	case user != "" && r.User.Recipients > l.UserRcptRate:
		c.limitLine("Recipient address rate", r.User.Recipients, user)
		return reply(450, "4.7.1", "Error: too many recipients from %s", printable(user))
	}
	return nil
}

// countEvent reports a client's event, and the authenticated user's if a
// user limit applies, in one round trip. It returns the counts with the
// client and user it counted ("" for those it did not).
func (c *conn) countEvent(ctx context.Context, event string, clientLimit, userLimit int) (anvil.Reply, string, string) {
	client := c.limited(clientLimit)
	user := ""
	if c.srv.limiter != nil && userLimit > 0 {
		user = c.authUser
	}
	if client == "" && user == "" {
		return anvil.Reply{}, "", ""
	}
	r, ok := c.srv.limiter.Count(ctx, event, client, user)
	if !ok {
		return anvil.Reply{}, "", ""
	}
	return r, client, user
}

// limitAuth counts an AUTH command. A client that has reached
// smtpd_auth_failure_limit within the time unit gets 421 4.7.0 before
// its credentials are looked at, so that a password found after the
// limit is found too late; one over smtpd_client_auth_rate_limit gets
// 450 4.7.1 (Postfix's reply). closing says the session ends.
func (c *conn) limitAuth(ctx context.Context) (r *Reply, closing bool) {
	l := &c.srv.cfg.Limits
	client := c.limited(max(l.AuthRate, l.AuthFailures))
	if client == "" {
		return nil, false
	}
	counts, ok := c.srv.limiter.Count(ctx, anvil.Auth, client, "")
	switch {
	case !ok:
	case l.AuthFailures > 0 && counts.Client.AuthFailures >= l.AuthFailures:
		c.limitLine("AUTH failure", counts.Client.AuthFailures, "")
		return c.tooManyAuthFailures(), true
	case l.AuthRate > 0 && counts.Client.Auths > l.AuthRate:
		c.limitLine("AUTH command rate", counts.Client.Auths, "")
		return reply(450, "4.7.1", "Error: too many AUTH commands from %s", c.client.host), false
	}
	return nil, false
}

func (c *conn) tooManyAuthFailures() *Reply {
	return reply(421, "4.7.0", "%s Error: too many AUTH failures from %s", c.srv.cfg.Hostname, c.client.host)
}

// authFailed counts a failed AUTH exchange. If it brings the client to
// smtpd_auth_failure_limit it returns 421 4.7.0, and the session ends.
// Otherwise it waits before the caller answers 535: smtpd_auth_failure_delay,
// doubled for each earlier failure of the client within the time unit
// (or of this session, if more, so that a client anvil cannot count is
// slowed too), up to smtpd_auth_failure_max_delay and never longer than
// a client may wait for a reply. The wait holds only this session's
// goroutine, and ends with the session.
func (c *conn) authFailed(ctx context.Context) *Reply {
	c.authFailures++
	n := c.authFailures
	l := &c.srv.cfg.Limits
	// Failures are counted for the limit, and for the delay too.
	need := l.AuthFailures
	if l.AuthDelay > 0 {
		need = max(need, 1)
	}
	if client := c.limited(need); client != "" {
		if counts, ok := c.srv.limiter.Count(ctx, anvil.AuthFailure, client, ""); ok {
			if l.AuthFailures > 0 && counts.Client.AuthFailures >= l.AuthFailures {
				c.limitLine("AUTH failure", counts.Client.AuthFailures, "")
				return c.tooManyAuthFailures()
			}
			n = max(n, counts.Client.AuthFailures)
		}
	}
	if d := authDelay(l.AuthDelay, min(l.AuthMaxDelay, c.srv.timeout()), n); d > 0 && !c.client.exempt {
		// Replies already due (to commands pipelined before AUTH) go
		// out first; only the answer to the failure waits.
		c.flush()
		c.srv.sleep(ctx, d)
	}
	return nil
}

// authDelay is the wait before answering the nth failure: base doubled
// n-1 times, at most most.
func authDelay(base, most time.Duration, n int) time.Duration {
	if base <= 0 || n <= 0 {
		return 0
	}
	d := base
	for i := 1; i < n && d < most; i++ {
		d *= 2
	}
	return min(d, most)
}

// pause waits d, or until ctx ends.
func pause(ctx context.Context, d time.Duration) {
	if d <= 0 {
		return
	}
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-t.C:
	case <-ctx.Done():
	}
}

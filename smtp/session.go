package smtp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"postern.dev/postern/libmail/esmtp"
	"postern.dev/postern/libmail/intake"
	"postern.dev/postern/libmail/metrics"
	"postern.dev/postern/libmail/queue"
)

// connect opens a session with one address of a server under plan: TCP
// within smtp_connect_timeout, the greeting, EHLO, STARTTLS when the plan
// asks for it, EHLO again, and AUTH with cred when there is one. Any
// failure is the server's, not the recipients': the caller tries the
// next address.
func (a *Agent) connect(ctx context.Context, h *mxHost, addr netip.AddrPort, plan *tlsPlan, cred *credential) (*esmtp.Client, *failure) {
	c, f := a.open(ctx, h, addr, plan)
	if f != nil || cred == nil {
		return c, f
	}
	stop := context.AfterFunc(ctx, c.Abort)
	defer stop()
	if f := a.authenticate(c, cred); f != nil {
		c.Quit()
		return nil, f
	}
	return c, nil
}

// open is connect up to the point where the session is ready for AUTH.
func (a *Agent) open(ctx context.Context, h *mxHost, addr netip.AddrPort, plan *tlsPlan) (*esmtp.Client, *failure) {
	c, err := esmtp.Dial(ctx, a.dial, h.name, addr, &a.client, a.now())
	if err != nil {
		f := deferred("4.4.1", err.Error())
		f.unreachable, f.connect = true, true
		return nil, f
	}
	stop := context.AfterFunc(ctx, c.Abort)
	defer stop()
	if err := c.Greet(); err != nil {
		c.Quit()
		return nil, sessionFailure(c, err)
	}
	if plan.mode == tlsNone {
		return c, nil
	}
	if !c.Ext().StartTLS {
		if plan.mode == tlsMay {
			return c, nil
		}
		c.Quit()
		return nil, tlsFailure(c, "TLS is required, but was not offered by host "+c.Relay())
	}
	var check tlsCheck
	err = c.StartTLS(ctx, a.tlsConfig(plan, &check))
	var ref *esmtp.Refusal
	var hs *esmtp.HandshakeError
	switch {
	case err == nil:
		a.log.Info("%s", tlsSummary(check.trust, c.Relay(), c.TLS()))
		a.metrics.Inc(metrics.OutboundTLS, a.transport, intake.TLSVersion(c.TLS().Version))
		return c, nil
	case errors.As(err, &ref) && ref.In == "STARTTLS" && plan.mode == tlsMay:
		// Opportunistic: the server offered TLS and then declined; the
		// session goes on in plaintext, as Postfix's does.
		a.log.Info("host %s refused to start TLS: %s", c.Relay(), ref.Reply.String())
		return c, nil
	case errors.As(err, &ref) && ref.In == "STARTTLS":
		c.Quit()
		return nil, tlsFailure(c, fmt.Sprintf("TLS is required, but host %s refused to start TLS: %s", c.Relay(), ref.Reply.String()))
	case errors.As(err, &hs):
		c.Close()
		if check.err != nil {
			a.log.Info("server certificate verification failed for %s: %v", c.Relay(), check.err)
			return nil, tlsFailure(c, "Server certificate not verified")
		}
		a.log.Info("TLS handshake failed with %s: %v", c.Relay(), hs.Err)
		f := tlsFailure(c, "Cannot start TLS: handshake failure")
		f.plaintext = plan.mode == tlsMay
		return nil, f
	}
	c.Close()
	return nil, sessionFailure(c, err)
}

// tlsFailure defers a delivery whose TLS requirement this server does not
// meet (4.7.5, Postfix's code for "cannot start TLS").
func tlsFailure(c *esmtp.Client, why string) *failure {
	return &failure{status: queue.Deferred, dsn: "4.7.5", relay: c.Relay(), reply: why, unreachable: true}
}

// sessionFailure turns a failed greeting, EHLO or I/O error into the
// result for the recipients that were waiting. A refusal to talk is
// deferred even when the server said 5xx: another server, or this one
// later, may accept (as with a 554 greeting from a blocklisting server).
func sessionFailure(c *esmtp.Client, err error) *failure {
	var ref *esmtp.Refusal
	var ioe *esmtp.IOError
	switch {
	case errors.As(err, &ref):
		dsn := ref.Reply.DSN()
		dsn = "4" + dsn[1:]
		text := "host " + c.Relay() + " refused to talk to me: " + ref.Reply.String()
		if ref.In != "" {
			text += " (in reply to " + ref.In + " command)"
		}
		return &failure{status: queue.Deferred, dsn: dsn, relay: c.Relay(), reply: ref.Reply.String(), log: text, unreachable: true}
	case errors.As(err, &ioe):
		return &failure{status: queue.Deferred, dsn: "4.4.2", relay: c.Relay(), reply: ioe.Error(), unreachable: true}
	}
	return &failure{status: queue.Deferred, dsn: "4.4.2", relay: c.Relay(), reply: fmt.Sprintf("conversation with %s failed: %v", c.Relay(), err), unreachable: true}
}

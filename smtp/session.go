package smtp

import (
	"context"
	"errors"
	"fmt"
	"net/netip"

	"postern.dev/postern/libmail/queue"
)

// connect opens a session with one address of a server under plan: TCP
// within smtp_connect_timeout, the greeting, EHLO, STARTTLS when the plan
// asks for it, EHLO again. Any failure is the server's, not the
// recipients': the caller tries the next address.
func (a *Agent) connect(ctx context.Context, h *mxHost, addr netip.AddrPort, plan *tlsPlan) (*client, *failure) {
	relay := relayName(h.name, addr)
	dctx, cancel := context.WithTimeout(ctx, a.cfg.Timeouts.Connect)
	conn, err := a.dial(dctx, "tcp", addr.String())
	cancel()
	if err != nil {
		f := deferred("4.4.1", connectReason(relay, err))
		f.unreachable, f.connect = true, true
		return nil, f
	}
	c := newClient(conn, h.name, addr, a.cfg.HeloName, a.cfg.Timeouts, a.now())
	c.data = a.cfg.Content
	stop := context.AfterFunc(ctx, c.abort)
	defer stop()
	if err := c.greet(); err != nil {
		c.quit()
		return nil, c.sessionFailure(err)
	}
	if plan.mode == tlsNone {
		return c, nil
	}
	if !c.ext.startTLS {
		if plan.mode == tlsMay {
			return c, nil
		}
		c.quit()
		return nil, c.tlsFailure("TLS is required, but was not offered by host " + c.relay)
	}
	var check tlsCheck
	err = c.startTLS(ctx, a.tlsConfig(plan, &check))
	var ref *refusal
	var hs *handshakeError
	switch {
	case err == nil:
		a.log.Info("%s", tlsSummary(check.trust, c.relay, c.tls))
		return c, nil
	case errors.As(err, &ref) && ref.in == "STARTTLS" && plan.mode == tlsMay:
		// Opportunistic: the server offered TLS and then declined; the
		// session goes on in plaintext, as Postfix's does.
		a.log.Info("host %s refused to start TLS: %s", c.relay, ref.reply.String())
		return c, nil
	case errors.As(err, &ref) && ref.in == "STARTTLS":
		c.quit()
		return nil, c.tlsFailure(fmt.Sprintf("TLS is required, but host %s refused to start TLS: %s", c.relay, ref.reply.String()))
	case errors.As(err, &hs):
		c.close()
		if check.err != nil {
			a.log.Info("server certificate verification failed for %s: %v", c.relay, check.err)
			return nil, c.tlsFailure("Server certificate not verified")
		}
		a.log.Info("TLS handshake failed with %s: %v", c.relay, hs.err)
		f := c.tlsFailure("Cannot start TLS: handshake failure")
		f.plaintext = plan.mode == tlsMay
		return nil, f
	}
	c.close()
	return nil, c.sessionFailure(err)
}

// tlsFailure defers a delivery whose TLS requirement this server does not
// meet (4.7.5, Postfix's code for "cannot start TLS").
func (c *client) tlsFailure(why string) *failure {
	return &failure{status: queue.Deferred, dsn: "4.7.5", relay: c.relay, reply: why, unreachable: true}
}

// sessionFailure turns a failed greeting, EHLO or I/O error into the
// result for the recipients that were waiting. A refusal to talk is
// deferred even when the server said 5xx: another server, or this one
// later, may accept (as with a 554 greeting from a blocklisting server).
func (c *client) sessionFailure(err error) *failure {
	var ref *refusal
	var ioe *ioError
	switch {
	case errors.As(err, &ref):
		dsn := ref.reply.DSN()
		dsn = "4" + dsn[1:]
		text := "host " + c.relay + " refused to talk to me: " + ref.reply.String()
		if ref.in != "" {
			text += " (in reply to " + ref.in + " command)"
		}
		return &failure{status: queue.Deferred, dsn: dsn, relay: c.relay, reply: ref.reply.String(), log: text, unreachable: true}
	case errors.As(err, &ioe):
		return &failure{status: queue.Deferred, dsn: "4.4.2", relay: c.relay, reply: c.reason(ioe), unreachable: true}
	}
	return &failure{status: queue.Deferred, dsn: "4.4.2", relay: c.relay, reply: fmt.Sprintf("conversation with %s failed: %v", c.relay, err), unreachable: true}
}

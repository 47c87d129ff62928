package smtp

import (
	"crypto/sha256"
	"encoding/hex"
	"errors"
	"strings"

	"postern.dev/postern/libmail/esmtp"
	"postern.dev/postern/libmail/queue"
	"postern.dev/postern/libmail/sasl"
)

// credential is what the agent authenticates with to the servers of one
// nexthop.
type credential struct {
	sasl.Secret
	// id tells credentials apart in the connection cache's key without
	// putting the password there: a session authenticated as one user
	// is never handed to a delivery that would authenticate as another,
	// nor kept past a change of password in the file.
	id string
}

// credentialFor looks the nexthop up in smtp_sasl_password_maps: as
// written ("[relay.example.com]:587"), without its port
// ("[relay.example.com]"), and a [host] as its host ("relay.example.com",
// Postfix's lookup by server name, for the one server such a nexthop
// has). nil without smtp_sasl_auth_enable or an entry; a failure when
// the file cannot be used.
func (a *Agent) credentialFor(d destination) (*credential, *failure) {
	if a.passwords == nil {
		return nil, nil
	}
	tab, err := a.passwords.get()
	if err != nil {
		return nil, deferred("4.3.5", "mail system configuration error: smtp_sasl_password_maps: "+err.Error())
	}
	keys := []string{d.nexthop}
	if i := strings.LastIndexByte(d.nexthop, ':'); i > strings.LastIndexByte(d.nexthop, ']') {
		keys = append(keys, d.nexthop[:i])
	}
	if !d.mx {
		keys = append(keys, d.host)
	}
	s, _, ok := tab.Lookup(keys...)
	if !ok {
		return nil, nil
	}
	sum := sha256.Sum256([]byte(s.Username + "\x00" + s.Password))
	return &credential{Secret: s, id: hex.EncodeToString(sum[:8])}, nil
}

// authenticate logs session c in with cred (RFC 4954), after EHLO and
// STARTTLS. A server that offers no AUTH, or no mechanism the agent may
// use, gets the mail without, as from Postfix: whether it takes it is
// its call. The password goes out only inside TLS unless
// smtp_sasl_security_options allows otherwise; a session without TLS
// is then given up, and the mail deferred, rather than sent without the
// authentication it needs. Every failure defers, as Postfix does with
// its default smtp_sasl_auth_soft_bounce: a wrong password is corrected
// by the admin, and the mail should wait for that, not go back.
func (a *Agent) authenticate(c *esmtp.Client, cred *credential) *failure {
	ext := c.Ext()
	if ext.Auth == "" {
		return nil
	}
	mech := ""
	for _, m := range a.cfg.SASL.Mechanisms {
		if ext.OffersAuth(m) {
			mech = m
			break
		}
	}
	if mech == "" {
		a.log.Info("%s offered no supported AUTH mechanisms: '%s'", c.Relay(), ext.Auth)
		return nil
	}
	if c.TLS() == nil && !a.cfg.SASL.Plaintext {
		return authFailure(c, "4.7.0", "SASL authentication failed: server "+c.Relay()+
			" offered no compatible authentication mechanisms for this type of connection security"+
			" (no TLS: smtp_sasl_security_options keeps PLAIN and LOGIN, which send the password as it is, out of sessions without it)", "")
	}
	sc, err := sasl.NewClient(mech, cred.Username, cred.Password)
	if err != nil {
		// ParsePasswords refuses what NewClient would.
		return authFailure(c, "4.3.5", "SASL authentication failed; cannot authenticate to server "+c.Relay()+": "+err.Error(), "")
	}
	err = c.Auth(sc)
	var ref *esmtp.Refusal
	var loop *esmtp.AuthLoopError
	switch {
	case err == nil:
		return nil
	case errors.As(err, &ref):
		dsn := ref.Reply.DSN()
		reply := ref.Reply.String()
		return authFailure(c, "4"+dsn[1:], reply, "SASL authentication failed; server "+c.Relay()+" said: "+reply)
	case errors.As(err, &loop):
		return authFailure(c, "4.7.0", "SASL authentication failed; "+loop.Error(), "")
	}
	return sessionFailure(c, err)
}

// authFailure defers the recipients for a failed authentication with
// this server; the next server of the nexthop may do better, and as
// with a refused greeting the destination counts as unreachable, so
// that qmgr does not try one login per message against a server that
// refuses the password.
func authFailure(c *esmtp.Client, dsn, reply, log string) *failure {
	return &failure{status: queue.Deferred, dsn: dsn, relay: c.Relay(), reply: reply, log: log, unreachable: true}
}

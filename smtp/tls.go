package smtp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"net"
	"os"
	"strings"

	"postern.dev/postern/libmail/dns"
	"postern.dev/postern/smtp/dane"
)

// tlsMode is a TLS security level (smtp_tls_security_level).
type tlsMode int

const (
	tlsNone    tlsMode = iota // no STARTTLS
	tlsMay                    // STARTTLS when offered; plaintext when it fails
	tlsEncrypt                // TLS required, certificate not checked
	tlsVerify                 // TLS required, certificate valid for the server's name
	tlsDANE                   // TLS required, certificate matches the TLSA records
)

var tlsModes = map[string]tlsMode{"none": tlsNone, "may": tlsMay, "encrypt": tlsEncrypt, "verify": tlsVerify, "dane": tlsDANE}

func (m tlsMode) String() string {
	for k, v := range tlsModes {
		if v == m {
			return k
		}
	}
	return "unknown"
}

// tlsPolicy is the level a destination gets before its servers are
// known: "dane" here still depends on each server's TLSA records.
type tlsPolicy struct {
	mode     tlsMode
	explicit bool // from smtp_tls_policy_maps: MTA-STS does not apply
}

// policyFor looks the destination up in smtp_tls_policy_maps: the nexthop
// exactly as written ("[mx.example.net]:587", "example.org"), then, for a
// domain nexthop, the domain without a port and its parents as ".parent"
// (Postfix's parent_domain_matches_subdomains); else the default level.
func (a *Agent) policyFor(d destination) tlsPolicy {
	keys := []string{d.nexthop}
	if d.mx {
		keys = append(keys, d.host)
		for s := d.host; ; {
			i := strings.IndexByte(s, '.')
			if i < 0 {
				break
			}
			s = s[i+1:]
			keys = append(keys, "."+s)
		}
	}
	for _, k := range keys {
		for _, p := range a.cfg.TLSPolicies {
			if p.Pattern == k {
				return tlsPolicy{mode: tlsModes[p.Level], explicit: true}
			}
		}
	}
	return tlsPolicy{mode: tlsModes[a.cfg.TLSLevel]}
}

// tlsPlan is what one server gets: the level after DANE and MTA-STS had
// their say, and what to verify its certificate against.
type tlsPlan struct {
	mode       tlsMode
	names      []string   // reference identifiers; names[0] is also the SNI
	tlsa       []dns.TLSA // usable records, for tlsDANE
	stsTesting bool       // an MTA-STS policy in testing mode: log what enforce would refuse
	why        string     // what made TLS mandatory, for the log: "MTA-STS", "DANE"
}

// planHost decides the TLS of one server of d. A failure means the server
// must not be used (its TLSA records could not be looked up, or it is not
// an MX an enforced MTA-STS policy allows); the next one may do.
func (a *Agent) planHost(ctx context.Context, d destination, pol tlsPolicy, h *mxHost, sts *stsDecision) (tlsPlan, *failure) {
	p := tlsPlan{mode: pol.mode, names: []string{h.name}}
	if pol.mode == tlsDANE {
		p.mode = tlsMay
		if h.secure {
			recs, secure, err := a.res.LookupTLSA(ctx, d.port, h.name)
			switch {
			case err != nil && !dns.IsNotFound(err):
				return p, unusable(fmt.Sprintf("TLSA lookup error for %s:%d", h.name, d.port))
			case err == nil && secure && len(recs) > 0:
				if usable := dane.Usable(recs); len(usable) > 0 {
					p.mode, p.tlsa, p.why = tlsDANE, usable, "DANE"
					if h.name != d.host {
						p.names = append(p.names, d.host)
					}
				} else {
					// RFC 7672 §2.2: records exist but none can be used:
					// TLS is still mandatory, only unauthenticated.
					p.mode = tlsEncrypt
				}
			}
		}
	}
	if sts != nil && p.mode != tlsDANE {
		switch {
		case sts.enforce && !sts.match(h.name):
			return p, unusable(fmt.Sprintf("MX host %s does not match the MTA-STS policy of %s", h.name, d.host))
		case sts.enforce:
			p.mode, p.why = tlsVerify, "MTA-STS"
		case sts.testing && sts.match(h.name):
			p.stsTesting = true
		case sts.testing:
			a.log.Info("MTA-STS policy of %s (testing): MX host %s does not match the policy", d.host, h.name)
		}
	}
	return p, nil
}

// unusable defers a delivery for a server that may not be used.
func unusable(why string) *failure {
	f := deferred("4.7.5", why)
	f.unreachable = true
	return f
}

// tlsCheck is what the verification of one handshake found.
type tlsCheck struct {
	trust string // "Verified", "Trusted" or "Untrusted", as Postfix logs it
	err   error  // why the certificate failed a required check
}

// tlsConfig returns the client configuration for a server under plan.
// The built-in verification is off in every mode: the callback does it,
// so that a session at any level can log how far the certificate is
// trusted, and a required check fails the handshake.
func (a *Agent) tlsConfig(plan *tlsPlan, check *tlsCheck) *tls.Config {
	c := &tls.Config{
		InsecureSkipVerify: true, // verifyPeer decides, by plan
		ClientSessionCache: a.tlsSessions,
		MinVersion:         tls.VersionTLS12,
		VerifyConnection:   func(cs tls.ConnectionState) error { return a.verifyPeer(plan, &cs, check) },
	}
	if plan.mode <= tlsEncrypt {
		// Opportunistic TLS: an old server's TLS 1.0 beats plaintext.
		c.MinVersion = tls.VersionTLS10
	}
	if len(plan.names) > 0 && net.ParseIP(plan.names[0]) == nil {
		c.ServerName = plan.names[0]
	}
	return c
}

// verifyPeer checks the server's certificate as plan requires.
func (a *Agent) verifyPeer(plan *tlsPlan, cs *tls.ConnectionState, check *tlsCheck) error {
	if plan.mode == tlsDANE {
		if err := dane.Verify(cs, plan.tlsa, plan.names, a.now()); err != nil {
			check.trust, check.err = "Untrusted", err
			return err
		}
		check.trust = "Verified"
		return nil
	}
	var err error
	check.trust, err = a.webPKI(cs, plan.names)
	if plan.mode == tlsVerify && check.trust != "Verified" {
		check.err = err
		return err
	}
	if plan.stsTesting && check.trust != "Verified" {
		a.log.Info("MTA-STS policy (testing): certificate of %s would not be accepted: %v", plan.names[0], err)
	}
	return nil
}

// webPKI classifies a certificate chain: "Verified" when it chains to a
// trusted root and names the server, "Trusted" when it only chains,
// "Untrusted" otherwise; err says what failed.
func (a *Agent) webPKI(cs *tls.ConnectionState, names []string) (string, error) {
	if len(cs.PeerCertificates) == 0 {
		return "Untrusted", errors.New("no server certificate")
	}
	leaf := cs.PeerCertificates[0]
	inter := x509.NewCertPool()
	for _, c := range cs.PeerCertificates[1:] {
		inter.AddCert(c)
	}
	if _, err := leaf.Verify(x509.VerifyOptions{Roots: a.roots, Intermediates: inter, CurrentTime: a.now()}); err != nil {
		return "Untrusted", err
	}
	var err error = errors.New("no name to match the certificate against")
	for _, n := range names {
		if err = leaf.VerifyHostname(n); err == nil {
			return "Verified", nil
		}
	}
	return "Trusted", err
}

// tlsSummary is the log line of an established TLS session, in
// Postfix's words.
func tlsSummary(trust, relay string, cs *tls.ConnectionState) string {
	v := strings.Replace(tls.VersionName(cs.Version), "TLS ", "TLSv", 1)
	return fmt.Sprintf("%s TLS connection established to %s: %s with cipher %s", trust, relay, v, tls.CipherSuiteName(cs.CipherSuite))
}

// LoadRoots returns the system's trusted roots plus those in caFile
// (smtp_tls_CAfile), for verify and MTA-STS.
func LoadRoots(caFile string) (*x509.CertPool, error) {
	pool, err := x509.SystemCertPool()
	if err != nil || pool == nil {
		pool = x509.NewCertPool()
	}
	if caFile == "" {
		return pool, nil
	}
	pem, err := os.ReadFile(caFile)
	if err != nil {
		return nil, fmt.Errorf("smtp_tls_CAfile: %w", err)
	}
	if !pool.AppendCertsFromPEM(pem) {
		return nil, fmt.Errorf("smtp_tls_CAfile %s: no certificates", caFile)
	}
	return pool, nil
}

package smtp

import (
	"context"

	"postern.dev/postern/smtp/mtasts"
)

// STSFetcher gives the MTA-STS policy of a domain, nil when it has none:
// an *mtasts.Fetcher, which caches policies across requests.
type STSFetcher interface {
	Get(ctx context.Context, domain string) (*mtasts.Policy, error)
}

// stsDecision is the MTA-STS policy that applies to one delivery.
type stsDecision struct {
	enforce, testing bool
	policy           *mtasts.Policy
}

func (s *stsDecision) match(host string) bool { return s.policy.Match(host) }

// stsFor returns the MTA-STS policy for d, if MTA-STS applies: it is
// enabled, d is a domain (an MX lookup, not a [host] or relay), and
// smtp_tls_policy_maps says nothing about d, since an administrator's
// explicit policy wins. Whether DANE wins for a server is decided per
// server (planHost): RFC 8461 §2 lets DNSSEC-validated TLSA records
// take precedence.
func (a *Agent) stsFor(ctx context.Context, d destination, pol tlsPolicy) *stsDecision {
	if a.sts == nil || pol.explicit || !d.mx {
		return nil
	}
	p, err := a.sts.Get(ctx, d.host)
	if err != nil {
		// No policy could be determined (and none is cached): deliver as
		// if there were none, as RFC 8461 §5 has senders do.
		a.log.Warn("MTA-STS policy for %s: %v", d.host, err)
		return nil
	}
	if p == nil {
		return nil
	}
	switch p.Mode {
	case mtasts.ModeEnforce:
		return &stsDecision{enforce: true, policy: p}
	case mtasts.ModeTesting:
		return &stsDecision{testing: true, policy: p}
	}
	return nil
}

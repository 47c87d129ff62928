package dmarc

import (
	"context"

	"postern.dev/postern/libmail/dns"
)

// Published is the DMARC policy that governs a domain's mail, as a
// receiver discovers it (RFC 7489 §6.6.3). `postern dns check` shows it
// to the domain's administrator, judged by the same discovery and
// parsing that smtpd applies to incoming mail, so that what the check
// calls correct is what postern itself would act on.
type Published struct {
	// At is the domain whose _dmarc record applies: the domain asked
	// about, or its Organizational Domain when it has none of its own.
	At string
	// Policy is what the record asks for the domain's mail: p=, or sp=
	// when the record is the Organizational Domain's and has one.
	Policy Policy
	// Pct is pct=, 100 when absent.
	Pct int
	// Aggregate are the rua= URIs.
	Aggregate []string
}

// Lookup returns the policy that governs d's mail. When none does, it
// returns nil with the verdict a message from d would get (None: no
// record; TempError: the lookup failed; PermError: several records, or
// one without a usable policy) and the reason; with a policy, the
// verdict and reason are empty.
func Lookup(ctx context.Context, r dns.Resolver, d string) (*Published, Verdict, string) {
	d = domain(d)
	f := discover(ctx, r, d)
	if f.rec == nil {
		return nil, f.verdict, f.reason
	}
	p := &Published{At: f.at, Policy: Policy(f.rec.Policy), Pct: 100, Aggregate: f.rec.ReportURIAggregate}
	if f.at != d && f.rec.SubdomainPolicy != "" {
		p.Policy = Policy(f.rec.SubdomainPolicy)
	}
	if f.rec.Percent != nil {
		p.Pct = *f.rec.Percent
	}
	return p, "", ""
}

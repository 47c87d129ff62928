package dmarc

import (
	"context"
	"fmt"

	msgdmarc "github.com/emersion/go-msgauth/dmarc"

	"postern.dev/postern/libmail/dns"
)

// found is the outcome of policy discovery for one author domain: the
// record and where it was, or, when there is none to apply, the verdict
// and why (rec is nil).
type found struct {
	rec     *msgdmarc.Record
	at      string // the domain whose _dmarc record it is
	verdict Verdict
	reason  string
}

// discover finds the DMARC record that governs author domain d (RFC 7489
// §6.6.3): d's own, else, if d has none, its Organizational Domain's.
// Only the answer "no such record" moves on to the Organizational Domain;
// a failed lookup (timeout, SERVFAIL) is a temperror, since the record
// may well exist (the RFC leaves DNS errors to the receiver; a temperror
// keeps the mail, which must never be lost or bounced for it). Several
// DMARC records at one name end discovery without a policy (step 5,
// "DMARC processing is not applied"): a permerror, which applies nothing
// but tells the reader why.
func discover(ctx context.Context, r dns.Resolver, d string) found {
	at := d
	recs, err := lookup(ctx, r, at)
	if err == nil && len(recs) == 0 {
		if org := OrgDomain(d); org != d {
			at = org
			recs, err = lookup(ctx, r, at)
		}
	}
	switch {
	case err != nil:
		return found{verdict: TempError, reason: fmt.Sprintf("looking up the DMARC record of %s: %v", at, err)}
	case len(recs) == 0:
		return found{verdict: None, reason: "no DMARC record for " + d}
	case len(recs) > 1:
		return found{verdict: PermError, reason: fmt.Sprintf("%d DMARC records at _dmarc.%s", len(recs), at)}
	}
	rec, err := parseRecord(recs[0])
	if err != nil {
		return found{verdict: PermError, reason: fmt.Sprintf("DMARC record at _dmarc.%s unusable: %v", at, err)}
	}
	return found{rec: rec, at: at}
}

// lookup returns the DMARC records at _dmarc.d: its TXT records that are
// DMARC records (isRecord), none when the name or its TXT records do not
// exist, and an error when the lookup failed.
func lookup(ctx context.Context, r dns.Resolver, d string) ([]string, error) {
	txts, err := r.LookupTXT(ctx, "_dmarc."+d)
	if dns.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, err
	}
	var recs []string
	for _, t := range txts {
		if isRecord(t) {
			recs = append(recs, t)
		}
	}
	return recs, nil
}

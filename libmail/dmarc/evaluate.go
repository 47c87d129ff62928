package dmarc

import (
	"context"
	"fmt"
	"slices"

	"github.com/emersion/go-msgauth/authres"
	msgdmarc "github.com/emersion/go-msgauth/dmarc"

	"postern.dev/postern/libmail/dns"
)

// Verdict is the DMARC result, as Authentication-Results writes it
// (dmarc= values, RFC 7489 §11.2).
type Verdict string

const (
	// Pass: a record applies and SPF or DKIM passed for an identifier
	// aligned with the author domain.
	Pass Verdict = "pass"
	// Fail: a record applies and nothing aligned passed.
	Fail Verdict = "fail"
	// None: no record applies (none published, or no author domain).
	None Verdict = "none"
	// TempError: a DNS lookup failed (the record's, or an aligned SPF or
	// DKIM check's), and nothing aligned passed; asking later may pass.
	TempError Verdict = "temperror"
	// PermError: the record is unusable (no valid policy, several
	// records), or the message has too many author domains.
	PermError Verdict = "permerror"
)

// Policy is what a domain asks receivers to do with mail that fails
// DMARC (RFC 7489 §6.3 p= and sp=), from mildest to strictest.
type Policy string

const (
	PolicyNone       Policy = "none"
	PolicyQuarantine Policy = "quarantine"
	PolicyReject     Policy = "reject"
)

func (p Policy) rank() int {
	switch p {
	case PolicyQuarantine:
		return 1
	case PolicyReject:
		return 2
	}
	return 0
}

// lower is the next milder policy, which a message pct= did not sample
// gets (RFC 7489 §6.6.4): reject becomes quarantine, quarantine none.
func (p Policy) lower() Policy {
	switch p {
	case PolicyReject:
		return PolicyQuarantine
	}
	return PolicyNone
}

// DKIM is one DKIM signature's verification result.
type DKIM struct {
	Domain string              // its d=
	Result authres.ResultValue // pass, fail, temperror, permerror, ...
}

// Input is what DMARC judges a message by.
type Input struct {
	// From is the author domains: the domains of the RFC5322.From
	// addresses, as AuthorDomains finds them.
	From []string
	// SPF is the SPF result for SPFDomain, the RFC5321.MailFrom domain,
	// or the HELO identity when MAIL FROM was null (RFC 7489 §4.1 via
	// RFC 7208 §2.4). "" counts as none.
	SPF       authres.ResultValue
	SPFDomain string
	// DKIM is every signature's result (RFC 7489 §4.1: any one of them
	// passing with an aligned d= is enough).
	DKIM []DKIM
}

// Result is the DMARC outcome for a message.
type Result struct {
	Verdict Verdict
	// Policy is what to do with the message: the record's policy for a
	// Fail, lowered once if pct= did not sample it; PolicyNone for any
	// other verdict, except the one PermError that refuses a message
	// with more author domains than MaxAuthorDomains (PolicyReject).
	Policy Policy
	// Domain is the author domain judged (A-labels, lower case); with
	// several, the one whose result decides (see Evaluate).
	Domain string
	// RecordDomain is where the record was found: Domain or its
	// Organizational Domain; "" when no record applies.
	RecordDomain string
	// P and SP are the record's p= and sp= (SP "" when absent);
	// Published is the one that applies to Domain: sp= when the record
	// is its Organizational Domain's and has one, else p=.
	P, SP, Published Policy
	// Pct is the record's pct= (100 when absent); Sampled says whether
	// this message was among the pct percent a failure's policy applies
	// to in full (always true at 100).
	Pct     int
	Sampled bool
	// SPFAligned and DKIMAligned say which passing, aligned identifier
	// made the message pass.
	SPFAligned, DKIMAligned bool
	// Reason says why, in one line of ASCII: for a Fail it is meant for
	// the text of a "550 5.7.1" reply.
	Reason string
}

// Sampler draws the numbers that pct= sampling needs (RFC 7489 §6.6.4):
// IntN(n) returns a number in [0, n). math/rand/v2's *Rand is one; it is
// not safe for concurrent use, so each goroutine needs its own or a lock.
// A nil Sampler samples every message (the policy applies in full).
type Sampler interface {
	IntN(n int) int
}

// MaxAuthorDomains bounds the author domains evaluated for one message:
// each costs up to two DNS lookups. A message naming more is refused
// (PermError with PolicyReject) rather than judged on some of them, which
// would let a forger hide a domain past the limit. DMARC's revision
// (draft-ietf-dmarc-dmarcbis, on multi-valued RFC5322.From fields) finds
// most such messages abusive, lets a receiver refuse them before any
// DMARC processing, and advises limiting the domains processed.
const MaxAuthorDomains = 10

// Evaluate applies DMARC (RFC 7489 §6.6) to a message: for each author
// domain, policy discovery through r (§6.6.3), identifier alignment of
// the SPF and DKIM results (§3.1), and the policy a failure gets (§6.6.2,
// with pct= sampling drawn from s, §6.6.4).
//
// A message with several author domains (several addresses in From:, or
// several From: fields, which RFC 5322 forbids but MUAs display) is
// judged for each, and "the most strict policy selected among the checks
// that fail" applies (RFC 7489 §6.6.1): the Result is that of the domain
// that decides, the first failure with the strictest policy; without a
// failure, the first temperror, permerror, pass, in that order. So a
// second From: cannot carry a forged domain past its policy. A message
// without an author domain (no From:, or no domain in it) gets None; RFC
// 7489 §6.6.1 leaves such messages, which RFC 5322 forbids, to the
// receiver.
func Evaluate(ctx context.Context, r dns.Resolver, in Input, s Sampler) Result {
	var authors []string
	for _, f := range in.From {
		if d := domain(f); d != "" && !slices.Contains(authors, d) {
			authors = append(authors, d)
		}
	}
	switch {
	case len(authors) == 0:
		return Result{Verdict: None, Policy: PolicyNone, Reason: "no author domain in From:"}
	case len(authors) > MaxAuthorDomains:
		return Result{Verdict: PermError, Policy: PolicyReject, Domain: authors[0],
			Reason: fmt.Sprintf("%d author domains in From:, more than the %d evaluated", len(authors), MaxAuthorDomains)}
	}
	var best Result
	for i, d := range authors {
		res := evaluate(ctx, r, in, d, s)
		if i == 0 || weight(res) > weight(best) {
			best = res
		}
	}
	return best
}

// weight orders results by how much they decide: any failure over the
// rest, a stricter policy over a milder one, then temperror, permerror,
// pass and none.
func weight(r Result) int {
	switch r.Verdict {
	case Fail:
		return 10 + r.Policy.rank()
	case TempError:
		return 4
	case PermError:
		return 3
	case Pass:
		return 2
	}
	return 1
}

// evaluate judges the message for one author domain d.
func evaluate(ctx context.Context, r dns.Resolver, in Input, d string, s Sampler) Result {
	res := Result{Domain: d, Policy: PolicyNone}
	f := discover(ctx, r, d)
	if f.rec == nil {
		res.Verdict, res.Reason = f.verdict, f.reason
		return res
	}
	rec := f.rec
	res.RecordDomain = f.at
	res.P, res.SP = Policy(rec.Policy), Policy(rec.SubdomainPolicy)
	res.Published = res.P
	if f.at != d && res.SP != "" {
		res.Published = res.SP // RFC 7489 §6.3 sp=: for the subdomains of the record's domain
	}
	res.Pct = 100
	if rec.Percent != nil {
		res.Pct = *rec.Percent
	}

	strictSPF := rec.SPFAlignment == msgdmarc.AlignmentStrict
	strictDKIM := rec.DKIMAlignment == msgdmarc.AlignmentStrict
	spfDomain := domain(in.SPFDomain)
	spfAligned := aligned(strictSPF, d, spfDomain)
	res.SPFAligned = in.SPF == authres.ResultPass && spfAligned
	temp := in.SPF == authres.ResultTempError && spfAligned
	var dkimPassed string
	for _, k := range in.DKIM {
		kd := domain(k.Domain)
		if !aligned(strictDKIM, d, kd) {
			continue
		}
		switch k.Result {
		case authres.ResultPass:
			if !res.DKIMAligned {
				res.DKIMAligned, dkimPassed = true, kd
			}
		case authres.ResultTempError:
			temp = true
		}
	}

	switch {
	case res.SPFAligned || res.DKIMAligned:
		res.Verdict, res.Sampled = Pass, true
		if res.DKIMAligned {
			res.Reason = fmt.Sprintf("DKIM signature of %s aligned with From: domain %s passed", dkimPassed, d)
		} else {
			res.Reason = fmt.Sprintf("SPF for %s aligned with From: domain %s passed", spfDomain, d)
		}
	case temp:
		// A DNS failure behind an aligned SPF or DKIM check: the message
		// might pass when asked again, so it is not failed (and never
		// rejected) for it.
		res.Verdict, res.Sampled = TempError, true
		res.Reason = fmt.Sprintf("SPF or DKIM aligned with From: domain %s could not be checked (temporary DNS failure)", d)
	default:
		res.Verdict = Fail
		res.Policy = res.Published
		res.Sampled = res.Pct >= 100 || s == nil || (res.Pct > 0 && s.IntN(100) < res.Pct)
		if !res.Sampled {
			res.Policy = res.Published.lower()
		}
		res.Reason = fmt.Sprintf("From: domain %s fails its DMARC policy (p=%s): no SPF or DKIM pass aligned with it", d, res.Published)
	}
	return res
}

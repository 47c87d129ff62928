package spf

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"

	"postern.dev/postern/libmail/dns"
)

// The processing limits of RFC 7208 §4.6.4.
const (
	// maxLookups is how many terms that query DNS (include, a, mx, ptr,
	// exists, redirect) one check may evaluate; one more is permerror.
	maxLookups = 10
	// maxVoid is how many of them may find nothing (NXDOMAIN or no
	// records); one more is permerror. The RFC recommends two.
	maxVoid = 2
	// maxMX is how many MX records an mx mechanism looks at; more is
	// permerror.
	maxMX = 10
	// maxPTR is how many PTR names ptr and %{p} validate; the rest are
	// ignored (the client's owner controls them, not the domain).
	maxPTR = 10
)

// eval is the state of one check: the client and sender, and the limits
// counted across include and redirect.
type eval struct {
	ctx     context.Context
	r       dns.Resolver
	ip      netip.Addr // never IPv4-mapped (RFC 7208 §5: such a client is IPv4)
	env     macroEnv
	lookups int // terms that queried DNS
	voids   int // lookups that found nothing

	ptrDone   bool
	ptrNames  []string // the validated names of ip, once looked up
	ptrFailed bool     // the PTR lookup itself failed
}

// outcome is what check_host() returns inside a check.
type outcome struct {
	verdict Verdict
	mech    string      // the directive that decided
	reason  string      // why, when no directive did
	exp     macroString // the exp= of the record that decided a Fail
	domain  string      // the domain of that record, for %{d} in exp
}

func errOutcome(v Verdict, format string, args ...any) outcome {
	return outcome{verdict: v, reason: fmt.Sprintf(format, args...)}
}

// stop is an outcome that ends the check from within a term.
func stop(v Verdict, format string, args ...any) *outcome {
	o := errOutcome(v, format, args...)
	return &o
}

// checkHost is check_host() (RFC 7208 §4) for one domain: the top one,
// or the target of include or redirect.
func (e *eval) checkHost(domain string) outcome {
	domain = strings.TrimSuffix(domain, ".")
	if !validName(domain) || !strings.Contains(domain, ".") {
		// RFC 7208 §4.3.
		return errOutcome(None, "%q is not a domain name", domain)
	}
	txts, err := e.r.LookupTXT(e.ctx, domain)
	switch {
	case dns.IsNotFound(err):
		return errOutcome(None, "no SPF record at %s", domain)
	case err != nil:
		// RFC 7208 §4.4: any other failure to get an answer.
		return errOutcome(TempError, "%v", err)
	}
	var spf []string
	for _, t := range txts {
		if isRecord(t) {
			spf = append(spf, t)
		}
	}
	switch len(spf) {
	case 0:
		return errOutcome(None, "no SPF record at %s", domain)
	case 1:
	default:
		// RFC 7208 §4.5.
		return errOutcome(PermError, "%d SPF records at %s", len(spf), domain)
	}
	rec, err := parseRecord(spf[0])
	if err != nil {
		return errOutcome(PermError, "SPF record at %s: %v", domain, err)
	}

	for _, d := range rec.directives {
		if err := e.ctx.Err(); err != nil {
			return errOutcome(TempError, "%v", err)
		}
		matched, end := e.match(d, domain)
		if end != nil {
			return *end
		}
		if matched {
			o := outcome{verdict: d.result, mech: d.text}
			if d.result == Fail {
				o.exp, o.domain = rec.exp, domain
			}
			return o
		}
	}

	if rec.redirect != nil {
		// RFC 7208 §6.1: the target's result is the result, and its
		// exp=, not this record's, explains a Fail; no record there
		// is an error.
		if end := e.count("redirect"); end != nil {
			return *end
		}
		target := e.target(rec.redirect, domain)
		o := e.checkHost(target)
		if o.verdict == None {
			return errOutcome(PermError, "redirect=%s: %s", target, o.reason)
		}
		return o
	}
	// RFC 7208 §4.7.
	return outcome{verdict: Neutral, reason: fmt.Sprintf("no mechanism of %s matched", domain)}
}

// count counts one term that queries DNS, and returns PermError when
// that is one too many (RFC 7208 §4.6.4), else nil.
func (e *eval) count(term string) *outcome {
	e.lookups++
	if e.lookups > maxLookups {
		return stop(PermError, "%s: more than %d DNS-querying terms", term, maxLookups)
	}
	return nil
}

// void counts a lookup of a term that found nothing, and returns
// PermError when that is one too many, else nil.
func (e *eval) void(term string) *outcome {
	e.voids++
	if e.voids > maxVoid {
		return stop(PermError, "%s: more than %d lookups found nothing", term, maxVoid)
	}
	return nil
}

// target expands a domain-spec in the context of domain into a name to
// look up.
func (e *eval) target(m macroString, domain string) string {
	env := e.env
	env.domain = domain
	return targetName(m.expand(&env))
}

// match evaluates one mechanism (RFC 7208 §5). It returns whether it
// matched, or, not nil, the outcome that ends the check.
func (e *eval) match(d directive, domain string) (bool, *outcome) {
	switch d.mech {
	case "all":
		return true, nil
	case "ip4", "ip6":
		return d.network.Contains(e.ip), nil
	}
	if end := e.count(d.text); end != nil {
		return false, end
	}
	name := domain
	if d.domain != nil {
		name = e.target(d.domain, domain)
	}
	switch d.mech {
	case "include":
		return e.include(d, name)
	case "a":
		addrs, err := e.addrs(name)
		if end := e.failed(d, err); end != nil {
			return false, end
		}
		return e.contains(addrs, d), nil
	case "mx":
		return e.mx(d, name)
	case "ptr":
		return e.ptr(d, name)
	case "exists":
		// RFC 7208 §5.7: an A query whatever the client's family.
		addrs, err := e.lookupA(name)
		if end := e.failed(d, err); end != nil {
			return false, end
		}
		return len(addrs) > 0, nil
	}
	return false, stop(PermError, "unknown mechanism %q", d.mech)
}

// failed judges the error of a term's lookup: nothing found counts as
// void and the term does not match; any other failure is TempError (RFC
// 7208 §5). It returns the outcome that ends the check, or nil.
func (e *eval) failed(d directive, err error) *outcome {
	switch {
	case err == nil:
		return nil
	case dns.IsNotFound(err):
		return e.void(d.text)
	}
	return stop(TempError, "%s: %v", d.text, err)
}

// addrs looks up the addresses of name in the client's family: A for an
// IPv4 client, AAAA for IPv6 (RFC 7208 §5).
func (e *eval) addrs(name string) ([]netip.Addr, error) {
	if e.ip.Is4() {
		return e.lookupA(name)
	}
	if !validName(name) {
		return nil, invalid(name, "AAAA")
	}
	addrs, _, err := e.r.LookupAAAA(e.ctx, name)
	return addrs, err
}

func (e *eval) lookupA(name string) ([]netip.Addr, error) {
	if !validName(name) {
		return nil, invalid(name, "A")
	}
	addrs, _, err := e.r.LookupA(e.ctx, name)
	return addrs, err
}

// invalid is the error for a name no DNS question can be made of (from
// a macro expansion, say): it is taken as a name that does not exist,
// as RFC 7208 §4.3 takes a malformed <domain>.
func invalid(name, typ string) error {
	return &dns.Error{Name: name, Type: typ, NotFound: true, Err: errors.New("not a valid domain name")}
}

// contains reports whether one of addrs, widened to the prefix lengths
// of d, holds the client.
func (e *eval) contains(addrs []netip.Addr, d directive) bool {
	bits := d.cidr6
	if e.ip.Is4() {
		bits = d.cidr4
	}
	for _, a := range addrs {
		a = a.Unmap()
		if a.Is4() != e.ip.Is4() {
			continue
		}
		if p, err := a.Prefix(bits); err == nil && p.Contains(e.ip) {
			return true
		}
	}
	return false
}

// include evaluates include (RFC 7208 §5.2): it matches when the
// target's result is pass.
func (e *eval) include(d directive, name string) (bool, *outcome) {
	o := e.checkHost(name)
	switch o.verdict {
	case Pass:
		return true, nil
	case Fail, SoftFail, Neutral:
		return false, nil
	case None:
		return false, stop(PermError, "%s: %s", d.text, o.reason)
	}
	// TempError and PermError end the check, reported as they came.
	return false, &o
}

// mx evaluates mx (RFC 7208 §5.4): the addresses of the name's MX hosts,
// never the name's own when it has no MX (no implicit MX). §5 would
// end the mechanism with TempError at the first host whose lookup
// fails; here a match among the other hosts wins, since it is certain
// whatever the failed ones say, and the result does not depend on the
// order in which the resolver gave the records.
func (e *eval) mx(d directive, name string) (bool, *outcome) {
	var mxs []dns.MX
	err := invalid(name, "MX")
	if validName(name) {
		mxs, _, err = e.r.LookupMX(e.ctx, name)
	}
	if err != nil {
		return false, e.failed(d, err)
	}
	if len(mxs) > maxMX {
		return false, stop(PermError, "%s: %d MX records, more than %d", d.text, len(mxs), maxMX)
	}
	var tempErr error
	for _, mx := range mxs {
		if mx.Host == "" {
			continue // a null MX (RFC 7505) names no host
		}
		addrs, err := e.addrs(mx.Host)
		if err != nil {
			if !dns.IsNotFound(err) && tempErr == nil {
				tempErr = err
			}
			continue
		}
		if e.contains(addrs, d) {
			return true, nil
		}
	}
	if tempErr != nil {
		return false, stop(TempError, "%s: %v", d.text, tempErr)
	}
	return false, nil
}

// ptr evaluates ptr (RFC 7208 §5.5): a validated name of the client is
// name or below it. A failed PTR lookup is no match, not an error.
func (e *eval) ptr(d directive, name string) (bool, *outcome) {
	names, void := e.validatedNames()
	if void {
		if end := e.void(d.text); end != nil {
			return false, end
		}
	}
	for _, n := range names {
		if isSubdomain(n, name) {
			return true, nil
		}
	}
	return false, nil
}

// validatedNames returns the client's validated names (RFC 7208 §5.5):
// those of its first PTR names whose addresses include it. A name whose
// lookup fails is skipped. void reports that the PTR lookup found
// nothing; it is looked up once per check.
func (e *eval) validatedNames() (names []string, void bool) {
	if e.ptrDone {
		return e.ptrNames, e.ptrFailed
	}
	e.ptrDone = true
	ptrs, err := e.r.LookupPTR(e.ctx, e.ip)
	if err != nil {
		e.ptrFailed = dns.IsNotFound(err)
		return nil, e.ptrFailed
	}
	if len(ptrs) > maxPTR {
		ptrs = ptrs[:maxPTR]
	}
	for _, p := range ptrs {
		p = strings.TrimSuffix(p, ".")
		addrs, err := e.addrs(p)
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if a.Unmap() == e.ip {
				e.ptrNames = append(e.ptrNames, p)
				break
			}
		}
	}
	return e.ptrNames, false
}

// validatedName is the p macro (RFC 7208 §7.3): the validated name that
// is domain, or else one below domain, or else any; "unknown" if none.
func (e *eval) validatedName(domain string) string {
	names, _ := e.validatedNames()
	for _, n := range names {
		if strings.EqualFold(n, domain) {
			return n
		}
	}
	for _, n := range names {
		if isSubdomain(n, domain) {
			return n
		}
	}
	if len(names) > 0 {
		return names[0]
	}
	return "unknown"
}

// isSubdomain reports whether name is domain or a name below it, without
// regard to case or final dots.
func isSubdomain(name, domain string) bool {
	name = strings.ToLower(strings.TrimSuffix(name, "."))
	domain = strings.ToLower(strings.TrimSuffix(domain, "."))
	return name == domain || strings.HasSuffix(name, "."+domain)
}

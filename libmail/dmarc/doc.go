// Package dmarc evaluates DMARC (RFC 7489) for a message that has come
// in: whether the domain in its From: field authenticated it, through
// SPF or DKIM with an identifier aligned with that domain, and, if not,
// what the domain asks receivers to do with it.
//
// smtpd calls it at the end of DATA, once SPF (at MAIL FROM) and DKIM
// verification (from the intake stream) have their results:
//
//	authors := dmarc.AuthorDomains(fromFields)          // RFC 7489 §6.6.1
//	res := dmarc.Evaluate(ctx, resolver, dmarc.Input{
//		From: authors, SPF: spfResult, SPFDomain: mailFromDomain, DKIM: dkimResults,
//	}, sampler)
//	switch res.Policy { reject: 550 5.7.1 res.Reason; quarantine: Junk; none: deliver }
//
// and writes res into Authentication-Results: (package authres). The
// verdict is Authentication-Results' dmarc= value: pass, fail, none,
// temperror or permerror. Policy is none unless the verdict is fail, so a
// DNS timeout (temperror) never rejects or quarantines mail.
//
// What is ours and what is go-msgauth's: the DMARC record is parsed by
// github.com/emersion/go-msgauth/dmarc (Parse), after a cleaning that
// makes its strict parser take what RFC 7489 asks a receiver to take
// (parseRecord). Its Lookup is not used: the record is fetched through
// postern's dns.Resolver, whose errors tell "no record" (NotFound: no
// policy, try the Organizational Domain) from "no answer" (temperror),
// and which tests answer from memory or the loopback server. Policy
// discovery (§6.6.3), the Organizational Domain (§3.2, from the Public
// Suffix List in golang.org/x/net/publicsuffix), alignment (§3.1), sp=,
// pct= (§6.6.4, with the random numbers injected) and the choice among
// several author domains are here; go-msgauth has none of them.
//
// Decisions where the RFC leaves room, each explained where it is made:
// several DMARC records at one name are a permerror (no policy applies);
// a record without a valid p= counts as p=none only with a valid rua=
// (§6.6.3 step 6), else it is a permerror; an aligned SPF or DKIM check
// that failed in the DNS turns a fail into temperror; all From: fields
// and every address in them are judged, the strictest failing policy
// applying; more than MaxAuthorDomains domains are refused outright.
// Failure reports (rua=, ruf=) are not sent.
//
// Lookup gives the policy that governs a domain by the same discovery,
// for `postern dns check`, which shows an administrator what receivers
// see of their domain.
//
// # Why in libmail
//
// smtpd evaluates DMARC, and `postern dns check` reads the same records
// (Lookup) to tell an admin what the world sees of their domain;
// DESIGN.md §7 keeps message authentication
// (libmail/{spf,dkim,dmarc,authres}) together on the shared resolver,
// beside the intake stream it reads, rather than inside one daemon.
package dmarc

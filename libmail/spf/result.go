package spf

// Verdict is the result of check_host() (RFC 7208 §2.6), by the name
// Authentication-Results gives it (RFC 8601 §2.7.2).
type Verdict string

// The verdicts of RFC 7208 §2.6.
const (
	None      Verdict = "none"      // no record, or no domain to check
	Neutral   Verdict = "neutral"   // the domain states nothing about the client
	Pass      Verdict = "pass"      // the client may use the domain
	Fail      Verdict = "fail"      // the client may not use the domain
	SoftFail  Verdict = "softfail"  // probably not, but the domain will not say so firmly
	TempError Verdict = "temperror" // a transient (DNS) failure; asking later may give a result
	PermError Verdict = "permerror" // the domain's records are wrong and need an admin
)

// Identity is what a check is about (RFC 7208 §2.3, §2.4).
type Identity string

// The identities, named as in Authentication-Results' "smtp.mailfrom"
// and "smtp.helo" properties (RFC 8601 §2.7.2).
const (
	// MailFrom is the reverse-path of MAIL FROM.
	MailFrom Identity = "mailfrom"
	// Helo is the HELO/EHLO name: the HELO check, and the MAIL FROM
	// check of a null reverse-path, which RFC 7208 §2.4 makes of the
	// HELO name (postmaster@helo).
	Helo Identity = "helo"
)

// Result is the outcome of one check.
type Result struct {
	Verdict  Verdict
	Identity Identity
	// Domain is the <domain> check_host() started at: the reverse-path's
	// domain, or the HELO name. It is the SPF-authenticated domain that
	// DMARC aligns with the From domain (RFC 7489 §3.1.2).
	Domain string
	// Sender is the <sender> of check_host(): the reverse-path, with
	// "postmaster" for an empty local-part, or postmaster@ the HELO name.
	Sender string
	// Mechanism is the directive that decided, as the record wrote it
	// ("-all", "ip4:192.0.2.0/24", "include:_spf.example.net"); "" when
	// none matched or there was no record or an error.
	Mechanism string
	// Explanation is the domain's explanation of a Fail (RFC 7208 §6.2),
	// printable US-ASCII for an SMTP reply; "" when it gave none.
	Explanation string
	// Reason says, for the log, why a verdict other than one a
	// mechanism decided came about: no record, a DNS failure, a
	// syntax error, a limit.
	Reason string
}

// Property returns the Authentication-Results property (RFC 8601
// §2.7.2) that names what was checked: "smtp.mailfrom" or "smtp.helo",
// and the domain.
func (r Result) Property() (name, value string) {
	return "smtp." + string(r.Identity), r.Domain
}

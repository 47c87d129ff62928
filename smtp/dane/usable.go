package dane

import (
	"crypto/sha256"
	"crypto/sha512"

	"postern.dev/postern/libmail/dns"
)

// TLSA parameters, by their RFC 7218 names.
const (
	UsageDANETA = 2 // the record names a trust anchor (CA) of the chain
	UsageDANEEE = 3 // the record names the server's own certificate or key

	SelectorCert = 0 // the whole DER certificate
	SelectorSPKI = 1 // the DER SubjectPublicKeyInfo

	MatchFull   = 0 // the data is the selected bytes themselves
	MatchSHA256 = 1
	MatchSHA512 = 2
)

// Usable returns the records an SMTP client may authenticate with, in
// their original order. PKIX-TA(0) and PKIX-EE(1) are dropped: RFC 7672
// §3.1.3 makes them unusable for SMTP, where there is no agreed set of
// public CAs. So are unknown usages, selectors and matching types, and
// digests of the wrong length, which could never match and would only
// turn an unauthenticated-but-encrypted delivery into a deferred one.
//
// If nothing is left the caller treats the MX as having no TLSA records
// (RFC 7672 §2.2): TLS is still mandatory but unauthenticated.
func Usable(recs []dns.TLSA) []dns.TLSA {
	var out []dns.TLSA
	for _, r := range recs {
		if usable(r) {
			out = append(out, r)
		}
	}
	return out
}

func usable(r dns.TLSA) bool {
	if r.Usage != UsageDANETA && r.Usage != UsageDANEEE {
		return false
	}
	if r.Selector != SelectorCert && r.Selector != SelectorSPKI {
		return false
	}
	switch r.MatchingType {
	case MatchFull:
		return len(r.Data) > 0
	case MatchSHA256:
		return len(r.Data) == sha256.Size
	case MatchSHA512:
		return len(r.Data) == sha512.Size
	}
	return false
}

// strongest applies digest algorithm agility (RFC 7671 §9): among records
// of the same usage and selector, SHA-256 digests are ignored when SHA-512
// ones are published, so that a server operator can retire the weaker
// algorithm without a client falling back to it. Full-value records are
// never dropped; they do not depend on a digest.
func strongest(recs []dns.TLSA) []dns.TLSA {
	type pair struct{ usage, selector uint8 }
	has512 := map[pair]bool{}
	for _, r := range recs {
		if r.MatchingType == MatchSHA512 {
			has512[pair{r.Usage, r.Selector}] = true
		}
	}
	if len(has512) == 0 {
		return recs
	}
	var out []dns.TLSA
	for _, r := range recs {
		if r.MatchingType == MatchSHA256 && has512[pair{r.Usage, r.Selector}] {
			continue
		}
		out = append(out, r)
	}
	return out
}

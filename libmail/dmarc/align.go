package dmarc

import (
	"golang.org/x/net/publicsuffix"

	"postern.dev/postern/libmail/address"
)

// domain returns d as DMARC compares it (address.ALabel: A-labels, lower
// case, no trailing dot), or "" when d is no host name, which then
// aligns with nothing.
func domain(d string) string {
	a, err := address.ALabel(d)
	if err != nil {
		return ""
	}
	return a
}

// OrgDomain returns the Organizational Domain of d (RFC 7489 §3.2): the
// public suffix that matches the most labels of d, found in the Public
// Suffix List, plus one label. The list is golang.org/x/net/publicsuffix's
// copy, ICANN and private sections both, as RFC 7489 §3.2 asks for the
// whole list; a suffix the list does not know counts as one label (its
// "*" default rule). A domain that is itself a public suffix has no label
// to add; it is its own Organizational Domain here, so that it aligns
// with itself and with nothing else. d must be in the form domain
// returns (A-labels: the list is kept in them).
func OrgDomain(d string) string {
	org, err := publicsuffix.EffectiveTLDPlusOne(d)
	if err != nil {
		return d
	}
	return org
}

// aligned reports whether an authenticated identifier id (an SPF domain
// or a DKIM d=) is in alignment with the author domain (RFC 7489 §3.1):
// in strict mode the two must be the same name, in relaxed mode (the
// default, RFC 7489 §6.3 adkim= and aspf=) their Organizational Domains
// must be. Both are compared in the form domain returns, so case, a
// trailing dot and U-labels make no difference; an empty id (none, or
// not a domain) aligns with nothing.
func aligned(strict bool, author, id string) bool {
	if author == "" || id == "" {
		return false
	}
	if strict {
		return author == id
	}
	return author == id || OrgDomain(author) == OrgDomain(id)
}

package address

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"golang.org/x/net/idna"
)

// ALabel returns domain d in the form message authentication compares
// and looks up domains: A-labels, lower case, without a trailing dot.
// RFC 7489 §6.6.1 converts a U-label author domain to an A-label "for
// further processing"; DKIM's d= and the DNS carry A-labels (RFC 8616
// keeps them so for internationalized mail). A name in Unicode is mapped
// with the IDNA lookup profile (UTS #46), as package dns does; an ASCII
// name is only lowercased. ALabel fails for what is not a host name: an
// address literal, an empty label, a name too long, bad UTF-8.
func ALabel(d string) (string, error) {
	d = strings.TrimSuffix(d, ".")
	if !IsASCII(d) {
		if !utf8.ValidString(d) {
			return "", fmt.Errorf("%w: %q", ErrBadUTF8, d)
		}
		a, err := idna.Lookup.ToASCII(d)
		if err != nil {
			return "", fmt.Errorf("%w: %q: %v", ErrBadDomain, d, err)
		}
		d = a
	}
	d = strings.ToLower(d)
	if d == "" || strings.HasPrefix(d, "[") {
		return "", fmt.Errorf("%w: %q is not a host name", ErrBadDomain, d)
	}
	if err := CheckDomain(d, false); err != nil {
		return "", err
	}
	return d, nil
}

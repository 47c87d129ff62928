package config

import (
	"fmt"
	"path/filepath"
	"strings"
)

// DKIMKey is one dkim_signing_keys entry: a private key that signs mail
// whose From: is in Domain, published under Selector._domainkey.Domain
// (RFC 6376 §3.6.2.1). The key's type (RSA or Ed25519) is the file's.
type DKIMKey struct {
	Domain   string // lower case, without a trailing dot
	Selector string // lower case
	File     string // absolute path of the PEM private key
}

// ParseDKIMSigningKeys parses dkim_signing_keys entries, each "DOMAIN
// SELECTOR FILE". Whether the files hold usable keys is for the daemon
// that signs to find out when it starts (the configuration may be checked
// by a user who cannot read them).
func ParseDKIMSigningKeys(list []string) ([]DKIMKey, error) {
	var out []DKIMKey
	seen := map[string]bool{}
	for _, item := range list {
		f := strings.Fields(item)
		if len(f) != 3 {
			return nil, fmt.Errorf("%q: want \"DOMAIN SELECTOR FILE\"", item)
		}
		k := DKIMKey{Domain: strings.TrimSuffix(strings.ToLower(f[0]), "."), Selector: strings.ToLower(f[1]), File: f[2]}
		if k.Domain == "" || strings.ContainsAny(k.Domain, "@[]/\\") || strings.Contains(k.Domain, "..") || strings.HasPrefix(k.Domain, ".") {
			return nil, fmt.Errorf("%q: %q is not a domain", item, f[0])
		}
		if !validSelector(k.Selector) {
			return nil, fmt.Errorf("%q: %q is not a selector (dot-separated labels of letters, digits and hyphens, RFC 6376 §3.1)", item, f[1])
		}
		if !filepath.IsAbs(k.File) {
			return nil, fmt.Errorf("%q: %q is not an absolute path", item, k.File)
		}
		id := k.Domain + " " + k.Selector
		if seen[id] {
			return nil, fmt.Errorf("%q: domain %s has selector %s twice", item, k.Domain, k.Selector)
		}
		seen[id] = true
		out = append(out, k)
	}
	return out, nil
}

// validSelector: RFC 6376 §3.1 selector = sub-domain *( "." sub-domain ),
// with sub-domain of RFC 5321 (letters, digits, inner hyphens), each a DNS
// label of at most 63 bytes.
func validSelector(s string) bool {
	if s == "" || len(s) > 253 {
		return false
	}
	for _, l := range strings.Split(s, ".") {
		if l == "" || len(l) > 63 || l[0] == '-' || l[len(l)-1] == '-' {
			return false
		}
		for i := 0; i < len(l); i++ {
			c := l[i]
			if !(c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9' || c == '-') {
				return false
			}
		}
	}
	return true
}

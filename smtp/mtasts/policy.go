package mtasts

import (
	"strings"
	"time"
)

// Policy modes (RFC 8461 §5).
const (
	ModeEnforce = "enforce" // deliver only to matching MX hosts with valid certificates
	ModeTesting = "testing" // deliver as usual, but report failures (TLS-RPT)
	ModeNone    = "none"    // the domain has withdrawn its policy
)

// Policy is a domain's MTA-STS policy.
type Policy struct {
	Mode   string        // ModeEnforce, ModeTesting or ModeNone
	MX     []string      // MX host patterns, lower case, without trailing dots
	MaxAge time.Duration // how long the policy may be cached
	// ID is the id of the TXT record that announced this policy; a new id
	// means a new policy to fetch.
	ID      string
	Fetched time.Time // when the policy was fetched
}

// Match reports whether the MX host is allowed by the policy's patterns:
// a pattern is a host name or "*." followed by a domain, which matches
// exactly one more label on the left (RFC 8461 §4.1). Case and trailing
// dots do not matter.
func (p *Policy) Match(host string) bool {
	host = normalize(host)
	if host == "" {
		return false
	}
	for _, pat := range p.MX {
		pat = normalize(pat)
		if parent, ok := strings.CutPrefix(pat, "*."); ok {
			label, rest, found := strings.Cut(host, ".")
			if found && label != "" && rest == parent {
				return true
			}
			continue
		}
		if host == pat {
			return true
		}
	}
	return false
}

// Expires returns when the policy stops being valid.
func (p *Policy) Expires() time.Time { return p.Fetched.Add(p.MaxAge) }

func (p *Policy) clone() *Policy {
	q := *p
	q.MX = append([]string(nil), p.MX...)
	return &q
}

func normalize(name string) string {
	return strings.ToLower(strings.TrimSuffix(name, "."))
}

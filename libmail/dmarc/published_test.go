package dmarc

import (
	"context"
	"testing"
)

// TestLookup: the policy that governs a domain is its own record's p=,
// or its Organizational Domain's sp= (p= without one); no record, a
// failed lookup and an unusable record each say why there is none.
func TestLookup(t *testing.T) {
	r := resolver(map[string]string{
		"_dmarc.example.org":       "v=DMARC1; p=reject; sp=quarantine; pct=50; rua=mailto:d@example.org",
		"_dmarc.example.net":       "v=DMARC1; p=none",
		"_dmarc.two.example":       "v=DMARC1; p=none|v=DMARC1; p=reject",
		"_dmarc.bad.example":       "v=DMARC1; p=maybe",
		"_dmarc.sub.example.com":   "v=DMARC1; p=quarantine",
		"_dmarc.example.com":       "v=DMARC1; p=reject",
		"_dmarc.other.example.net": "spf stuff",
	})
	r.SetTemporaryFailure("_dmarc.broken.example", true)
	for _, c := range []struct {
		domain, at string
		policy     Policy
		pct        int
		verdict    Verdict
	}{
		{"example.org", "example.org", PolicyReject, 50, ""},
		{"Mail.Example.ORG.", "example.org", PolicyQuarantine, 50, ""},
		{"example.net", "example.net", PolicyNone, 100, ""},
		{"other.example.net", "example.net", PolicyNone, 100, ""},
		{"sub.example.com", "sub.example.com", PolicyQuarantine, 100, ""},
		{"nothing.example", "", "", 0, None},
		{"two.example", "", "", 0, PermError},
		{"bad.example", "", "", 0, PermError},
		{"broken.example", "", "", 0, TempError},
	} {
		p, v, reason := Lookup(context.Background(), r, c.domain)
		if v != c.verdict {
			t.Errorf("%s: verdict %q (%s), want %q", c.domain, v, reason, c.verdict)
			continue
		}
		if c.verdict != "" {
			if p != nil || reason == "" {
				t.Errorf("%s: policy %+v, reason %q", c.domain, p, reason)
			}
			continue
		}
		if p == nil || p.At != c.at || p.Policy != c.policy || p.Pct != c.pct {
			t.Errorf("%s: %+v, want at %s, %s, pct %d", c.domain, p, c.at, c.policy, c.pct)
		}
	}
}

package dmarc

import "testing"

func TestOrgDomain(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"example.com", "example.com"},
		{"a.b.example.com", "example.com"},
		{"example.co.uk", "example.co.uk"},
		{"mail.example.co.uk", "example.co.uk"},
		{"co.uk", "co.uk"}, // a public suffix is its own
		{"com", "com"},
		{"foo.github.io", "foo.github.io"}, // the list's private section counts
		{"a.foo.github.io", "foo.github.io"},
		{"host.example.unknowntld", "example.unknowntld"}, // the "*" default rule
		{"a.b.xn--p1ai", "b.xn--p1ai"},                    // .рф, in A-labels
	} {
		if got := OrgDomain(tc.in); got != tc.want {
			t.Errorf("OrgDomain(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

// TestAligned: RFC 7489 §3.1. The identifiers are given as they come
// (From: domain, SPF domain, d=), and compared as Evaluate compares them.
func TestAligned(t *testing.T) {
	for _, tc := range []struct {
		author, id      string
		relaxed, strict bool
	}{
		{"example.com", "example.com", true, true},
		// RFC 7489 §3.1.2's example: MailFrom cbg.bounces.example.com,
		// From payments@example.com: aligned in relaxed mode only.
		{"example.com", "cbg.bounces.example.com", true, false},
		// and §3.1.1's, the other way round: d= example.com, From
		// news.example.com.
		{"news.example.com", "example.com", true, false},
		{"a.example.com", "b.example.com", true, false},
		{"example.com", "example.net", false, false},
		{"example.com", "notexample.com", false, false},
		{"example.com", "example.com.evil.net", false, false},
		{"example.com", "com", false, false},
		{"example.co.uk", "other.co.uk", false, false},
		{"mail.example.co.uk", "bounce.example.co.uk", true, false},
		{"example.co.uk", "co.uk", false, false},
		{"alice.github.io", "bob.github.io", false, false},
		{"Example.COM", "example.com", true, true},
		{"example.com.", "EXAMPLE.com", true, true},
		{"mail.example.com", "Example.Com.", true, false},
		{"bücher.example", "xn--bcher-kva.example", true, true},
		{"news.Bücher.example", "XN--BCHER-KVA.example", true, false},
		{"example.com", "", false, false},
		{"", "", false, false},
		{"example.com", "[192.0.2.1]", false, false},
		{"example.com", "exa mple.com", false, false},
	} {
		a, id := domain(tc.author), domain(tc.id)
		if got := aligned(false, a, id); got != tc.relaxed {
			t.Errorf("relaxed alignment of %q with %q = %v, want %v", tc.id, tc.author, got, tc.relaxed)
		}
		if got := aligned(true, a, id); got != tc.strict {
			t.Errorf("strict alignment of %q with %q = %v, want %v", tc.id, tc.author, got, tc.strict)
		}
	}
}

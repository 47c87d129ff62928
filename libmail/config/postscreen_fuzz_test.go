package config

import (
	"net/netip"
	"strings"
	"testing"
)

// FuzzParseDNSBLSites parses arbitrary postscreen_dnsbl_sites entries:
// what parses has a valid zone and a bounded weight, matches only IPv4
// answers, and without patterns matches exactly 127.0.0.0/8.
func FuzzParseDNSBLSites(f *testing.F) {
	f.Fuzz(func(t *testing.T, item string, answer []byte) {
		sites, err := ParseDNSBLSites([]string{item})
		if err != nil {
			return
		}
		s := sites[0]
		if checkZone(s.Zone) != nil || strings.ContainsAny(s.Zone, "=*;[]") {
			t.Fatalf("%q: zone %q", item, s.Zone)
		}
		if s.Weight < -1000 || s.Weight > 1000 {
			t.Fatalf("%q: weight %d", item, s.Weight)
		}
		a, ok := netip.AddrFromSlice(answer)
		if !ok {
			return
		}
		m := s.Matches(a)
		if m && !a.Unmap().Is4() {
			t.Fatalf("%q matches IPv6 %s", item, a)
		}
		if len(s.Patterns) == 0 && m != (a.Unmap().Is4() && a.Unmap().As4()[0] == 127) {
			t.Fatalf("%q without patterns: %s matches %v", item, a, m)
		}
	})
}

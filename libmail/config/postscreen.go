package config

import (
	"fmt"
	"net/netip"
	"strconv"
	"strings"
)

// DNSBLSite is one entry of postscreen_dnsbl_sites: a DNS list zone, the
// answers that count as a listing, and what a listing adds to a client's
// score.
type DNSBLSite struct {
	Zone string
	// Patterns are alternatives; an answer matches if any one does. None
	// means any address in 127.0.0.0/8, the range DNS lists answer in
	// (anything else is a list's error message or a wildcard gone wrong).
	Patterns []AddrPattern
	Weight   int
}

// AddrPattern matches an IPv4 answer octet by octet.
type AddrPattern [4]OctetSet

// OctetSet is a set of octet values as ranges.
type OctetSet []OctetRange

// OctetRange is an inclusive range of octet values.
type OctetRange struct{ Lo, Hi uint8 }

// Matches reports whether answer lists a client for this site.
func (s *DNSBLSite) Matches(answer netip.Addr) bool {
	answer = answer.Unmap()
	if !answer.Is4() {
		return false
	}
	b := answer.As4()
	if len(s.Patterns) == 0 {
		return b[0] == 127
	}
	for _, p := range s.Patterns {
		if p.matches(b) {
			return true
		}
	}
	return false
}

func (p *AddrPattern) matches(b [4]byte) bool {
	for i, set := range p {
		if !set.contains(b[i]) {
			return false
		}
	}
	return true
}

func (o OctetSet) contains(v uint8) bool {
	for _, r := range o {
		if v >= r.Lo && v <= r.Hi {
			return true
		}
	}
	return false
}

// maxSiteLen bounds one entry: a zone name is at most 253 bytes, and no
// honest pattern needs more than a few hundred.
const maxSiteLen = 1024

// ParseDNSBLSites parses postscreen_dnsbl_sites entries, Postfix's
// syntax: zone[=pattern[;pattern...]][*weight], where a pattern is four
// dot-separated octets, each a number or a bracketed list of numbers and
// n..m ranges separated by semicolons (127.0.0.[2;4..11]).
func ParseDNSBLSites(list []string) ([]DNSBLSite, error) {
	var out []DNSBLSite
	for _, item := range list {
		s, err := parseDNSBLSite(strings.TrimSpace(item))
		if err != nil {
			return nil, fmt.Errorf("%q: %w", item, err)
		}
		out = append(out, s)
	}
	return out, nil
}

func parseDNSBLSite(item string) (DNSBLSite, error) {
	var s DNSBLSite
	if len(item) > maxSiteLen {
		return s, fmt.Errorf("longer than %d bytes", maxSiteLen)
	}
	s.Weight = 1
	if i := strings.LastIndexByte(item, '*'); i >= 0 {
		w, err := strconv.Atoi(item[i+1:])
		if err != nil || w < -1000 || w > 1000 {
			return s, fmt.Errorf("weight %q: want an integer from -1000 to 1000", item[i+1:])
		}
		s.Weight, item = w, item[:i]
	}
	zone, pats, hasPats := strings.Cut(item, "=")
	zone = strings.TrimSuffix(strings.ToLower(zone), ".")
	if err := checkZone(zone); err != nil {
		return s, err
	}
	s.Zone = zone
	if !hasPats {
		return s, nil
	}
	for _, alt := range splitOutside(pats, ';') {
		p, err := parseAddrPattern(alt)
		if err != nil {
			return s, err
		}
		s.Patterns = append(s.Patterns, p)
	}
	return s, nil
}

// checkZone accepts a DNS name of letters, digits, hyphens and
// underscores in non-empty labels, as the lists' names are.
func checkZone(zone string) error {
	if zone == "" {
		return fmt.Errorf("no zone")
	}
	if len(zone) > 253 {
		return fmt.Errorf("zone longer than 253 bytes")
	}
	for _, label := range strings.Split(zone, ".") {
		if label == "" || len(label) > 63 {
			return fmt.Errorf("zone %q: empty or overlong label", zone)
		}
		for _, c := range label {
			if !(c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '-' || c == '_') {
				return fmt.Errorf("zone %q: character %q", zone, c)
			}
		}
	}
	return nil
}

// splitOutside splits s at sep where it is not inside brackets.
func splitOutside(s string, sep byte) []string {
	var parts []string
	depth, start := 0, 0
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '[':
			depth++
		case ']':
			depth--
		case sep:
			if depth == 0 {
				parts = append(parts, s[start:i])
				start = i + 1
			}
		}
	}
	return append(parts, s[start:])
}

func parseAddrPattern(text string) (AddrPattern, error) {
	var p AddrPattern
	octets := splitOutside(text, '.')
	if len(octets) != 4 {
		return p, fmt.Errorf("pattern %q: want four octets", text)
	}
	for i, o := range octets {
		set, err := parseOctet(o)
		if err != nil {
			return p, fmt.Errorf("pattern %q: %w", text, err)
		}
		p[i] = set
	}
	return p, nil
}

func parseOctet(o string) (OctetSet, error) {
	inner, bracketed := strings.CutPrefix(o, "[")
	if bracketed {
		var ok bool
		if inner, ok = strings.CutSuffix(inner, "]"); !ok {
			return nil, fmt.Errorf("octet %q: unclosed bracket", o)
		}
	}
	var set OctetSet
	for _, item := range strings.Split(inner, ";") {
		if !bracketed && (strings.Contains(item, "..") || len(set) > 0) {
			return nil, fmt.Errorf("octet %q: a range or list needs brackets", o)
		}
		lo, hi, isRange := strings.Cut(item, "..")
		if !isRange {
			hi = lo
		}
		l, err1 := octetValue(lo)
		h, err2 := octetValue(hi)
		if err1 != nil || err2 != nil || l > h {
			return nil, fmt.Errorf("octet %q: want a number from 0 to 255, or lo..hi", o)
		}
		set = append(set, OctetRange{l, h})
	}
	return set, nil
}

func octetValue(s string) (uint8, error) {
	if s == "" || len(s) > 3 || strings.TrimLeft(s, "0123456789") != "" {
		return 0, fmt.Errorf("bad octet")
	}
	n, err := strconv.Atoi(s)
	if err != nil || n > 255 {
		return 0, fmt.Errorf("bad octet")
	}
	return uint8(n), nil
}

// AccessRule is one entry of postscreen_access_list.
type AccessRule struct {
	Permit bool
	Prefix netip.Prefix
}

// ParseAccessList parses postscreen_access_list: permit_mynetworks
// (which expands to mynetworks as permits), permit CIDR and reject CIDR.
func ParseAccessList(list, mynetworks []string) ([]AccessRule, error) {
	var out []AccessRule
	for _, item := range list {
		f := strings.Fields(item)
		switch {
		case len(f) == 1 && f[0] == "permit_mynetworks":
			nets, err := ParseNetworks(mynetworks)
			if err != nil {
				return nil, fmt.Errorf("permit_mynetworks: mynetworks: %w", err)
			}
			for _, n := range nets {
				out = append(out, AccessRule{Permit: true, Prefix: n})
			}
		case len(f) == 2 && (f[0] == "permit" || f[0] == "reject"):
			nets, err := ParseNetworks(f[1:])
			if err != nil {
				return nil, fmt.Errorf("%q: %w", item, err)
			}
			out = append(out, AccessRule{Permit: f[0] == "permit", Prefix: nets[0]})
		default:
			return nil, fmt.Errorf("%q: want permit_mynetworks, permit CIDR or reject CIDR", item)
		}
	}
	return out, nil
}

// validatePostscreen checks the postscreen parameters.
func (p *Params) validatePostscreen() error {
	if _, err := ParseDNSBLSites(p.PostscreenDNSBLSites); err != nil {
		return &paramError{"postscreen_dnsbl_sites", err}
	}
	if _, err := ParseAccessList(p.PostscreenAccessList, p.MyNetworks); err != nil {
		return &paramError{"postscreen_access_list", err}
	}
	for name, v := range map[string]string{"postscreen_greet_action": p.PostscreenGreetAction, "postscreen_dnsbl_action": p.PostscreenDNSBLAction} {
		if v != "enforce" && v != "ignore" {
			return &paramError{name, fmt.Errorf("%q: want enforce or ignore", v)}
		}
	}
	if p.PostscreenGreetWait <= 0 {
		return &paramError{"postscreen_greet_wait", fmt.Errorf("%s: must be positive", p.PostscreenGreetWait.D())}
	}
	if p.PostscreenCacheTTL < 0 {
		return &paramError{"postscreen_cache_ttl", fmt.Errorf("%s: must not be negative", p.PostscreenCacheTTL.D())}
	}
	if p.PostscreenDNSBLThreshold < 1 {
		return &paramError{"postscreen_dnsbl_threshold", fmt.Errorf("%d: must be positive", p.PostscreenDNSBLThreshold)}
	}
	if p.PostscreenDNSBLAllowlistThreshold > 0 {
		return &paramError{"postscreen_dnsbl_allowlist_threshold", fmt.Errorf("%d: want 0 (off) or a negative score", p.PostscreenDNSBLAllowlistThreshold)}
	}
	for name, n := range map[string]int{"postscreen_cache_limit": p.PostscreenCacheLimit,
		"postscreen_client_connection_count_limit": p.PostscreenClientConnectionCountLimit} {
		if n < 0 {
			return &paramError{name, fmt.Errorf("%d: must not be negative", n)}
		}
	}
	if p.PostscreenConnectionLimit < 1 {
		return &paramError{"postscreen_connection_limit", fmt.Errorf("%d: must be positive", p.PostscreenConnectionLimit)}
	}
	if strings.ContainsAny(p.PostscreenGreetBanner, "\r\n") {
		return &paramError{"postscreen_greet_banner", fmt.Errorf("must be one line")}
	}
	return nil
}

package config

import (
	"fmt"
	"net/netip"
	"strings"
)

// Route is one transport_maps entry.
type Route struct {
	Pattern   string // a domain, or .domain for its subdomains
	Transport string // a delivery service of the service table (see Config.Transport)
	Nexthop   string // "", domain, [host], with an optional :port
}

// TLSPolicy is one smtp_tls_policy_maps entry.
type TLSPolicy struct {
	Pattern string // a domain, .domain, or a nexthop as written ([host]:port)
	Level   string
}

// DMARCActions are the values of dmarc_reject_action and
// dmarc_quarantine_action.
var DMARCActions = []string{"reject", "quarantine", "none"}

// TLSLevels are the values of smtp_tls_security_level.
var TLSLevels = []string{"none", "may", "encrypt", "verify", "dane"}

// ParseTransportMaps parses transport_maps entries, lower-casing
// patterns. Whether each transport names a delivery service is checked
// against the service table (Config.Transport) when the file is loaded.
func ParseTransportMaps(list []string) ([]Route, error) {
	var out []Route
	for _, item := range list {
		f := strings.Fields(item)
		if len(f) != 2 {
			return nil, fmt.Errorf("%q: want \"DESTINATION TRANSPORT:NEXTHOP\"", item)
		}
		transport, nexthop, _ := strings.Cut(f[1], ":")
		if transport == "" {
			return nil, fmt.Errorf("%q: no transport before the colon", item)
		}
		if nexthop != "" {
			if _, _, err := SplitNexthop(nexthop); err != nil {
				return nil, fmt.Errorf("%q: %w", item, err)
			}
		}
		out = append(out, Route{Pattern: strings.ToLower(f[0]), Transport: transport, Nexthop: nexthop})
	}
	return out, nil
}

// ParseTLSPolicies parses smtp_tls_policy_maps entries.
func ParseTLSPolicies(list []string) ([]TLSPolicy, error) {
	var out []TLSPolicy
	for _, item := range list {
		f := strings.Fields(item)
		if len(f) != 2 {
			return nil, fmt.Errorf("%q: want \"DESTINATION LEVEL\"", item)
		}
		if !oneOf(f[1], TLSLevels) {
			return nil, fmt.Errorf("%q: unknown level %q (want %s)", item, f[1], strings.Join(TLSLevels, ", "))
		}
		out = append(out, TLSPolicy{Pattern: strings.ToLower(f[0]), Level: f[1]})
	}
	return out, nil
}

// SplitNexthop splits a nexthop as relayhost and transport_maps write it:
// "domain" or "host" (MX lookup), "[host]" (no MX lookup), each with an
// optional ":port". port is 0 when none is given.
func SplitNexthop(s string) (host string, mx bool, err error) {
	h := s
	if strings.HasPrefix(h, "[") {
		end := strings.IndexByte(h, ']')
		if end < 0 {
			return "", false, fmt.Errorf("nexthop %q: missing ]", s)
		}
		rest := h[end+1:]
		if rest != "" && !validPort(strings.TrimPrefix(rest, ":")) || rest != "" && rest[0] != ':' {
			return "", false, fmt.Errorf("nexthop %q: bad port", s)
		}
		return h[1:end], false, nil
	}
	if i := strings.LastIndexByte(h, ':'); i >= 0 {
		if !validPort(h[i+1:]) {
			return "", false, fmt.Errorf("nexthop %q: bad port", s)
		}
		h = h[:i]
	}
	if h == "" {
		return "", false, fmt.Errorf("nexthop %q: no host", s)
	}
	return h, true, nil
}

func validPort(s string) bool {
	if s == "" || len(s) > 5 {
		return false
	}
	n := 0
	for _, c := range s {
		if c < '0' || c > '9' {
			return false
		}
		n = n*10 + int(c-'0')
	}
	return n > 0 && n < 65536
}

// ParseDNSServers parses dns_servers: IP or IP:port ([IPv6]:port),
// returning host:port strings with port 53 where none is given.
func ParseDNSServers(list []string) ([]string, error) {
	var out []string
	for _, s := range list {
		if ip, err := netip.ParseAddr(s); err == nil {
			out = append(out, netip.AddrPortFrom(ip, 53).String())
			continue
		}
		ap, err := netip.ParseAddrPort(s)
		if err != nil {
			return nil, fmt.Errorf("%q: want IP or IP:port", s)
		}
		out = append(out, ap.String())
	}
	return out, nil
}

func oneOf(s string, set []string) bool {
	for _, v := range set {
		if s == v {
			return true
		}
	}
	return false
}

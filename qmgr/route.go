package qmgr

import (
	"strings"

	"postern.dev/postern/libmail/address"
	"postern.dev/postern/libmail/config"
)

// route picks the transport (a delivery service of the service table)
// and next hop for a recipient, in Postfix's order: transport_maps first
// (the domain, then its parents as ".parent"), then the local domains
// (local_transport), then relayhost, then the recipient's domain itself
// (both through default_transport).
func (m *Manager) route(rcpt string) (transport, nexthop string) {
	_, domain := address.Split(rcpt)
	domain = strings.ToLower(domain)
	if r, ok := m.transportMap(domain); ok {
		if r.Nexthop == "" && !m.isLocal(r.Transport) {
			return r.Transport, domain
		}
		return r.Transport, r.Nexthop
	}
	if m.cfg.LocalDomains[domain] {
		return m.cfg.LocalTransport, ""
	}
	if m.cfg.RelayHost != "" {
		return m.cfg.DefaultTransport, m.cfg.RelayHost
	}
	return m.cfg.DefaultTransport, domain
}

// isLocal reports whether a transport's agent is local, which delivers
// on this host: it has no next hop, and no per-destination scheduling.
func (m *Manager) isLocal(transport string) bool { return m.cfg.Agents[transport].Local }

// transportMap finds the most specific transport_maps entry for domain.
func (m *Manager) transportMap(domain string) (config.Route, bool) {
	if len(m.cfg.Routes) == 0 {
		return config.Route{}, false
	}
	for _, r := range m.cfg.Routes {
		if r.Pattern == domain {
			return r, true
		}
	}
	for d := domain; ; {
		i := strings.IndexByte(d, '.')
		if i < 0 {
			return config.Route{}, false
		}
		d = d[i+1:]
		for _, r := range m.cfg.Routes {
			if r.Pattern == "."+d {
				return r, true
			}
		}
	}
}

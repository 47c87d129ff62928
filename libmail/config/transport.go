package config

import (
	"fmt"
	"path/filepath"
	"sort"
	"strings"
)

// Agents are the programs that deliver: a unix service running one of
// them is a transport qmgr can route to, under the service's name.
var Agents = map[string]bool{"local": true, "smtp": true}

// outboundService is the built-in row of the smtp agent. The name smtp
// belongs to the inbound server in this service table, so a transport
// named smtp, as in Postfix's master.cf and every Postfix admin's
// transport map, means this row.
const outboundService = "outbound"

// IsAgent reports whether s is a delivery service: a unix service whose
// program is a delivery agent.
func (s *Service) IsAgent() bool {
	return s.Kind == "unix" && Agents[filepath.Base(s.Command)]
}

// Agent returns the program a delivery service runs: "local" or "smtp".
func (s *Service) Agent() string { return filepath.Base(s.Command) }

// Transport resolves a transport name, as transport_maps,
// default_transport and local_transport write it, to its delivery
// service: the service of that name if it is one, or for smtp the
// built-in outbound service. Enabled or not: a transport whose service is
// disabled defers its mail until it runs.
func (c *Config) Transport(name string) (*Service, error) {
	if s := c.Service(name); s != nil && s.IsAgent() {
		return s, nil
	}
	if name == "smtp" {
		if s := c.Service(outboundService); s != nil && s.IsAgent() {
			return s, nil
		}
	}
	var agents []string
	for _, s := range c.Services {
		if s.IsAgent() {
			agents = append(agents, s.Name)
		}
	}
	sort.Strings(agents)
	return nil, fmt.Errorf("transport %q is not a delivery service (a unix service running local or smtp); the delivery services are %s",
		name, strings.Join(agents, ", "))
}

// checkTransports resolves every transport the parameters name, so that a
// typo is an error at load time rather than mail deferred for want of an
// agent.
func (c *Config) checkTransports(p *Params) error {
	if _, err := c.Transport(p.DefaultTransport); err != nil {
		return &paramError{"default_transport", err}
	}
	if _, err := c.Transport(p.LocalTransport); err != nil {
		return &paramError{"local_transport", err}
	}
	routes, _ := ParseTransportMaps(p.TransportMaps) // syntax checked in validate
	for _, r := range routes {
		if _, err := c.Transport(r.Transport); err != nil {
			return &paramError{"transport_maps", fmt.Errorf("%s: %w", r.Pattern, err)}
		}
	}
	return nil
}

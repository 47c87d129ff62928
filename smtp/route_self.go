package smtp

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"

	"postern.dev/postern/libmail/config"
)

// Self describes this machine as a mail server, for loop detection: mail
// for a destination whose best server is this machine would come back
// here (Postfix's "mail for X loops back to myself").
//
// Postfix matches only addresses, and only at port 25. Here a server is
// this machine when its name is myhostname or its address is one of this
// machine's, and its port is one that the local SMTP server listens on:
// that catches the real loop and lets mail go to another server on the
// same machine (a content filter on [127.0.0.1]:10025, or a test
// server), which Postfix tells apart by the port too.
type Self struct {
	Names      []string         // myhostname; compared without case
	Interfaces []netip.Addr     // this machine's addresses
	Listen     []netip.AddrPort // where the SMTP services listen; an unspecified address means every interface
}

// Is reports whether name (if not "") or addr (if valid) at port is this
// machine.
func (s *Self) Is(name string, addr netip.Addr, port int) bool {
	for _, l := range s.Listen {
		if int(l.Port()) != port {
			continue
		}
		if name != "" {
			name = strings.TrimSuffix(name, ".")
			for _, n := range s.Names {
				if strings.EqualFold(n, name) {
					return true
				}
			}
		}
		if !addr.IsValid() {
			continue
		}
		addr = addr.Unmap()
		if l.Addr().IsUnspecified() {
			for _, ip := range s.Interfaces {
				if ip.Unmap() == addr {
					return true
				}
			}
		} else if l.Addr().Unmap() == addr {
			return true
		}
	}
	return false
}

// LocalSelf builds Self from the configuration and the machine's
// interfaces: myhostname, and the addresses of every enabled inet service.
func LocalSelf(cfg *config.Config, p *config.Params) (*Self, error) {
	s := &Self{Names: []string{p.MyHostname}}
	ifaddrs, err := net.InterfaceAddrs()
	if err != nil {
		return nil, fmt.Errorf("interface addresses: %w", err)
	}
	for _, a := range ifaddrs {
		if pfx, err := netip.ParsePrefix(a.String()); err == nil {
			s.Interfaces = append(s.Interfaces, pfx.Addr().Unmap())
		}
	}
	for _, svc := range cfg.Services {
		if !svc.Enabled || svc.Kind != "inet" {
			continue
		}
		for _, l := range svc.Listen {
			host, port, err := net.SplitHostPort(l)
			if err != nil {
				continue
			}
			n, err := strconv.Atoi(port)
			if err != nil || n <= 0 || n > 65535 {
				continue
			}
			// A host name (rare in a listen address) counts as every
			// interface: a loop missed is worse than one seen too often.
			ip, err := netip.ParseAddr(host)
			if err != nil {
				ip = netip.IPv6Unspecified()
			}
			s.Listen = append(s.Listen, netip.AddrPortFrom(ip.Unmap(), uint16(n)))
		}
	}
	return s, nil
}

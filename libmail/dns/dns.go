// Package dns is the resolver every daemon uses, behind one interface so
// that tests load their own zones into a loopback server and nothing in a
// test ever asks the outside world.
package dns

import (
	"context"
	"net"
	"net/netip"
	"strings"
)

// Resolver answers the queries postern makes.
type Resolver interface {
	// LookupPTR returns the names of an address.
	LookupPTR(ctx context.Context, ip netip.Addr) ([]string, error)
	// LookupIP returns the IPv4 and IPv6 addresses of a host.
	LookupIP(ctx context.Context, host string) ([]netip.Addr, error)
}

// ClientName returns the forward-confirmed name of ip: a PTR name whose
// own addresses include ip, as Postfix's smtpd requires before it calls a
// client anything but "unknown". It returns "" when there is none.
func ClientName(ctx context.Context, r Resolver, ip netip.Addr) string {
	names, err := r.LookupPTR(ctx, ip)
	if err != nil {
		return ""
	}
	ip = ip.Unmap()
	for _, n := range names {
		n = strings.TrimSuffix(n, ".")
		addrs, err := r.LookupIP(ctx, n)
		if err != nil {
			continue
		}
		for _, a := range addrs {
			if a.Unmap() == ip {
				return strings.ToLower(n)
			}
		}
	}
	return ""
}

// System is a Resolver backed by the Go standard library (the system's
// /etc/hosts and /etc/resolv.conf).
type System struct{ r net.Resolver }

// LookupPTR implements Resolver.
func (s *System) LookupPTR(ctx context.Context, ip netip.Addr) ([]string, error) {
	return s.r.LookupAddr(ctx, ip.String())
}

// LookupIP implements Resolver.
func (s *System) LookupIP(ctx context.Context, host string) ([]netip.Addr, error) {
	return s.r.LookupNetIP(ctx, "ip", host)
}

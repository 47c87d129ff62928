// Package dns is the resolver every daemon uses, behind one interface so
// that tests load their own zones into a loopback server (package
// dnstest) and nothing in a test ever asks the outside world.
//
// Lookups distinguish what a mail system must tell apart: a name that
// does not exist or has no records of the type asked (*Error with
// NotFound, a permanent answer), and a failure to get an answer
// (*Error with Temporary: SERVFAIL, timeout, network), which makes mail
// wait rather than bounce. Secure reports that the answer was validated
// by DNSSEC, which postern learns from the AD bit of its resolver (as
// Postfix does: the resolver in resolv.conf must be a validating one on
// a trusted path, normally on loopback); DANE needs it.
package dns

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"strings"
)

// MX is one mail exchanger.
type MX struct {
	Host string // without the trailing dot; "" for a null MX ("."), RFC 7505
	Pref uint16
}

// TLSA is one TLSA record (RFC 6698).
type TLSA struct {
	Usage, Selector, MatchingType uint8
	Data                          []byte
}

// Resolver answers the queries postern makes.
type Resolver interface {
	// LookupMX returns the MX records of domain, unsorted.
	LookupMX(ctx context.Context, domain string) (mx []MX, secure bool, err error)
	// LookupHost returns the IPv4 and IPv6 addresses of host (A and AAAA,
	// following CNAMEs). It fails with NotFound only if both are empty.
	LookupHost(ctx context.Context, host string) (addrs []netip.Addr, secure bool, err error)
	// LookupA returns the IPv4 addresses of host (A, following CNAMEs),
	// and LookupAAAA its IPv6 addresses: SPF (RFC 7208 §5) asks for one
	// family and must tell which one failed or was empty.
	LookupA(ctx context.Context, host string) (addrs []netip.Addr, secure bool, err error)
	LookupAAAA(ctx context.Context, host string) (addrs []netip.Addr, secure bool, err error)
	// LookupTLSA returns the TLSA records of _port._tcp.host.
	LookupTLSA(ctx context.Context, port int, host string) (recs []TLSA, secure bool, err error)
	// LookupTXT returns the TXT records of name, each one's strings joined.
	LookupTXT(ctx context.Context, name string) ([]string, error)
	// LookupPTR returns the names of an address, without trailing dots.
	LookupPTR(ctx context.Context, ip netip.Addr) ([]string, error)
}

// Error is a failed lookup.
type Error struct {
	Name, Type string
	// NotFound: NXDOMAIN, or no records of this type (NODATA).
	NotFound bool
	// Temporary: no usable answer (SERVFAIL, REFUSED, timeout, network);
	// asking later may succeed.
	Temporary bool
	Err       error // the underlying cause, if any
}

func (e *Error) Error() string {
	what := "lookup failed"
	switch {
	case e.NotFound:
		what = "not found"
	case e.Temporary:
		what = "temporary failure"
	}
	if e.Err != nil {
		return fmt.Sprintf("%s %s: %s: %v", e.Type, e.Name, what, e.Err)
	}
	return fmt.Sprintf("%s %s: %s", e.Type, e.Name, what)
}

func (e *Error) Unwrap() error { return e.Err }

// IsNotFound reports whether err says the name or records do not exist.
func IsNotFound(err error) bool {
	var e *Error
	return errors.As(err, &e) && e.NotFound
}

// IsTemporary reports whether err is a failure to get an answer. Errors
// that are not *Error (a cancelled context) count as temporary.
func IsTemporary(err error) bool {
	var e *Error
	if errors.As(err, &e) {
		return e.Temporary
	}
	return err != nil
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
		addrs, _, err := r.LookupHost(ctx, n)
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

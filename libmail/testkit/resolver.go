package testkit

import (
	"context"
	"fmt"
	"net/netip"
	"sync"

	"postern.dev/postern/libmail/dns"
)

// Resolver is an in-memory dns.Resolver for unit tests that need answers
// but no wire (libmail/dns/dnstest's loopback server is for tests of the
// wire and for end-to-end tests). Names it does not know do not exist. It is safe for concurrent
// use; set its answers through its methods.
type Resolver struct {
	mu     sync.Mutex
	mx     map[string][]dns.MX
	hosts  map[string][]netip.Addr
	tlsa   map[string][]dns.TLSA // by "_port._tcp.host"
	txt    map[string][]string
	ptr    map[netip.Addr][]string
	secure map[string]bool  // answers about the name are DNSSEC-validated
	fail   map[string]error // lookups of the name fail with this
	asked  []string
}

// NewResolver returns an empty Resolver.
func NewResolver() *Resolver {
	return &Resolver{mx: map[string][]dns.MX{}, hosts: map[string][]netip.Addr{}, tlsa: map[string][]dns.TLSA{},
		txt: map[string][]string{}, ptr: map[netip.Addr][]string{}, secure: map[string]bool{}, fail: map[string]error{}}
}

// AddMX adds an MX record.
func (r *Resolver) AddMX(domain, host string, pref uint16) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.mx[domain] = append(r.mx[domain], dns.MX{Host: host, Pref: pref})
}

// AddHost adds addresses (A or AAAA, by their form) of name.
func (r *Resolver) AddHost(name string, addrs ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, a := range addrs {
		r.hosts[name] = append(r.hosts[name], netip.MustParseAddr(a))
	}
}

// SetTLSA sets the TLSA records of _port._tcp.host.
func (r *Resolver) SetTLSA(port int, host string, recs ...dns.TLSA) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.tlsa[tlsaName(port, host)] = recs
}

// SetTXT sets the TXT records of name; none removes them.
func (r *Resolver) SetTXT(name string, txt ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if len(txt) == 0 {
		delete(r.txt, name)
		return
	}
	r.txt[name] = txt
}

// AddPTR adds names of an address.
func (r *Resolver) AddPTR(addr string, names ...string) {
	r.mu.Lock()
	defer r.mu.Unlock()
	ip := netip.MustParseAddr(addr)
	r.ptr[ip] = append(r.ptr[ip], names...)
}

// SetSecure says whether answers about name are DNSSEC-validated (the AD
// bit of a validating resolver), as DANE needs them to be.
func (r *Resolver) SetSecure(name string, secure bool) {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.secure[name] = secure
}

// SetTemporaryFailure makes lookups of name fail as a server failure or
// timeout would (a temporary error), or, with false, answer again.
func (r *Resolver) SetTemporaryFailure(name string, failing bool) {
	var err error
	if failing {
		err = &dns.Error{Name: name, Temporary: true}
	}
	r.SetError(name, err)
}

// SetError makes lookups of name fail with err; nil answers again.
func (r *Resolver) SetError(name string, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err == nil {
		delete(r.fail, name)
		return
	}
	r.fail[name] = err
}

// Asked lists the lookups so far, as "TYPE name".
func (r *Resolver) Asked() []string {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([]string(nil), r.asked...)
}

// lookup records a question and says whether its name is secure, or
// fails it. Called with r.mu held.
func (r *Resolver) lookup(typ, name string) (bool, error) {
	r.asked = append(r.asked, typ+" "+name)
	if err := r.fail[name]; err != nil {
		if de, ok := err.(*dns.Error); ok && de.Type == "" {
			e := *de
			e.Type = typ
			return false, &e
		}
		return false, err
	}
	return r.secure[name], nil
}

func notFound(typ, name string) error { return &dns.Error{Name: name, Type: typ, NotFound: true} }

func tlsaName(port int, host string) string { return fmt.Sprintf("_%d._tcp.%s", port, host) }

// LookupMX implements dns.Resolver.
func (r *Resolver) LookupMX(ctx context.Context, domain string) ([]dns.MX, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sec, err := r.lookup("MX", domain)
	if err != nil {
		return nil, false, err
	}
	if len(r.mx[domain]) == 0 {
		return nil, false, notFound("MX", domain)
	}
	return append([]dns.MX(nil), r.mx[domain]...), sec, nil
}

// LookupHost implements dns.Resolver.
func (r *Resolver) LookupHost(ctx context.Context, host string) ([]netip.Addr, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sec, err := r.lookup("A", host)
	if err != nil {
		return nil, false, err
	}
	if len(r.hosts[host]) == 0 {
		return nil, false, notFound("A", host)
	}
	return append([]netip.Addr(nil), r.hosts[host]...), sec, nil
}

// LookupA implements dns.Resolver: the IPv4 addresses of AddHost.
func (r *Resolver) LookupA(ctx context.Context, host string) ([]netip.Addr, bool, error) {
	return r.lookupFamily("A", host, netip.Addr.Is4)
}

// LookupAAAA implements dns.Resolver: the IPv6 addresses of AddHost.
func (r *Resolver) LookupAAAA(ctx context.Context, host string) ([]netip.Addr, bool, error) {
	return r.lookupFamily("AAAA", host, netip.Addr.Is6)
}

func (r *Resolver) lookupFamily(typ, host string, family func(netip.Addr) bool) ([]netip.Addr, bool, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	sec, err := r.lookup(typ, host)
	if err != nil {
		return nil, false, err
	}
	var addrs []netip.Addr
	for _, a := range r.hosts[host] {
		if family(a) {
			addrs = append(addrs, a)
		}
	}
	if len(addrs) == 0 {
		return nil, false, notFound(typ, host)
	}
	return addrs, sec, nil
}

// LookupTLSA implements dns.Resolver.
func (r *Resolver) LookupTLSA(ctx context.Context, port int, host string) ([]dns.TLSA, bool, error) {
	name := tlsaName(port, host)
	r.mu.Lock()
	defer r.mu.Unlock()
	sec, err := r.lookup("TLSA", name)
	if err != nil {
		return nil, false, err
	}
	if len(r.tlsa[name]) == 0 {
		return nil, false, notFound("TLSA", name)
	}
	return append([]dns.TLSA(nil), r.tlsa[name]...), sec, nil
}

// LookupTXT implements dns.Resolver.
func (r *Resolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.lookup("TXT", name); err != nil {
		return nil, err
	}
	if len(r.txt[name]) == 0 {
		return nil, notFound("TXT", name)
	}
	return append([]string(nil), r.txt[name]...), nil
}

// LookupPTR implements dns.Resolver.
func (r *Resolver) LookupPTR(ctx context.Context, ip netip.Addr) ([]string, error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if _, err := r.lookup("PTR", ip.String()); err != nil {
		return nil, err
	}
	if len(r.ptr[ip]) == 0 {
		return nil, notFound("PTR", ip.String())
	}
	return append([]string(nil), r.ptr[ip]...), nil
}

var _ dns.Resolver = (*Resolver)(nil)

package postscreen

import (
	"context"
	"net/netip"
	"strconv"
	"strings"
	"sync"

	"postern.dev/postern/libmail/config"
)

// Resolver is the part of dns.Resolver the DNS lists need.
type Resolver interface {
	LookupA(ctx context.Context, host string) (addrs []netip.Addr, secure bool, err error)
}

// dnsblResult is a client's DNS list score and the sites that listed it
// (positive weight), for the log and the 421 text.
type dnsblResult struct {
	score  int
	listed []string
}

// dnsblScore asks every site's zone about addr, each zone once and all
// at the same time, and adds the weights of the sites whose pattern
// matches an answer. A zone that does not answer before ctx ends counts
// as not listing the client: postscreen waits no longer than its greet
// wait, as Postfix ignores late answers.
func dnsblScore(ctx context.Context, r Resolver, sites []config.DNSBLSite, addr netip.Addr) dnsblResult {
	var zones []string
	index := map[string]int{}
	for _, s := range sites {
		if _, ok := index[s.Zone]; !ok {
			index[s.Zone] = len(zones)
			zones = append(zones, s.Zone)
		}
	}
	answers := make([][]netip.Addr, len(zones))
	rev := reverseName(addr)
	var wg sync.WaitGroup
	for i, zone := range zones {
		wg.Add(1)
		go func() {
			defer wg.Done()
			// A failed lookup (not found, or no answer in time) lists
			// nobody.
			if as, _, err := r.LookupA(ctx, rev+"."+zone); err == nil {
				answers[i] = as
			}
		}()
	}
	wg.Wait()
	var res dnsblResult
	for i := range sites {
		s := &sites[i]
		for _, a := range answers[index[s.Zone]] {
			if s.Matches(a) {
				res.score += s.Weight
				if s.Weight > 0 {
					res.listed = append(res.listed, s.Zone)
				}
				break
			}
		}
	}
	return res
}

// reverseName is addr as DNS lists index it: the octets of an IPv4
// address in reverse order (192.0.2.1 is 1.2.0.192), the nibbles of an
// IPv6 one likewise, as in ip6.arpa (RFC 5782 §2.4).
func reverseName(addr netip.Addr) string {
	addr = addr.Unmap()
	var b strings.Builder
	if addr.Is4() {
		o := addr.As4()
		for i := 3; i >= 0; i-- {
			b.WriteString(strconv.Itoa(int(o[i])))
			if i > 0 {
				b.WriteByte('.')
			}
		}
		return b.String()
	}
	o := addr.As16()
	const hex = "0123456789abcdef"
	for i := 15; i >= 0; i-- {
		b.WriteByte(hex[o[i]&0xf])
		b.WriteByte('.')
		b.WriteByte(hex[o[i]>>4])
		if i > 0 {
			b.WriteByte('.')
		}
	}
	return b.String()
}

package spf

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"postern.dev/postern/libmail/dns"
)

// zone is the DNS data of one scenario of the OpenSPF test suite, as a
// dns.Resolver answering the way the suite's drivers do (pyspf's
// test/testspf.py is the reference):
//
//   - names are case-insensitive and a trailing dot does not matter;
//   - "SPF" records (type 99) are never asked for, as RFC 7208 §3.1
//     says, but a name with no "TXT" entry at all gets one TXT record per
//     SPF entry: the suite writes most policies as SPF and relies on that
//     copy (its header says so);
//   - "TXT: NONE" is a name with the TXT type and no records, so no copy;
//   - "TIMEOUT" makes a question time out unless an answer of the type
//     asked came before it in the name's list;
//   - CNAMEs are followed, and a loop fails the way the wire client's
//     chain limit does (a temporary error).
type zone struct {
	names map[string][]zoneRecord
}

// zoneRecord is one entry of a name's list.
type zoneRecord struct {
	typ  string   // A, AAAA, MX, TXT, SPF, PTR, CNAME, or TIMEOUT
	data []string // address, name or text strings (TXT: joined), MX: the host
	pref uint16   // MX
	none bool     // "TXT: NONE": the type without records
}

// maxChase bounds CNAME chains in the zone, like the client's limit.
const maxChase = 8

// loadZone reads a scenario's zonedata.
func loadZone(data map[string][]yaml.Node) (*zone, error) {
	z := &zone{names: map[string][]zoneRecord{}}
	for name, entries := range data {
		key := canonical(name)
		var recs []zoneRecord
		hasTXT := false
		for i := range entries {
			r, err := decodeRecord(&entries[i])
			if err != nil {
				return nil, fmt.Errorf("zonedata %s: %w", name, err)
			}
			hasTXT = hasTXT || r.typ == "TXT"
			recs = append(recs, r)
		}
		if !hasTXT {
			for _, r := range recs {
				if r.typ == "SPF" {
					recs = append(recs, zoneRecord{typ: "TXT", data: r.data, none: r.none})
				}
			}
		}
		z.names[key] = append(z.names[key], recs...)
	}
	return z, nil
}

// decodeRecord decodes one entry: the scalar TIMEOUT, or a map of one
// type to its data (a string, a list of strings, or for MX [pref, host]).
func decodeRecord(n *yaml.Node) (zoneRecord, error) {
	if n.Kind == yaml.ScalarNode {
		if n.Value != "TIMEOUT" {
			return zoneRecord{}, fmt.Errorf("unknown entry %q", n.Value)
		}
		return zoneRecord{typ: "TIMEOUT"}, nil
	}
	if n.Kind != yaml.MappingNode || len(n.Content) != 2 {
		return zoneRecord{}, fmt.Errorf("entry at line %d is not one type and its data", n.Line)
	}
	r := zoneRecord{typ: strings.ToUpper(n.Content[0].Value)}
	v := n.Content[1]
	switch {
	case r.typ == "MX":
		var mx []string
		if err := v.Decode(&mx); err != nil || len(mx) != 2 {
			return r, fmt.Errorf("MX at line %d: want [pref, host]", v.Line)
		}
		p, err := strconv.ParseUint(mx[0], 10, 16)
		if err != nil {
			return r, fmt.Errorf("MX at line %d: %w", v.Line, err)
		}
		r.pref, r.data = uint16(p), []string{mx[1]}
	case v.Kind == yaml.SequenceNode:
		if err := v.Decode(&r.data); err != nil {
			return r, fmt.Errorf("%s at line %d: %w", r.typ, v.Line, err)
		}
		if r.typ != "TXT" && r.typ != "SPF" && len(r.data) != 1 {
			return r, fmt.Errorf("%s at line %d: one value per entry", r.typ, v.Line)
		}
	default:
		r.data = []string{v.Value}
		r.none = v.Value == "NONE"
	}
	switch r.typ {
	case "A", "AAAA", "MX", "TXT", "SPF", "PTR", "CNAME":
	default:
		return r, fmt.Errorf("unknown type %s at line %d", r.typ, n.Line)
	}
	return r, nil
}

func canonical(name string) string { return strings.ToLower(strings.TrimSuffix(name, ".")) }

// query returns the records of typ at name, following CNAMEs.
func (z *zone) query(name, typ string) ([]zoneRecord, error) {
	name = canonical(name)
	for hops := 0; ; hops++ {
		if hops > maxChase {
			return nil, &dns.Error{Name: name, Type: typ, Temporary: true, Err: fmt.Errorf("CNAME loop")}
		}
		recs, ok := z.names[name]
		if !ok || !validName(name) {
			return nil, &dns.Error{Name: name, Type: typ, NotFound: true}
		}
		var found []zoneRecord
		target := ""
	scan:
		for _, r := range recs {
			switch {
			case r.typ == "TIMEOUT":
				if len(found) == 0 {
					return nil, &dns.Error{Name: name, Type: typ, Temporary: true, Err: context.DeadlineExceeded}
				}
				break scan
			case r.typ == "CNAME":
				target = canonical(r.data[0])
			case r.typ == typ && !r.none:
				found = append(found, r)
			}
		}
		if len(found) > 0 {
			return found, nil
		}
		if target == "" {
			return nil, &dns.Error{Name: name, Type: typ, NotFound: true}
		}
		name = target
	}
}

func (z *zone) addrs(host, typ string) ([]netip.Addr, bool, error) {
	recs, err := z.query(host, typ)
	if err != nil {
		return nil, false, err
	}
	var addrs []netip.Addr
	for _, r := range recs {
		a, err := netip.ParseAddr(r.data[0])
		if err != nil {
			return nil, false, &dns.Error{Name: host, Type: typ, Temporary: true, Err: err}
		}
		addrs = append(addrs, a)
	}
	return addrs, false, nil
}

func (z *zone) LookupA(ctx context.Context, host string) ([]netip.Addr, bool, error) {
	return z.addrs(host, "A")
}

func (z *zone) LookupAAAA(ctx context.Context, host string) ([]netip.Addr, bool, error) {
	return z.addrs(host, "AAAA")
}

func (z *zone) LookupHost(ctx context.Context, host string) ([]netip.Addr, bool, error) {
	v4, _, err4 := z.LookupA(ctx, host)
	v6, _, err6 := z.LookupAAAA(ctx, host)
	switch {
	case len(v4)+len(v6) > 0:
		return append(v4, v6...), false, nil
	case dns.IsTemporary(err4):
		return nil, false, err4
	case dns.IsTemporary(err6):
		return nil, false, err6
	}
	return nil, false, &dns.Error{Name: host, Type: "A/AAAA", NotFound: true}
}

func (z *zone) LookupMX(ctx context.Context, domain string) ([]dns.MX, bool, error) {
	recs, err := z.query(domain, "MX")
	if err != nil {
		return nil, false, err
	}
	var mx []dns.MX
	for _, r := range recs {
		mx = append(mx, dns.MX{Host: canonical(r.data[0]), Pref: r.pref})
	}
	return mx, false, nil
}

func (z *zone) LookupTXT(ctx context.Context, name string) ([]string, error) {
	recs, err := z.query(name, "TXT")
	if err != nil {
		return nil, err
	}
	var txt []string
	for _, r := range recs {
		txt = append(txt, strings.Join(r.data, ""))
	}
	return txt, nil
}

func (z *zone) LookupPTR(ctx context.Context, ip netip.Addr) ([]string, error) {
	recs, err := z.query(reverseName(ip), "PTR")
	if err != nil {
		return nil, err
	}
	var names []string
	for _, r := range recs {
		names = append(names, strings.TrimSuffix(r.data[0], "."))
	}
	return names, nil
}

func (z *zone) LookupTLSA(ctx context.Context, port int, host string) ([]dns.TLSA, bool, error) {
	return nil, false, &dns.Error{Name: host, Type: "TLSA", NotFound: true}
}

// reverseName is the in-addr.arpa or ip6.arpa name of ip.
func reverseName(ip netip.Addr) string {
	ip = ip.Unmap()
	var b strings.Builder
	s := ip.AsSlice()
	if ip.Is4() {
		for i := len(s) - 1; i >= 0; i-- {
			fmt.Fprintf(&b, "%d.", s[i])
		}
		return b.String() + "in-addr.arpa"
	}
	for i := len(s) - 1; i >= 0; i-- {
		fmt.Fprintf(&b, "%x.%x.", s[i]&0xf, s[i]>>4)
	}
	return b.String() + "ip6.arpa"
}

var _ dns.Resolver = (*zone)(nil)

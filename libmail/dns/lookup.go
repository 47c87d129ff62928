package dns

import (
	"context"
	"encoding/hex"
	"fmt"
	"net/netip"
	"strings"
	"sync"
	"unicode/utf8"

	miekg "github.com/miekg/dns"
	"golang.org/x/net/idna"
)

// maxCNAME bounds a CNAME chain, counted over all the queries made for it.
// Resolvers stop at a similar depth (BIND: 16); mail domains rarely use
// more than one or two.
const maxCNAME = 8

var _ Resolver = (*Client)(nil)

// LookupMX implements Resolver. A null MX (RFC 7505) comes back as the
// single MX{Host: "", Pref: 0}. A NotFound error still reports secure,
// which then says the name's absence was validated.
func (c *Client) LookupMX(ctx context.Context, domain string) ([]MX, bool, error) {
	rrs, secure, err := c.query(ctx, domain, miekg.TypeMX)
	if err != nil {
		return nil, secure, err
	}
	var mx []MX
	for _, rr := range rrs {
		r := rr.(*miekg.MX)
		mx = append(mx, MX{Host: strings.ToLower(strings.TrimSuffix(r.Mx, ".")), Pref: r.Preference})
	}
	if len(mx) == 1 && mx[0].Host == "" {
		mx[0].Pref = 0
	}
	return mx, secure, nil
}

// LookupHost implements Resolver, asking for A and AAAA at once. Its
// answer is secure only if both were; an address family that failed
// temporarily is left out when the other one has addresses.
func (c *Client) LookupHost(ctx context.Context, host string) ([]netip.Addr, bool, error) {
	type result struct {
		addrs  []netip.Addr
		secure bool
		err    error
	}
	var v4, v6 result
	var wg sync.WaitGroup
	wg.Go(func() { v4.addrs, v4.secure, v4.err = c.LookupA(ctx, host) })
	v6.addrs, v6.secure, v6.err = c.LookupAAAA(ctx, host)
	wg.Wait()

	addrs := append(v4.addrs, v6.addrs...)
	secure := v4.secure && v6.secure
	switch {
	case len(addrs) > 0:
		return addrs, secure, nil
	case IsTemporary(v4.err):
		return nil, false, v4.err
	case IsTemporary(v6.err):
		return nil, false, v6.err
	}
	return nil, secure, &Error{Name: host, Type: "A/AAAA", NotFound: true}
}

// LookupA implements Resolver. The addresses are plain IPv4 ones, never
// IPv4-mapped IPv6.
func (c *Client) LookupA(ctx context.Context, host string) ([]netip.Addr, bool, error) {
	return c.lookupAddrs(ctx, host, miekg.TypeA)
}

// LookupAAAA implements Resolver.
func (c *Client) LookupAAAA(ctx context.Context, host string) ([]netip.Addr, bool, error) {
	return c.lookupAddrs(ctx, host, miekg.TypeAAAA)
}

// lookupAddrs returns the addresses of one family, qtype A or AAAA.
func (c *Client) lookupAddrs(ctx context.Context, host string, qtype uint16) ([]netip.Addr, bool, error) {
	rrs, secure, err := c.query(ctx, host, qtype)
	if err != nil {
		return nil, secure, err
	}
	var addrs []netip.Addr
	for _, rr := range rrs {
		switch r := rr.(type) {
		case *miekg.A:
			if a, ok := netip.AddrFromSlice(r.A); ok {
				addrs = append(addrs, a.Unmap())
			}
		case *miekg.AAAA:
			if a, ok := netip.AddrFromSlice(r.AAAA); ok {
				addrs = append(addrs, a)
			}
		}
	}
	if len(addrs) == 0 {
		// query returns records of qtype only, which always parse; this
		// is a defect, not an answer.
		return nil, false, &Error{Name: host, Type: miekg.TypeToString[qtype], Temporary: true, Err: fmt.Errorf("no usable address in the answer")}
	}
	return addrs, secure, nil
}

// LookupTLSA implements Resolver.
func (c *Client) LookupTLSA(ctx context.Context, port int, host string) ([]TLSA, bool, error) {
	name := fmt.Sprintf("_%d._tcp.%s", port, host)
	rrs, secure, err := c.query(ctx, name, miekg.TypeTLSA)
	if err != nil {
		return nil, secure, err
	}
	var recs []TLSA
	for _, rr := range rrs {
		r := rr.(*miekg.TLSA)
		data, err := hex.DecodeString(r.Certificate)
		if err != nil {
			// The wire format is binary; miekg/dns only ever gives
			// valid hex here, so this is a defect, not an answer.
			return nil, false, &Error{Name: name, Type: "TLSA", Temporary: true, Err: fmt.Errorf("decode data: %w", err)}
		}
		recs = append(recs, TLSA{Usage: r.Usage, Selector: r.Selector, MatchingType: r.MatchingType, Data: data})
	}
	return recs, secure, nil
}

// LookupTXT implements Resolver.
func (c *Client) LookupTXT(ctx context.Context, name string) ([]string, error) {
	rrs, _, err := c.query(ctx, name, miekg.TypeTXT)
	if err != nil {
		return nil, err
	}
	var txt []string
	for _, rr := range rrs {
		// RFC 7208 §3.3 and RFC 6376 §3.6.2.2: a record's strings are
		// one text, joined without separator.
		txt = append(txt, unescape(strings.Join(rr.(*miekg.TXT).Txt, "")))
	}
	return txt, nil
}

// LookupPTR implements Resolver.
func (c *Client) LookupPTR(ctx context.Context, ip netip.Addr) ([]string, error) {
	arpa, err := miekg.ReverseAddr(ip.Unmap().WithZone("").String())
	if err != nil {
		return nil, &Error{Name: ip.String(), Type: "PTR", NotFound: true, Err: err}
	}
	rrs, _, err := c.query(ctx, arpa, miekg.TypePTR)
	if err != nil {
		return nil, err
	}
	var names []string
	for _, rr := range rrs {
		names = append(names, strings.TrimSuffix(rr.(*miekg.PTR).Ptr, "."))
	}
	return names, nil
}

// query returns the records of type qtype at name, following CNAMEs, and
// whether every answer on the way was validated. A chain that leaves the
// answer at a CNAME whose target's records are missing (the server was
// not authoritative for the target) is continued with a query for the
// target.
func (c *Client) query(ctx context.Context, name string, qtype uint16) ([]miekg.RR, bool, error) {
	typ := miekg.TypeToString[qtype]
	qname, err := fqdn(name)
	if err != nil {
		return nil, false, &Error{Name: name, Type: typ, NotFound: true, Err: err}
	}
	ctx, cancel := context.WithTimeout(ctx, c.timeout)
	defer cancel()
	secure := true
	for hops := 0; ; {
		r, err := c.exchange(ctx, qname, qtype)
		if err != nil {
			return nil, false, &Error{Name: name, Type: typ, Temporary: true, Err: err}
		}
		secure = secure && r.AuthenticatedData
		rrs, target, n := follow(r.Answer, qname, qtype)
		if hops += n; hops > maxCNAME {
			return nil, false, &Error{Name: name, Type: typ, Temporary: true,
				Err: fmt.Errorf("CNAME chain longer than %d", maxCNAME)}
		}
		switch {
		case len(rrs) > 0:
			return rrs, secure, nil
		case r.Rcode == miekg.RcodeNameError || target == qname:
			return nil, secure, &Error{Name: name, Type: typ, NotFound: true}
		}
		qname = target
	}
}

// follow walks the CNAMEs of answer from qname and returns the records of
// qtype at the end, the name it ended at, and how many CNAMEs it took.
func follow(answer []miekg.RR, qname string, qtype uint16) ([]miekg.RR, string, int) {
	cur := qname
	for n := 0; n <= len(answer); n++ {
		var rrs []miekg.RR
		next := ""
		for _, rr := range answer {
			h := rr.Header()
			if !strings.EqualFold(h.Name, cur) || h.Class != miekg.ClassINET {
				continue
			}
			switch {
			case h.Rrtype == qtype:
				rrs = append(rrs, rr)
			case h.Rrtype == miekg.TypeCNAME:
				next = rr.(*miekg.CNAME).Target
			}
		}
		if len(rrs) > 0 || next == "" {
			return rrs, cur, n
		}
		cur = next
	}
	return nil, cur, maxCNAME + 1 // a loop within the answer
}

// fqdn makes name absolute. A name in Unicode is converted to its
// A-labels with the IDNA lookup profile (UTS #46), as SMTPUTF8 domains
// are looked up; ASCII names are left alone, since the profile would
// refuse the underscores of TLSA and DKIM names.
func fqdn(name string) (string, error) {
	if name == "" || name == "." {
		return "", fmt.Errorf("empty name")
	}
	if !isASCII(name) {
		if !utf8.ValidString(name) {
			return "", fmt.Errorf("name is not UTF-8")
		}
		a, err := idna.Lookup.ToASCII(name)
		if err != nil {
			return "", fmt.Errorf("idna: %w", err)
		}
		name = a
	}
	name = miekg.Fqdn(escapeName(name))
	if _, ok := miekg.IsDomainName(name); !ok {
		return "", fmt.Errorf("invalid domain name")
	}
	return name, nil
}

// escapeName writes name, plain text whose dots separate labels, in the
// presentation form miekg/dns takes: the octets that form would read
// as escapes or syntax are escaped the way miekg/dns writes the names
// it unpacks, so that the question echoed in an answer compares equal.
func escapeName(name string) string {
	var b strings.Builder
	for i := 0; i < len(name); i++ {
		switch c := name[i]; {
		case c == ' ' || c == '\'' || c == '@' || c == ';' || c == '(' || c == ')' || c == '"' || c == '\\':
			b.WriteByte('\\')
			b.WriteByte(c)
		case c < ' ' || c > '~':
			fmt.Fprintf(&b, "\\%03d", c)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

// unescape turns text in presentation form, as miekg/dns keeps TXT
// strings (a backslash before a quote or backslash, \DDD for other
// octets), back into the octets on the wire.
func unescape(s string) string {
	if !strings.Contains(s, "\\") {
		return s
	}
	b := make([]byte, 0, len(s))
	for i := 0; i < len(s); i++ {
		if s[i] != '\\' || i+1 == len(s) {
			b = append(b, s[i])
			continue
		}
		if i+3 < len(s) && isDigit(s[i+1]) && isDigit(s[i+2]) && isDigit(s[i+3]) {
			b = append(b, byte(int(s[i+1]-'0')*100+int(s[i+2]-'0')*10+int(s[i+3]-'0')))
			i += 3
			continue
		}
		i++
		b = append(b, s[i])
	}
	return string(b)
}

func isDigit(c byte) bool { return c >= '0' && c <= '9' }

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

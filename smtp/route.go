package smtp

import (
	"cmp"
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strconv"
	"strings"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/dns"
	"postern.dev/postern/libmail/queue"
)

// Postfix's defaults for smtp_mx_address_limit and smtp_mx_session_limit:
// at most this many addresses are tried for one request, and at most this
// many sessions that got as far as a mail transaction. They bound how long
// one request can take when a destination's servers all fail slowly.
const (
	mxAddressLimit = 5
	mxSessionLimit = 2
)

// destination is a nexthop as qmgr sends it.
type destination struct {
	nexthop string // as written, lower-cased: the TLS policy and cache key
	host    string // the domain (MX lookup) or the host ([host])
	mx      bool   // look up MX records
	port    int
}

// parseNexthop reads "domain", "domain:port", "[host]" or "[host]:port".
func parseNexthop(s string, defPort int) (destination, error) {
	s = strings.ToLower(s)
	host, mx, err := config.SplitNexthop(s)
	if err != nil {
		return destination{}, err
	}
	d := destination{nexthop: s, host: strings.TrimSuffix(host, "."), mx: mx, port: defPort}
	rest := s
	if !mx {
		rest = s[strings.IndexByte(s, ']')+1:]
	} else if i := strings.LastIndexByte(s, ':'); i >= 0 {
		rest = s[i:]
	} else {
		rest = ""
	}
	if p, ok := strings.CutPrefix(rest, ":"); ok {
		n, err := strconv.Atoi(p)
		if err != nil {
			return destination{}, fmt.Errorf("nexthop %q: bad port", s)
		}
		d.port = n
	}
	if d.host == "" {
		return destination{}, fmt.Errorf("nexthop %q: no host", s)
	}
	return d, nil
}

// mxHost is one server of a destination, with its addresses.
type mxHost struct {
	name   string // MX host name; the domain itself for an implicit MX; an address literal
	pref   int
	addrs  []netip.Addr
	secure bool // the MX records and these addresses are DNSSEC-validated: DANE may apply
}

// failure is a reason that applies to every recipient still waiting:
// the destination cannot be resolved, or a session could not be held.
type failure struct {
	status queue.Status
	dsn    string
	relay  string // "none" before a server answered, else host[ip]:port
	reply  string // for the queue entry and the DSN: a server reply, or the reason
	log    string // for the log line; "" means reply
	// unreachable: no session could be held with any server of the
	// destination (delivery.Reply.Unreachable).
	unreachable bool
	// plaintext: a TLS handshake failed under an opportunistic policy;
	// the same server is tried again without TLS.
	plaintext bool
	// connect: the TCP connection failed. Postfix logs these without
	// the queue ID, and log watchers expect that.
	connect bool
}

func (f *failure) logText() string {
	if f.log != "" {
		return f.log
	}
	return f.reply
}

func deferred(dsn, why string) *failure {
	return &failure{status: queue.Deferred, dsn: dsn, relay: "none", reply: why}
}

func bounced(dsn, why string) *failure {
	return &failure{status: queue.Failed, dsn: dsn, relay: "none", reply: why}
}

// route finds the servers of d, best first, with their addresses: MX
// records sorted by preference and shuffled among equals (RFC 5321
// §5.1), the domain's own addresses when it has no MX, the host itself
// for [host]. Servers at or below this machine's own preference are
// dropped, as the MX of a backup must not send mail back to a better one
// that is itself.
func (a *Agent) route(ctx context.Context, d destination) ([]mxHost, *failure) {
	var hosts []mxHost
	mxSecure := true
	switch {
	case !d.mx:
		hosts = []mxHost{{name: d.host}}
	default:
		mx, secure, err := a.res.LookupMX(ctx, d.host)
		switch {
		case dns.IsNotFound(err):
			// No MX: the domain's own address records are an implicit MX
			// of preference 0 (RFC 5321 §5.1).
			hosts = []mxHost{{name: d.host}}
		case err != nil:
			f := deferred("4.4.3", fmt.Sprintf("Host or domain name not found. Name service error for name=%s type=MX: Host not found, try again", d.host))
			f.unreachable = true
			return nil, f
		case isNullMX(mx):
			return nil, bounced("5.1.10", "Recipient address has null MX")
		default:
			mxSecure = secure
			hosts = a.sortMX(mx)
		}
	}
	var (
		naddrs   int
		lastName string
		tempFail bool
		out      []mxHost
	)
	for _, h := range hosts {
		if naddrs >= mxAddressLimit {
			break
		}
		if ip, err := netip.ParseAddr(strings.TrimPrefix(h.name, "ipv6:")); err == nil {
			h.name, h.addrs, h.secure = ip.String(), []netip.Addr{ip}, false
		} else {
			addrs, secure, err := a.res.LookupHost(ctx, h.name)
			if err != nil {
				lastName = h.name
				tempFail = tempFail || !dns.IsNotFound(err)
				continue
			}
			h.addrs, h.secure = addrs, secure && mxSecure
		}
		if len(h.addrs) > mxAddressLimit-naddrs {
			h.addrs = h.addrs[:mxAddressLimit-naddrs]
		}
		naddrs += len(h.addrs)
		out = append(out, h)
	}
	// Loop detection: the best server that is this machine cuts the list
	// (out is sorted, so the first such is the best).
	for i, h := range out {
		if a.isSelf(h, d.port) {
			if out = keepBetter(out[:i], h.pref); len(out) == 0 {
				return nil, bounced("5.4.6", "mail for "+d.host+" loops back to myself")
			}
			break
		}
	}
	if len(out) == 0 {
		if tempFail {
			f := deferred("4.4.3", fmt.Sprintf("Host or domain name not found. Name service error for name=%s type=A: Host not found, try again", lastName))
			f.unreachable = true
			return nil, f
		}
		return nil, bounced("5.4.4", fmt.Sprintf("Host or domain name not found. Name service error for name=%s type=A: Host not found", lastName))
	}
	return out, nil
}

// isNullMX reports a null MX (RFC 7505): a single record for ".".
func isNullMX(mx []dns.MX) bool {
	return len(mx) == 1 && mx[0].Host == ""
}

// sortMX orders MX records by preference, shuffling each group of equal
// preference so that load spreads as RFC 5321 §5.1 asks. Records for
// "." among others are dropped.
func (a *Agent) sortMX(mx []dns.MX) []mxHost {
	hosts := make([]mxHost, 0, len(mx))
	for _, m := range mx {
		if m.Host != "" {
			hosts = append(hosts, mxHost{name: strings.ToLower(strings.TrimSuffix(m.Host, ".")), pref: int(m.Pref)})
		}
	}
	a.randMu.Lock()
	a.rand.Shuffle(len(hosts), func(i, j int) { hosts[i], hosts[j] = hosts[j], hosts[i] })
	a.randMu.Unlock()
	slices.SortStableFunc(hosts, func(x, y mxHost) int { return cmp.Compare(x.pref, y.pref) })
	return hosts
}

// keepBetter keeps the hosts preferred over pref.
func keepBetter(hosts []mxHost, pref int) []mxHost {
	var out []mxHost
	for _, h := range hosts {
		if h.pref < pref {
			out = append(out, h)
		}
	}
	return out
}

// isSelf reports whether h is this machine, by name or by any address,
// at port.
func (a *Agent) isSelf(h mxHost, port int) bool {
	if a.self == nil {
		return false
	}
	if a.self.Is(h.name, netip.Addr{}, port) {
		return true
	}
	for _, ip := range h.addrs {
		if a.self.Is("", ip, port) {
			return true
		}
	}
	return false
}

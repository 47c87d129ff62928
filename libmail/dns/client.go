package dns

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"net"
	"strings"
	"time"

	miekg "github.com/miekg/dns"
)

// DefaultTimeout bounds one lookup when New is given no timeout and
// resolv.conf does not say otherwise.
const DefaultTimeout = 10 * time.Second

// ednsSize is the UDP payload postern advertises. Answers that do not fit
// come back truncated and are asked again over TCP.
const ednsSize = 4096

// Client is the Resolver postern uses: a stub resolver that asks the
// configured name servers (which must validate DNSSEC for secure to mean
// anything) and trusts their AD bit. With a NotFound error, the secure
// result says whether the denial was validated, which DANE (RFC 7672
// §2.2) distinguishes. Names in Unicode are looked up by their IDNA
// A-labels. It is safe for concurrent use.
type Client struct {
	servers  []string      // host:port, asked in this order
	timeout  time.Duration // budget for one lookup: retries and CNAME chase included
	try      time.Duration // budget for one question to one server
	attempts int           // rounds over the server list
	cache    *cache        // answers kept for their TTL (cache.go)
}

// New returns a Client asking servers ("ip:port", as
// config.ParseDNSServers gives them), or those in /etc/resolv.conf when
// servers is empty. timeout bounds each lookup; zero means the one
// resolv.conf implies, or DefaultTimeout.
func New(servers []string, timeout time.Duration) (*Client, error) {
	return newClient(servers, timeout, "/etc/resolv.conf")
}

func newClient(servers []string, timeout time.Duration, resolvConf string) (*Client, error) {
	if timeout < 0 {
		return nil, fmt.Errorf("dns: negative timeout %v", timeout)
	}
	c := &Client{servers: servers, timeout: timeout, attempts: 2, cache: newCache(time.Now)}
	if len(servers) == 0 {
		rc, err := readResolvConf(resolvConf)
		if err != nil {
			return nil, err
		}
		c.servers, c.attempts = rc.servers, rc.attempts
		if c.timeout == 0 {
			// glibc's worst case: every attempt at every server times out.
			c.timeout = min(rc.try*time.Duration(rc.attempts*len(rc.servers)), 30*time.Second)
		}
		c.try = min(rc.try, c.timeout)
		return c, nil
	}
	for _, s := range servers {
		if _, _, err := net.SplitHostPort(s); err != nil {
			return nil, fmt.Errorf("dns: server %q: %w", s, err)
		}
	}
	if c.timeout == 0 {
		c.timeout = DefaultTimeout
	}
	// Share the budget so that every server is asked twice even when the
	// first ones are dead, but give each question at least a second (or
	// the whole budget, if smaller): a validating resolver that recurses
	// for a name not in its cache may need that long, and a retry would
	// only make it start over.
	c.try = max(c.timeout/time.Duration(c.attempts*len(servers)), min(time.Second, c.timeout))
	return c, nil
}

// DisableCache makes every lookup ask the servers, for tests that change
// what a server answers while the client runs. Call it before the first
// lookup.
func (c *Client) DisableCache() { c.cache = nil }

// resolvConf is what postern takes from resolv.conf(5).
type resolvConf struct {
	servers  []string
	try      time.Duration
	attempts int
}

// readResolvConf reads the name servers, "options timeout:" and
// "options attempts:" of path. Search lists and ndots do not apply: mail
// domains are always fully qualified. Like the C library, it falls back
// to a name server on loopback when the file is missing or names none.
func readResolvConf(path string) (resolvConf, error) {
	rc := resolvConf{try: 5 * time.Second, attempts: 2}
	cfg, err := miekg.ClientConfigFromFile(path)
	switch {
	case errors.Is(err, fs.ErrNotExist):
		cfg = &miekg.ClientConfig{Port: "53", Timeout: 5, Attempts: 2}
	case err != nil:
		return rc, fmt.Errorf("dns: %w", err)
	}
	for _, s := range cfg.Servers {
		rc.servers = append(rc.servers, net.JoinHostPort(s, cfg.Port))
	}
	if len(rc.servers) == 0 {
		rc.servers = []string{net.JoinHostPort("127.0.0.1", cfg.Port), net.JoinHostPort("::1", cfg.Port)}
	}
	// resolv.conf(5) caps timeout at 30 seconds and attempts at 5.
	if cfg.Timeout > 0 {
		rc.try = time.Duration(min(cfg.Timeout, 30)) * time.Second
	}
	if cfg.Attempts > 0 {
		rc.attempts = min(cfg.Attempts, 5)
	}
	return rc, nil
}

// exchange asks the servers in order, for up to c.attempts rounds, until
// one gives an answer (NOERROR or NXDOMAIN). SERVFAIL, REFUSED and other
// failures move on to the next server, as the C library does: another
// resolver may have the answer cached or a working path to the zone.
func (c *Client) exchange(ctx context.Context, qname string, qtype uint16) (*miekg.Msg, error) {
	if c.cache != nil {
		if r := c.cache.get(qname, qtype); r != nil {
			return r, nil
		}
	}
	q := new(miekg.Msg)
	q.SetQuestion(qname, qtype)
	// RFC 6840 §5.7: AD in a query asks the resolver to report whether
	// it validated the answer, and DO (RFC 3225) asks for DNSSEC records,
	// which validating resolvers also take as that request.
	q.AuthenticatedData = true
	q.SetEdns0(ednsSize, true)
	var last error
	for range c.attempts {
		for _, srv := range c.servers {
			if err := ctx.Err(); err != nil {
				return nil, errors.Join(err, last)
			}
			q.Id = miekg.Id()
			r, err := c.ask(ctx, srv, q)
			if err == nil {
				if c.cache != nil {
					c.cache.put(qname, qtype, r)
				}
				return r, nil
			}
			last = fmt.Errorf("server %s: %w", srv, err)
		}
	}
	return nil, last
}

// ask puts q to one server, over UDP and then over TCP if the answer was
// truncated (RFC 7766 §5).
func (c *Client) ask(ctx context.Context, server string, q *miekg.Msg) (*miekg.Msg, error) {
	r, err := c.askOver(ctx, "udp", server, q)
	if r != nil && r.Truncated {
		r, err = c.askOver(ctx, "tcp", server, q)
	}
	if err != nil {
		return nil, err
	}
	if r.Rcode != miekg.RcodeSuccess && r.Rcode != miekg.RcodeNameError {
		return nil, fmt.Errorf("rcode %s", miekg.RcodeToString[r.Rcode])
	}
	return r, nil
}

// askOver makes one exchange with its own deadline. The connection is
// closed when ctx ends, so a cancelled lookup does not wait out the
// read deadline.
func (c *Client) askOver(ctx context.Context, network, server string, q *miekg.Msg) (*miekg.Msg, error) {
	ctx, cancel := context.WithTimeout(ctx, c.try)
	defer cancel()
	mc := &miekg.Client{Net: network, Timeout: c.try}
	conn, err := mc.DialContext(ctx, server)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", network, err)
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	r, _, err := mc.ExchangeWithConnContext(ctx, q, conn)
	if err != nil {
		if r != nil && r.Truncated {
			// A truncated answer may be cut mid-record; only its TC
			// flag matters.
			return r, nil
		}
		if ctx.Err() != nil {
			err = ctx.Err()
		}
		return nil, fmt.Errorf("%s: %w", network, err)
	}
	if len(r.Question) != 1 || !strings.EqualFold(r.Question[0].Name, q.Question[0].Name) ||
		r.Question[0].Qtype != q.Question[0].Qtype {
		return nil, fmt.Errorf("%s: answer to another question", network)
	}
	return r, nil
}

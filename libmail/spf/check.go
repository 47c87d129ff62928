package spf

import (
	"context"
	"fmt"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"golang.org/x/net/idna"

	"postern.dev/postern/libmail/dns"
)

// DefaultTimeout bounds one check when Checker.Timeout is zero. RFC 7208
// §4.6.4 asks for a limit of at least 20 seconds, after which the result
// is temperror.
const DefaultTimeout = 20 * time.Second

// Checker evaluates SPF on one resolver. Its zero value is not usable:
// Resolver is required. It is safe for concurrent use if its Resolver is.
type Checker struct {
	// Resolver answers the lookups.
	Resolver dns.Resolver
	// Receiver is the host name of this MTA, which %{r} gives in an
	// explanation (RFC 7208 §7.3); "unknown" when empty.
	Receiver string
	// Now is the clock %{t} reads in an explanation; time.Now when nil.
	Now func() time.Time
	// Timeout bounds a check; DefaultTimeout when zero.
	Timeout time.Duration
}

// MailFrom checks the MAIL FROM identity (RFC 7208 §2.4): may the
// client at ip send mail from sender, the reverse-path without its angle
// brackets, after the client said HELO/EHLO helo? A null reverse-path
// ("") is checked as postmaster@helo, and reported as the HELO identity.
// Every failure to get an answer (timeout, cancelled ctx) is TempError:
// the check never returns an error that could lose mail.
func (c *Checker) MailFrom(ctx context.Context, ip netip.Addr, helo, sender string) Result {
	if sender == "" {
		return c.Helo(ctx, ip, helo)
	}
	local, domain := sender, ""
	if at := strings.LastIndexByte(sender, '@'); at >= 0 {
		local, domain = sender[:at], sender[at+1:]
	}
	return c.check(ctx, ip, helo, local, domain, MailFrom)
}

// Helo checks the HELO identity (RFC 7208 §2.3): the name the client
// gave, as the sender postmaster@helo. An address literal or a name of
// one label gives None.
func (c *Checker) Helo(ctx context.Context, ip netip.Addr, helo string) Result {
	return c.check(ctx, ip, helo, "postmaster", helo, Helo)
}

// check runs check_host() (RFC 7208 §4) on domain, after the initial
// processing of §4.3.
func (c *Checker) check(ctx context.Context, ip netip.Addr, helo, local, domain string, id Identity) Result {
	if local == "" {
		// RFC 7208 §4.3: no local-part means "postmaster".
		local = "postmaster"
	}
	res := Result{Verdict: None, Identity: id, Domain: domain, Sender: local + "@" + domain}
	if !ip.IsValid() {
		res.Reason = "no client address"
		return res
	}
	d, ok := checkDomain(domain)
	if !ok {
		// RFC 7208 §4.3: a malformed domain, or one not
		// multi-label, gives None at once.
		res.Reason = fmt.Sprintf("%q is not a domain name that SPF can check", domain)
		return res
	}
	res.Domain, res.Sender = d, local+"@"+d

	timeout := c.Timeout
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	ctx, cancel := context.WithTimeout(ctx, timeout)
	defer cancel()
	now := time.Now
	if c.Now != nil {
		now = c.Now
	}
	e := &eval{
		ctx: ctx, r: c.Resolver, ip: ip.Unmap(),
		env: macroEnv{sender: res.Sender, local: local, origin: d, helo: helo, receiver: c.Receiver, now: now()},
	}
	e.env.ip = e.ip
	e.env.validated = e.validatedName
	o := e.checkHost(d)
	res.Verdict, res.Mechanism, res.Reason = o.verdict, o.mech, printable(o.reason)
	if o.verdict == Fail && o.exp != nil {
		res.Explanation = e.explain(o.exp, o.domain)
	}
	return res
}

// checkDomain returns domain as check_host() takes it: without a final
// dot, with IDNA A-labels for a name in Unicode, and reports whether it
// is a name of at least two labels that DNS can hold (RFC 7208 §4.3).
// An address literal is not.
func checkDomain(domain string) (string, bool) {
	domain = strings.TrimSuffix(domain, ".")
	for i := 0; i < len(domain); i++ {
		if domain[i] >= 0x80 {
			a, err := idna.Lookup.ToASCII(domain)
			if err != nil {
				return domain, false
			}
			domain = a
			break
		}
	}
	if !strings.Contains(domain, ".") || !isHostName(domain) {
		return domain, false
	}
	return domain, true
}

// isHostName reports whether name is a domain name of letters, digits,
// hyphens and underscores in labels of 1 to 63 octets, 253 at most in
// all.
func isHostName(name string) bool {
	if !validName(name) {
		return false
	}
	for i := 0; i < len(name); i++ {
		c := name[i] | 0x20
		if !(c >= 'a' && c <= 'z' || name[i] >= '0' && name[i] <= '9' || name[i] == '-' || name[i] == '_' || name[i] == '.') {
			return false
		}
	}
	return true
}

// validName reports whether a DNS question can be made of name (without
// its final dot): no empty label, none longer than 63 octets, 253 in
// all. A name from a macro expansion that is not is treated as one that
// does not exist, as RFC 7208 §4.3 treats a malformed <domain>.
func validName(name string) bool {
	if name == "" || len(name) > 253 {
		return false
	}
	for l := range strings.SplitSeq(name, ".") {
		if l == "" || len(l) > 63 {
			return false
		}
	}
	return true
}

// printable returns s for a log line: as it is if it is printable
// US-ASCII, else quoted. Names from macro expansions carry whatever the
// client put in its local-part or HELO.
func printable(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] < 0x20 || s[i] > 0x7e {
			return strconv.QuoteToASCII(s)
		}
	}
	return s
}

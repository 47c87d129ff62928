package main

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	miekg "github.com/miekg/dns"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/dmarc"
	"postern.dev/postern/libmail/dns"
	"postern.dev/postern/libmail/spf"
)

// dnsChecker checks the records of one domain for one server.
type dnsChecker struct {
	r        dns.Resolver
	domain   string // A-labels, lower case, no trailing dot
	self     self
	keys     []config.DKIMKey // all of dkim_signing_keys; those of domain are checked
	now      func() time.Time
	readFile func(string) ([]byte, error)
}

// run checks every record, in the order a zone is usually written.
func (c *dnsChecker) run(ctx context.Context) *dnsReport {
	rep := &dnsReport{Domain: c.domain}
	var fs []finding
	if len(c.self.Addrs) == 0 {
		fs = append(fs, c.assumeAddrs(ctx))
	}
	fs = append(fs, c.checkMX(ctx))
	fs = append(fs, c.checkAddrs(ctx)...)
	fs = append(fs, c.checkPTRs(ctx)...)
	fs = append(fs, c.checkSPF(ctx))
	if c.self.Helo != c.domain {
		fs = append(fs, c.checkHeloSPF(ctx))
	}
	fs = append(fs, c.checkDKIM(ctx)...)
	fs = append(fs, c.checkDMARC(ctx))
	fs = append(fs, c.checkMTASTS(ctx))
	fs = append(fs, c.checkTLSRPT(ctx))
	rep.Server, rep.Records = c.self, fs
	rep.OK = rep.failures() == 0
	return rep
}

// assumeAddrs takes myhostname's addresses in the DNS as the server's,
// when nothing else named them: the A and AAAA checks then prove
// nothing, which the warning says.
func (c *dnsChecker) assumeAddrs(ctx context.Context) finding {
	f := finding{Kind: "SERVER", Status: statusWarn, Name: c.self.Hostname + "."}
	addrs, _, err := c.r.LookupHost(ctx, c.self.Hostname)
	if err != nil {
		f.Status = statusError
		f.Reason = fmt.Sprintf("no public address of this server is known (give it with -ip), and %s has none in the DNS: %v", c.self.Hostname, err)
		return f
	}
	c.self.Addrs, c.self.From = uniqueAddrs(addrs), "dns"
	f.Reason = fmt.Sprintf("no public address of this server is known (behind NAT?); the addresses of %s are assumed to be its own: give them with -ip to check them", c.self.Hostname)
	return f
}

// failed turns a failed lookup into MISSING (the name or record does not
// exist, with why that matters) or ERROR (no answer).
func failed(f finding, err error, missing string) finding {
	if dns.IsNotFound(err) {
		f.Status, f.Reason = statusMissing, missing
	} else {
		f.Status, f.Reason = statusError, err.Error()
	}
	return f
}

// checkMX: the domain's MX records must name myhostname. Other hosts
// beside it (backup MXs) are fine.
func (c *dnsChecker) checkMX(ctx context.Context) finding {
	h := c.self.Hostname
	f := finding{Kind: "MX", Name: c.domain + ".", Publish: []string{fmt.Sprintf("%s. IN MX 10 %s.", c.domain, h)}}
	mx, _, err := c.r.LookupMX(ctx, c.domain)
	if err != nil {
		return failed(f, err, "no MX record: senders fall back to the address of "+c.domain+", if it has one")
	}
	slices.SortFunc(mx, func(a, b dns.MX) int { return int(a.Pref) - int(b.Pref) })
	var hosts []string
	for _, m := range mx {
		f.Found = append(f.Found, fmt.Sprintf("%d %s", m.Pref, m.Host))
		hosts = append(hosts, m.Host)
	}
	switch {
	case len(mx) == 1 && mx[0].Host == "":
		f.Status, f.Reason = statusWrong, "a null MX (RFC 7505) says "+c.domain+" takes no mail"
	case slices.Contains(hosts, h):
		f.Status = statusOK
	default:
		f.Status, f.Reason = statusWrong, fmt.Sprintf("the MX records name %s, not %s (myhostname)", strings.Join(hosts, ", "), h)
	}
	return f
}

// checkAddrs: myhostname's A and AAAA records must hold the server's
// addresses of each family. An address in the DNS that is not the
// server's is a warning (another host's, or one the server has but was
// not told); a family the server has no address of is not checked.
func (c *dnsChecker) checkAddrs(ctx context.Context) []finding {
	h := c.self.Hostname
	var out []finding
	for _, fam := range []struct {
		kind   string
		is4    bool
		lookup func(context.Context, string) ([]netip.Addr, bool, error)
	}{{"A", true, c.r.LookupA}, {"AAAA", false, c.r.LookupAAAA}} {
		var want []netip.Addr
		for _, a := range c.self.Addrs {
			if a.Is4() == fam.is4 {
				want = append(want, a)
			}
		}
		got, _, err := fam.lookup(ctx, h)
		if len(want) == 0 {
			if err == nil && len(got) > 0 && c.self.From != "dns" {
				out = append(out, finding{Kind: fam.kind, Status: statusWarn, Name: h + ".", Found: addrStrings(got),
					Reason: fmt.Sprintf("%s has %s %s, not an address of this server: give it with -ip if it is one, else remove it (senders would try it)", h, fam.kind, strings.Join(addrStrings(got), ", "))})
			}
			continue
		}
		f := finding{Kind: fam.kind, Name: h + "."}
		for _, a := range want {
			f.Publish = append(f.Publish, fmt.Sprintf("%s. IN %s %s", h, fam.kind, a))
		}
		if err != nil {
			out = append(out, failed(f, err, fmt.Sprintf("%s has no %s record", h, fam.kind)))
			continue
		}
		f.Found = addrStrings(got)
		var missing, extra []string
		for _, a := range want {
			if !slices.Contains(got, a) {
				missing = append(missing, a.String())
			}
		}
		for _, a := range got {
			if !slices.Contains(want, a) {
				extra = append(extra, a.String())
			}
		}
		switch {
		case len(missing) > 0:
			f.Status, f.Reason = statusWrong, fmt.Sprintf("%s has %s %s, without this server's %s", h, fam.kind, strings.Join(f.Found, ", "), strings.Join(missing, ", "))
		case len(extra) > 0:
			f.Status, f.Reason = statusWarn, fmt.Sprintf("%s also has %s, not an address of this server", h, strings.Join(extra, ", "))
		default:
			f.Status = statusOK
		}
		out = append(out, f)
	}
	return out
}

func addrStrings(as []netip.Addr) []string {
	var s []string
	for _, a := range as {
		s = append(s, a.String())
	}
	return s
}

// checkPTRs: each address's PTR must name the server's EHLO name, and
// that name must resolve back to the address (forward-confirmed reverse
// DNS), which receivers such as Gmail require of senders. A PTR that is
// confirmed but names another host works, and is a warning.
func (c *dnsChecker) checkPTRs(ctx context.Context) []finding {
	var out []finding
	helo := c.self.Helo
	for _, ip := range c.self.Addrs {
		rev, err := miekg.ReverseAddr(ip.String())
		if err != nil {
			continue // a valid netip.Addr always has one
		}
		f := finding{Kind: "PTR", Name: rev, Publish: []string{fmt.Sprintf("%s IN PTR %s.", rev, helo)}}
		names, err := c.r.LookupPTR(ctx, ip)
		if err != nil {
			out = append(out, failed(f, err, fmt.Sprintf("%s has no PTR record; many receivers refuse mail from such addresses. Whoever owns the address (the provider) sets it", ip)))
			continue
		}
		var confirmed []string
		for _, n := range names {
			n = hostName(n)
			f.Found = append(f.Found, n)
			addrs, _, err := c.r.LookupHost(ctx, n)
			if err == nil && slices.Contains(addrs, ip) {
				confirmed = append(confirmed, n)
			}
		}
		switch {
		case slices.Contains(confirmed, helo):
			f.Status = statusOK
		case slices.Contains(f.Found, helo):
			f.Status, f.Reason = statusWrong, fmt.Sprintf("the PTR of %s names %s, which does not resolve back to %s", ip, helo, ip)
		case len(confirmed) > 0:
			f.Status, f.Reason = statusWarn, fmt.Sprintf("the PTR of %s names %s, not %s (the EHLO name); receivers accept it, a match is better", ip, strings.Join(confirmed, ", "), helo)
		default:
			f.Status, f.Reason = statusWrong, fmt.Sprintf("the PTR of %s names %s, which does not resolve back to %s (no forward-confirmed reverse DNS)", ip, strings.Join(f.Found, ", "), ip)
		}
		out = append(out, f)
	}
	return out
}

// spfRecords picks the SPF records out of a name's TXT records (RFC 7208
// §4.5: "v=spf1" alone or followed by a space).
func spfRecords(txts []string) []string {
	var out []string
	for _, t := range txts {
		if l := strings.ToLower(t); l == "v=spf1" || strings.HasPrefix(l, "v=spf1 ") {
			out = append(out, t)
		}
	}
	return out
}

// checkSPF evaluates the domain's published SPF record (libmail/spf, as
// receivers do) for each of the server's addresses, as the check of a
// message from postmaster@domain: each must pass.
func (c *dnsChecker) checkSPF(ctx context.Context) finding {
	f := finding{Kind: "SPF", Name: c.domain + "."}
	f.Publish = []string{txtLine(c.domain, suggestSPF("", c.self.Addrs))}
	txts, err := c.r.LookupTXT(ctx, c.domain)
	if err != nil && !dns.IsNotFound(err) {
		return failed(f, err, "")
	}
	recs := spfRecords(txts)
	f.Found = recs
	switch len(recs) {
	case 0:
		f.Status, f.Reason = statusMissing, "no SPF record: receivers cannot tell this server may send for "+c.domain
		return f
	case 1:
	default:
		f.Status, f.Reason = statusWrong, fmt.Sprintf("%d SPF records: receivers see permerror (RFC 7208 §4.5); merge them into one", len(recs))
		return f
	}
	checker := spf.Checker{Resolver: c.r, Receiver: c.self.Hostname, Now: c.now}
	var bad, temp, open []string
	var missing []netip.Addr
	for _, ip := range c.self.Addrs {
		r := checker.MailFrom(ctx, ip, c.self.Helo, "postmaster@"+c.domain)
		why := r.Mechanism
		if why == "" {
			why = r.Reason
		}
		switch r.Verdict {
		case spf.Pass:
			if m := strings.TrimPrefix(strings.ToLower(r.Mechanism), "+"); m == "all" {
				open = append(open, ip.String())
			}
		case spf.TempError:
			temp = append(temp, fmt.Sprintf("%s: %s (%s)", ip, r.Verdict, why))
		default:
			bad = append(bad, fmt.Sprintf("%s gives %s (%s)", ip, r.Verdict, why))
			missing = append(missing, ip)
		}
	}
	switch {
	case len(bad) > 0:
		f.Publish = []string{txtLine(c.domain, suggestSPF(recs[0], missing))}
		f.Status, f.Reason = statusWrong, "the SPF record does not cover this server: "+strings.Join(bad, "; ")
	case len(temp) > 0:
		f.Status, f.Reason = statusError, "SPF could not be evaluated: "+strings.Join(temp, "; ")
	case len(open) > 0:
		f.Publish = []string{txtLine(c.domain, recs[0])}
		f.Status, f.Reason = statusWarn, "the SPF record passes every address (+all): anyone may send as "+c.domain
	default:
		f.Publish = []string{txtLine(c.domain, recs[0])}
		f.Status = statusOK
	}
	return f
}

// checkHeloSPF: receivers check the SPF record of the EHLO name too,
// and it is the only one for a message with a null sender (a bounce,
// RFC 7208 §2.4), checked as postmaster@ the EHLO name. Without a
// record bounces get SPF none, which is a warning; a record that does
// not pass the server is wrong.
func (c *dnsChecker) checkHeloSPF(ctx context.Context) finding {
	h := c.self.Helo
	f := finding{Kind: "SPF", Name: h + ".", Publish: []string{txtLine(h, "v=spf1 a -all")}}
	txts, err := c.r.LookupTXT(ctx, h)
	if err != nil && !dns.IsNotFound(err) {
		return failed(f, err, "")
	}
	recs := spfRecords(txts)
	f.Found = recs
	switch len(recs) {
	case 0:
		f.Status, f.Reason = statusWarn, fmt.Sprintf("no SPF record for the EHLO name %s: bounces (null sender) are checked as postmaster@%s and get none", h, h)
		return f
	case 1:
	default:
		f.Status, f.Reason = statusWrong, fmt.Sprintf("%d SPF records: receivers see permerror (RFC 7208 §4.5); merge them into one", len(recs))
		return f
	}
	checker := spf.Checker{Resolver: c.r, Receiver: c.self.Hostname, Now: c.now}
	var bad, temp []string
	for _, ip := range c.self.Addrs {
		r := checker.Helo(ctx, ip, h)
		switch r.Verdict {
		case spf.Pass:
		case spf.TempError:
			temp = append(temp, fmt.Sprintf("%s: %s (%s)", ip, r.Verdict, r.Reason))
		default:
			why := r.Mechanism
			if why == "" {
				why = r.Reason
			}
			bad = append(bad, fmt.Sprintf("%s gives %s (%s)", ip, r.Verdict, why))
		}
	}
	switch {
	case len(bad) > 0:
		f.Status, f.Reason = statusWrong, "the SPF record of the EHLO name does not cover this server, so its bounces fail SPF: "+strings.Join(bad, "; ")
	case len(temp) > 0:
		f.Status, f.Reason = statusError, "SPF could not be evaluated: "+strings.Join(temp, "; ")
	default:
		f.Publish = []string{txtLine(h, recs[0])}
		f.Status = statusOK
	}
	return f
}

// suggestSPF returns an SPF record that covers addrs: a new one (ending
// in ~all, which with DMARC keeps forwarded mail from being refused
// outright), or the published one with ip4:/ip6: terms for them inserted
// before its all or redirect=, which would otherwise decide first.
func suggestSPF(published string, addrs []netip.Addr) string {
	var terms []string
	for _, a := range addrs {
		if a.Is4() {
			terms = append(terms, "ip4:"+a.String())
		} else {
			terms = append(terms, "ip6:"+a.String())
		}
	}
	if published == "" {
		return strings.Join(append(append([]string{"v=spf1"}, terms...), "~all"), " ")
	}
	fields := strings.Fields(published)
	at := len(fields)
	for i, t := range fields {
		l := strings.ToLower(t)
		if strings.TrimLeft(l, "+-~?") == "all" || strings.HasPrefix(l, "redirect=") {
			at = i
			break
		}
	}
	out := append(slices.Clone(fields[:at]), terms...)
	return strings.Join(append(out, fields[at:]...), " ")
}

// checkDMARC: the domain should publish a DMARC policy (its own, or its
// Organizational Domain's), found as smtpd finds it (dmarc.Lookup). A
// policy of none, or one applied to a sample only, is a warning.
func (c *dnsChecker) checkDMARC(ctx context.Context) finding {
	name := "_dmarc." + c.domain
	f := finding{Kind: "DMARC", Name: name + ".", Publish: []string{txtLine(name, "v=DMARC1; p=quarantine; rua=mailto:postmaster@"+c.domain)}}
	p, verdict, reason := dmarc.Lookup(ctx, c.r, c.domain)
	switch verdict {
	case dmarc.None:
		f.Status, f.Reason = statusMissing, "no DMARC record: receivers have no policy for mail that fails SPF and DKIM"
		return f
	case dmarc.TempError:
		f.Status, f.Reason = statusError, reason
		return f
	case dmarc.PermError:
		f.Status, f.Reason = statusWrong, reason
		return f
	}
	at := "_dmarc." + p.At
	if txts, err := c.r.LookupTXT(ctx, at); err == nil {
		f.Found = txts
		for _, t := range txts {
			if hasVersion(t, "DMARC1") {
				f.Publish = []string{txtLine(at, t)}
			}
		}
	}
	f.Name = at + "."
	var notes []string
	if p.At != c.domain {
		notes = append(notes, fmt.Sprintf("the policy is %s's, which covers %s", p.At, c.domain))
	}
	f.Status = statusOK
	switch {
	case p.Policy == dmarc.PolicyNone:
		f.Status = statusWarn
		notes = append(notes, "p=none only asks for reports: mail that fails DMARC is delivered all the same; move to quarantine or reject once the reports show only your own mail")
	case p.Pct < 100:
		f.Status = statusWarn
		notes = append(notes, fmt.Sprintf("pct=%d applies the policy to only part of the failing mail", p.Pct))
	}
	f.Reason = strings.Join(notes, "; ")
	return f
}

// checkMTASTS: the _mta-sts TXT record (RFC 8461 §3.1) announces a
// policy, which senders fetch from https://mta-sts.DOMAIN/; the policy
// host must at least have an address. The policy file itself is not
// fetched: that is the web server's business, and the reason says what
// it must serve.
func (c *dnsChecker) checkMTASTS(ctx context.Context) finding {
	name := "_mta-sts." + c.domain
	id := c.now().UTC().Format("20060102150405")
	f := finding{Kind: "MTA-STS", Name: name + ".", Publish: []string{txtLine(name, "v=STSv1; id="+id)}}
	host := "mta-sts." + c.domain
	serve := fmt.Sprintf("serve https://%s/.well-known/mta-sts.txt (a certificate valid for %s) with: version: STSv1, mode: enforce (testing at first), mx: %s, max_age: 604800; change id= whenever the policy changes",
		host, host, c.self.Hostname)
	txts, err := c.r.LookupTXT(ctx, name)
	if err != nil && !dns.IsNotFound(err) {
		return failed(f, err, "")
	}
	var recs []string
	for _, t := range txts {
		if hasVersion(t, "STSv1") {
			recs = append(recs, t)
		}
	}
	f.Found = recs
	switch len(recs) {
	case 0:
		f.Status, f.Reason = statusMissing, "no MTA-STS record: senders cannot require TLS to "+c.domain+"; then "+serve
		return f
	case 1:
	default:
		f.Status, f.Reason = statusWrong, fmt.Sprintf("%d MTA-STS records: senders ignore them all (RFC 8461 §3.1)", len(recs))
		return f
	}
	tags, ok := tagList(recs[0])
	if !ok || !validSTSID(tags["id"]) {
		f.Status, f.Reason = statusWrong, "the MTA-STS record needs id= of 1 to 32 letters and digits (RFC 8461 §3.1)"
		return f
	}
	f.Publish = []string{txtLine(name, recs[0])}
	if _, _, err := c.r.LookupHost(ctx, host); err != nil {
		return failed(f, err, host+" has no address: senders cannot fetch the policy; "+serve)
	}
	f.Status, f.Reason = statusOK, serve
	return f
}

// validSTSID: 1*32(ALPHA / DIGIT), RFC 8461 §3.1.
func validSTSID(s string) bool {
	if s == "" || len(s) > 32 {
		return false
	}
	for _, r := range s {
		if !(r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// checkTLSRPT: the _smtp._tls TXT record (RFC 8460 §3) says where
// senders report TLS failures; it needs rua= with mailto: or https:
// URIs.
func (c *dnsChecker) checkTLSRPT(ctx context.Context) finding {
	name := "_smtp._tls." + c.domain
	f := finding{Kind: "TLS-RPT", Name: name + ".", Publish: []string{txtLine(name, "v=TLSRPTv1; rua=mailto:postmaster@"+c.domain)}}
	txts, err := c.r.LookupTXT(ctx, name)
	if err != nil && !dns.IsNotFound(err) {
		return failed(f, err, "")
	}
	var recs []string
	for _, t := range txts {
		if hasVersion(t, "TLSRPTv1") {
			recs = append(recs, t)
		}
	}
	f.Found = recs
	switch len(recs) {
	case 0:
		f.Status, f.Reason = statusMissing, "no TLS-RPT record: senders cannot report failed TLS to "+c.domain
		return f
	case 1:
	default:
		f.Status, f.Reason = statusWrong, fmt.Sprintf("%d TLS-RPT records: senders ignore them all (RFC 8460 §3)", len(recs))
		return f
	}
	tags, ok := tagList(recs[0])
	if !ok || !validRUA(tags["rua"]) {
		f.Status, f.Reason = statusWrong, "the TLS-RPT record needs rua= with mailto: or https: addresses (RFC 8460 §3)"
		return f
	}
	f.Publish = []string{txtLine(name, recs[0])}
	f.Status = statusOK
	return f
}

// validRUA: a comma-separated list of mailto: or https: URIs.
func validRUA(s string) bool {
	if s == "" {
		return false
	}
	for _, u := range strings.Split(s, ",") {
		u = strings.ToLower(strings.TrimSpace(u))
		if !(strings.HasPrefix(u, "mailto:") && len(u) > 7 || strings.HasPrefix(u, "https://") && len(u) > 8) {
			return false
		}
	}
	return true
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/dkim"
	"postern.dev/postern/libmail/dns"
)

const dnsSynopsis = "check DOMAIN [-ip ADDR]... [-j]"

const dnsHelp = `Print the DNS records DOMAIN should publish for this mail server, and
check, live, which of them are missing or wrong: MX (naming myhostname),
the A and AAAA records of myhostname, PTR (forward-confirmed reverse
DNS of the server's addresses, naming smtp_helo_name), SPF (evaluated
for each address), DKIM (each dkim_signing_keys selector of DOMAIN
against its key file), DMARC, MTA-STS and TLS-RPT. One line a record:
OK, MISSING, WRONG, WARN (works, but could be better) or ERROR (the
lookup failed), then the record to publish as a zone-file line. The
exit status is 1 when a record is missing or wrong or a lookup failed.
The lookups go to dns_servers (or resolv.conf's name servers).

The server's public addresses are those given with -ip (repeat it, or
separate them with commas): a server behind NAT cannot know its own.
Without -ip they are the specific addresses the smtp services listen
on, and the source addresses of the routes to the Internet, when
public; failing those, the addresses myhostname has in the DNS are
assumed (and said so).`

// cmdDNS dispatches "postern dns SUBCOMMAND".
func cmdDNS(a *app, args []string) error {
	return a.subcommands("dns", dnsSynopsis, dnsHelp, args, map[string]func(*app, []string) error{"check": dnsCheck})
}

// addrList is the -ip flag: one address each time, or several separated
// by commas.
type addrList []netip.Addr

func (l *addrList) String() string {
	var s []string
	for _, a := range *l {
		s = append(s, a.String())
	}
	return strings.Join(s, ",")
}

func (l *addrList) Set(v string) error {
	for _, f := range strings.Split(v, ",") {
		a, err := netip.ParseAddr(strings.Trim(strings.TrimSpace(f), "[]"))
		if err != nil || a.Zone() != "" {
			return fmt.Errorf("%q is not an IP address", f)
		}
		*l = append(*l, a.Unmap())
	}
	return nil
}

func dnsCheck(a *app, args []string) error {
	fs := a.flags("dns check", "DOMAIN [-ip ADDR]... [-j]", dnsHelp)
	var ips addrList
	fs.Var(&ips, "ip", "a public `address` of this server (repeatable, or comma-separated)")
	asJSON := fs.Bool("j", false, "print JSON")
	pos, err := a.parse(fs, args, 1)
	if err != nil {
		return err
	}
	if len(pos) != 1 {
		return usageError("DOMAIN expected")
	}
	domain, err := dkim.Domain(pos[0])
	if err != nil || strings.ContainsAny(domain, "@[]/\\ ") || strings.Contains(domain, "..") {
		return usageError(fmt.Sprintf("%q is not a domain", pos[0]))
	}
	if err := a.load(); err != nil {
		return err
	}
	p := &a.cfg.Params
	servers, err := config.ParseDNSServers(p.DNSServers)
	if err != nil {
		return fmt.Errorf("dns_servers: %w", err)
	}
	res, err := dns.New(servers, 0)
	if err != nil {
		return err
	}
	keys, err := config.ParseDKIMSigningKeys(p.DKIMSigningKeys)
	if err != nil {
		return fmt.Errorf("dkim_signing_keys: %w", err)
	}
	c := &dnsChecker{
		r:        res,
		domain:   domain,
		self:     findSelf(a.cfg, ips, routeSources),
		keys:     keys,
		now:      time.Now,
		readFile: os.ReadFile,
	}
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	report := c.run(ctx)
	if *asJSON {
		enc := json.NewEncoder(a.stdout)
		enc.SetIndent("", "  ")
		if err := enc.Encode(report); err != nil {
			return err
		}
	} else {
		report.print(a.stdout)
	}
	if n := report.failures(); n > 0 {
		return fmt.Errorf("dns check %s: %d of %d records missing, wrong or not checked", domain, n, len(report.Records))
	}
	return nil
}

// self is this mail server as the DNS should describe it.
type self struct {
	// Hostname is myhostname: what the MX records name, and what has the
	// A and AAAA records.
	Hostname string `json:"hostname"`
	// Helo is smtp_helo_name, what the PTR records should name: the name
	// the server gives when it sends, which receivers compare.
	Helo string `json:"helo"`
	// Addrs are the server's public addresses, and From says where they
	// came from: "-ip", "config" (listen addresses and routes) or "dns"
	// (myhostname's own records, assumed when nothing else said).
	Addrs []netip.Addr `json:"addresses"`
	From  string       `json:"addresses_from"`
}

// findSelf works out the server's names and public addresses: those
// given, else the specific public addresses the smtpd services listen
// on and the public source addresses of the routes out (routes, which
// tests replace). None at all leaves From empty, for the check to fall
// back on the DNS.
func findSelf(cfg *config.Config, given []netip.Addr, routes func() []netip.Addr) self {
	s := self{Hostname: hostName(cfg.Params.MyHostname), Helo: hostName(cfg.Params.SMTPHeloName)}
	if s.Helo == "" {
		s.Helo = s.Hostname
	}
	if len(given) > 0 {
		s.Addrs, s.From = uniqueAddrs(given), "-ip"
		return s
	}
	var found []netip.Addr
	for _, svc := range cfg.Services {
		// postscreen listens on port 25 for smtpd when it is on.
		if cmd := filepath.Base(svc.Command); !svc.Enabled || svc.Kind != "inet" || cmd != "smtpd" && cmd != "postscreen" {
			continue
		}
		for _, l := range svc.Listen {
			host, _, err := net.SplitHostPort(l)
			if err != nil {
				continue
			}
			if ip, err := netip.ParseAddr(host); err == nil && public(ip) {
				found = append(found, ip.Unmap())
			}
		}
	}
	for _, ip := range routes() {
		if public(ip) {
			found = append(found, ip)
		}
	}
	if len(found) > 0 {
		s.Addrs, s.From = uniqueAddrs(found), "config"
	}
	return s
}

// public reports whether ip can be a mail server's address on the
// Internet: not loopback, link-local, private (RFC 1918, RFC 4193) or
// shared address space (RFC 6598, carrier-grade NAT).
func public(ip netip.Addr) bool {
	ip = ip.Unmap()
	cgnat := netip.MustParsePrefix("100.64.0.0/10")
	return ip.IsGlobalUnicast() && !ip.IsPrivate() && !cgnat.Contains(ip)
}

// routeSources returns the source addresses the kernel would use to
// reach the Internet, one per family: the address mail leaves from. A
// UDP "connection" only consults the routing table; no packet is sent.
// The targets are documentation addresses (RFC 5737, RFC 3849), which
// follow the default route like any other.
func routeSources() []netip.Addr {
	var out []netip.Addr
	for _, target := range []string{"192.0.2.1:25", "[2001:db8::1]:25"} {
		c, err := net.Dial("udp", target)
		if err != nil {
			continue
		}
		if ap, err := netip.ParseAddrPort(c.LocalAddr().String()); err == nil {
			out = append(out, ap.Addr().Unmap())
		}
		c.Close()
	}
	return out
}

func uniqueAddrs(in []netip.Addr) []netip.Addr {
	out := slices.Clone(in)
	slices.SortFunc(out, func(a, b netip.Addr) int { return a.Compare(b) })
	return slices.Compact(out)
}

// hostName is a host name as the DNS compares it: lower case, without a
// trailing dot.
func hostName(s string) string { return strings.ToLower(strings.TrimSuffix(strings.TrimSpace(s), ".")) }

// The statuses of a record. ERROR is a lookup that failed: the record
// could not be checked, which is not the same as wrong.
const (
	statusOK      = "OK"
	statusMissing = "MISSING"
	statusWrong   = "WRONG"
	statusWarn    = "WARN"
	statusError   = "ERROR"
)

// finding is the verdict on one record.
type finding struct {
	Kind   string `json:"kind"` // MX, A, AAAA, PTR, SPF, DKIM, DMARC, MTA-STS, TLS-RPT
	Status string `json:"status"`
	Name   string `json:"name,omitempty"` // the owner name, fully qualified
	// Found are the records the DNS has, as text.
	Found []string `json:"found,omitempty"`
	// Publish are the zone-file lines to publish (or keep).
	Publish []string `json:"publish,omitempty"`
	// Reason says what is wrong, or what else to do.
	Reason string `json:"reason,omitempty"`
}

// dnsReport is the whole check, as -j prints it.
type dnsReport struct {
	Domain  string    `json:"domain"`
	Server  self      `json:"server"`
	OK      bool      `json:"ok"`
	Records []finding `json:"records"`
}

// failures counts the records that make the check fail.
func (r *dnsReport) failures() int {
	n := 0
	for _, f := range r.Records {
		if f.Status == statusMissing || f.Status == statusWrong || f.Status == statusError {
			n++
		}
	}
	return n
}

// print writes the report for a person: a heading comment, then per
// record a line "STATUS KIND RECORD", further records and the reason
// indented below it, so that the zone lines can be copied as they are.
func (r *dnsReport) print(w io.Writer) {
	var addrs []string
	for _, a := range r.Server.Addrs {
		addrs = append(addrs, a.String())
	}
	from := map[string]string{"-ip": "given with -ip", "config": "from the configuration and routes", "dns": "assumed from the DNS"}[r.Server.From]
	fmt.Fprintf(w, "; DNS records of %s for %s [%s] (addresses %s)\n", r.Domain, r.Server.Hostname, strings.Join(addrs, ", "), from)
	const indent = "                  "
	for _, f := range r.Records {
		first := "; " + f.Reason
		rest := f.Publish
		if len(f.Publish) > 0 {
			first, rest = f.Publish[0], f.Publish[1:]
		}
		fmt.Fprintf(w, "%-8s %-8s %s\n", f.Status, f.Kind, first)
		for _, l := range rest {
			fmt.Fprintf(w, "%s%s\n", indent, l)
		}
		if len(f.Publish) > 0 && f.Reason != "" {
			fmt.Fprintf(w, "%s; %s\n", indent, f.Reason)
		}
	}
}

// txtLine is a TXT record as a zone-file line, its text cut into quoted
// strings of at most 255 bytes (RFC 1035 §3.3.14), as dkim.ZoneLine does
// for keys.
func txtLine(name, text string) string {
	var b strings.Builder
	b.WriteString(name)
	b.WriteString(". IN TXT")
	for first := true; first || len(text) > 0; first = false {
		n := min(len(text), 255)
		chunk := strings.NewReplacer(`\`, `\\`, `"`, `\"`).Replace(text[:n])
		b.WriteString(` "` + chunk + `"`)
		text = text[n:]
	}
	return b.String()
}

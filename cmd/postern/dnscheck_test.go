package main

import (
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	miekg "github.com/miekg/dns"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/dkim"
	"postern.dev/postern/libmail/dns/dnstest"
)

// dkimZone makes a key of type typ, writes it to file, and returns its
// record as a zone-file line for selector s1 of example.test.
func dkimZone(t *testing.T, typ, file string) string {
	t.Helper()
	k, err := dkim.Generate(typ)
	if err != nil {
		t.Fatal(err)
	}
	if file != "" {
		b, err := dkim.MarshalPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(file, b, 0o600); err != nil {
			t.Fatal(err)
		}
	}
	rec, err := dkim.Record(k.Public())
	if err != nil {
		t.Fatal(err)
	}
	return dkim.ZoneLine("s1", "example.test", rec)
}

// goodZone is a zone with every record right for mail.example.test at
// 192.0.2.10 and 2001:db8::10, by key (the DKIM line is added by the
// test): a case replaces or removes lines by key.
func goodZone() map[string]string {
	return map[string]string{
		"mx":        "example.test. MX 10 mail.example.test.",
		"spf":       `example.test. TXT "v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 -all"`,
		"other":     `example.test. TXT "google-site-verification=abc"`,
		"a":         "mail.example.test. A 192.0.2.10",
		"helospf":   `mail.example.test. TXT "v=spf1 a -all"`,
		"aaaa":      "mail.example.test. AAAA 2001:db8::10",
		"ptr4":      "10.2.0.192.in-addr.arpa. PTR mail.example.test.",
		"ptr6":      reverse("2001:db8::10") + " PTR mail.example.test.",
		"dmarc":     `_dmarc.example.test. TXT "v=DMARC1; p=reject; rua=mailto:dmarc@example.test"`,
		"mtasts":    `_mta-sts.example.test. TXT "v=STSv1; id=20260101T000000"`,
		"stshost":   "mta-sts.example.test. A 192.0.2.20",
		"tlsrpt":    `_smtp._tls.example.test. TXT "v=TLSRPTv1; rua=mailto:tls@example.test"`,
		"elsewhere": "other.example.test. A 198.51.100.7",
	}
}

func reverse(ip string) string {
	r, err := miekg.ReverseAddr(ip)
	if err != nil {
		panic(err)
	}
	return r
}

// dnsEnv is a configuration for mail.example.test that asks the loopback
// server loaded with zone, and signs example.test with an Ed25519 key
// under selector s1 whose record the zone publishes unless dkim says
// otherwise ("wrong": another key's record; "": the right one).
func dnsEnv(t *testing.T, change map[string]string, dkimCase string) *testEnv {
	t.Helper()
	dir := t.TempDir()
	keyFile := filepath.Join(dir, "example.test.s1.key")
	right := dkimZone(t, "ed25519", keyFile)
	zone := goodZone()
	zone["dkim"] = right
	if dkimCase == "wrong" {
		zone["dkim"] = dkimZone(t, "ed25519", "")
	}
	for k, v := range change {
		zone[k] = v
	}
	var lines []string
	for _, l := range zone {
		if l != "" {
			lines = append(lines, l)
		}
	}
	srv := dnstest.New(t, strings.Join(lines, "\n")+"\n")
	return newTestEnv(t, fmt.Sprintf("dns_servers = [%q]\ndkim_signing_keys = [%q]\n", srv.Addr(), "example.test s1 "+keyFile))
}

var allKinds = []string{"MX", "A", "AAAA", "PTR", "SPF", "DKIM", "DMARC", "MTA-STS", "TLS-RPT"}

// checkJSON runs dns check -j and returns the report, the status of
// each kind (the worst, for kinds with several records), and the exit
// status.
func checkJSON(t *testing.T, e *testEnv) (dnsReport, map[string]string, int) {
	t.Helper()
	out, errs, code := postern("-c", e.cfg, "dns", "check", "Example.Test.", "-ip", "192.0.2.10", "-ip", "2001:db8::10", "-j")
	var rep dnsReport
	if err := json.Unmarshal([]byte(out), &rep); err != nil {
		t.Fatalf("-j output does not parse: %v\n%s%s", err, out, errs)
	}
	rank := map[string]int{statusOK: 0, statusWarn: 1, statusMissing: 2, statusWrong: 3, statusError: 4}
	st := map[string]string{}
	for _, f := range rep.Records {
		if cur, ok := st[f.Kind]; !ok || rank[f.Status] > rank[cur] {
			st[f.Kind] = f.Status
		}
	}
	return rep, st, code
}

// TestDNSCheckCorrectZone: a zone with every record right is reported
// all OK, in text (one line per record, the records to publish) and in
// JSON, and the command succeeds.
func TestDNSCheckCorrectZone(t *testing.T) {
	e := dnsEnv(t, nil, "")
	rep, st, code := checkJSON(t, e)
	if code != 0 || !rep.OK || rep.Domain != "example.test" || rep.Server.Hostname != "mail.example.test" || rep.Server.From != "-ip" {
		t.Errorf("exit %d, report %+v", code, rep)
	}
	for _, k := range allKinds {
		if st[k] != statusOK {
			t.Errorf("%s: %q, want OK", k, st[k])
		}
	}
	for _, f := range rep.Records {
		if f.Status != statusOK {
			t.Errorf("%s %s: %s (%s)", f.Kind, f.Name, f.Status, f.Reason)
		}
	}
	if len(rep.Records) != 11 { // two PTRs, one per address; SPF of the domain and of the EHLO name
		t.Errorf("%d records: %+v", len(rep.Records), rep.Records)
	}

	out, errs, code := postern("-c", e.cfg, "dns", "check", "example.test", "-ip", "192.0.2.10,2001:db8::10")
	if code != 0 || errs != "" {
		t.Fatalf("exit %d: %s%s", code, out, errs)
	}
	for _, want := range []string{
		"OK       MX       example.test. IN MX 10 mail.example.test.\n",
		"OK       A        mail.example.test. IN A 192.0.2.10\n",
		"OK       AAAA     mail.example.test. IN AAAA 2001:db8::10\n",
		"OK       PTR      10.2.0.192.in-addr.arpa. IN PTR mail.example.test.\n",
		"OK       SPF      example.test. IN TXT \"v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 -all\"\n",
		"OK       DKIM     s1._domainkey.example.test. IN TXT \"v=DKIM1; k=ed25519; p=",
		"OK       DMARC    _dmarc.example.test. IN TXT \"v=DMARC1; p=reject; rua=mailto:dmarc@example.test\"\n",
		"OK       MTA-STS  _mta-sts.example.test. IN TXT \"v=STSv1; id=20260101T000000\"\n",
		"https://mta-sts.example.test/.well-known/mta-sts.txt",
		"OK       TLS-RPT  _smtp._tls.example.test. IN TXT \"v=TLSRPTv1; rua=mailto:tls@example.test\"\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("output lacks %q:\n%s", want, out)
		}
	}
}

// TestDNSCheckBrokenRecords: each record broken in turn is reported by
// name as missing or wrong, with the record to publish, the others stay
// OK (but for one that follows from it), and the command fails.
func TestDNSCheckBrokenRecords(t *testing.T) {
	// The PTR cannot be confirmed, and the EHLO name's "v=spf1 a" does
	// not pass, when myhostname lost the address.
	follows := map[string][]string{"A elsewhere": {"PTR", "SPF"}, "no AAAA": {"PTR", "SPF"}}
	for _, c := range []struct {
		name    string
		change  map[string]string
		dkim    string
		kind    string
		status  string
		publish string // in the record's publish lines
		reason  string
	}{
		{"MX elsewhere", map[string]string{"mx": "example.test. MX 10 mx.elsewhere.example."}, "", "MX", statusWrong,
			"example.test. IN MX 10 mail.example.test.", "name mx.elsewhere.example, not mail.example.test"},
		{"no MX", map[string]string{"mx": ""}, "", "MX", statusMissing, "example.test. IN MX 10 mail.example.test.", "no MX record"},
		{"A elsewhere", map[string]string{"a": "mail.example.test. A 198.51.100.9"}, "", "A", statusWrong,
			"mail.example.test. IN A 192.0.2.10", "without this server's 192.0.2.10"},
		{"no AAAA", map[string]string{"aaaa": ""}, "", "AAAA", statusMissing, "mail.example.test. IN AAAA 2001:db8::10", "no AAAA record"},
		{"no SPF", map[string]string{"spf": ""}, "", "SPF", statusMissing,
			`example.test. IN TXT "v=spf1 ip4:192.0.2.10 ip6:2001:db8::10 ~all"`, "no SPF record"},
		{"SPF without the server", map[string]string{"spf": `example.test. TXT "v=spf1 ip4:198.51.100.1 -all"`}, "", "SPF", statusWrong,
			`example.test. IN TXT "v=spf1 ip4:198.51.100.1 ip4:192.0.2.10 ip6:2001:db8::10 -all"`, "192.0.2.10 gives fail (-all)"},
		{"no SPF for the EHLO name", map[string]string{"helospf": ""}, "", "SPF", statusWarn, `mail.example.test. IN TXT "v=spf1 a -all"`, "bounces (null sender)"},
		{"EHLO name's SPF without the server", map[string]string{"helospf": `mail.example.test. TXT "v=spf1 ip4:198.51.100.1 -all"`}, "", "SPF", statusWrong,
			`mail.example.test. IN TXT "v=spf1 a -all"`, "its bounces fail SPF"},
		{"two SPF records", map[string]string{"other": `example.test. TXT "v=spf1 -all"`}, "", "SPF", statusWrong, "", "2 SPF records"},
		{"wrong DKIM key", nil, "wrong", "DKIM", statusWrong, "s1._domainkey.example.test. IN TXT", "not the public half"},
		{"no DKIM record", map[string]string{"dkim": ""}, "", "DKIM", statusMissing, "s1._domainkey.example.test. IN TXT", "no DKIM key record for selector s1"},
		{"revoked DKIM key", map[string]string{"dkim": `s1._domainkey.example.test. TXT "v=DKIM1; k=ed25519; p="`}, "", "DKIM", statusWrong, "", "revoked"},
		{"no DMARC", map[string]string{"dmarc": ""}, "", "DMARC", statusMissing, `_dmarc.example.test. IN TXT "v=DMARC1; p=quarantine;`, "no DMARC record"},
		{"DMARC p=none", map[string]string{"dmarc": `_dmarc.example.test. TXT "v=DMARC1; p=none"`}, "", "DMARC", statusWarn, "", "p=none"},
		{"no MTA-STS", map[string]string{"mtasts": ""}, "", "MTA-STS", statusMissing, `_mta-sts.example.test. IN TXT "v=STSv1; id=`, "mta-sts.txt"},
		{"no MTA-STS host", map[string]string{"stshost": ""}, "", "MTA-STS", statusMissing, "", "mta-sts.example.test has no address"},
		{"no TLS-RPT", map[string]string{"tlsrpt": ""}, "", "TLS-RPT", statusMissing, `_smtp._tls.example.test. IN TXT "v=TLSRPTv1; rua=mailto:postmaster@example.test"`, "no TLS-RPT record"},
		{"TLS-RPT without rua", map[string]string{"tlsrpt": `_smtp._tls.example.test. TXT "v=TLSRPTv1;"`}, "", "TLS-RPT", statusWrong, "", "rua="},
		{"PTR mismatch", map[string]string{"ptr4": "10.2.0.192.in-addr.arpa. PTR other.example.test."}, "", "PTR", statusWrong,
			"10.2.0.192.in-addr.arpa. IN PTR mail.example.test.", "names other.example.test, which does not resolve back"},
		{"no PTR", map[string]string{"ptr6": ""}, "", "PTR", statusMissing, "ip6.arpa. IN PTR mail.example.test.", "has no PTR record"},
		{"PTR of another confirmed name", map[string]string{"ptr4": "10.2.0.192.in-addr.arpa. PTR host.example.test.",
			"elsewhere": "host.example.test. A 192.0.2.10"}, "", "PTR", statusWarn, "", "not mail.example.test (the EHLO name)"},
	} {
		t.Run(c.name, func(t *testing.T) {
			e := dnsEnv(t, c.change, c.dkim)
			rep, st, code := checkJSON(t, e)
			wantCode := 1
			if c.status == statusWarn {
				wantCode = 0
			}
			if code != wantCode || rep.OK != (wantCode == 0) {
				t.Errorf("exit %d, ok %v; want exit %d", code, rep.OK, wantCode)
			}
			for _, k := range allKinds {
				want := statusOK
				if k == c.kind {
					want = c.status
				}
				if slices.Contains(follows[c.name], k) {
					want = statusWrong
				}
				if st[k] != want {
					t.Errorf("%s: %s, want %s", k, st[k], want)
				}
			}
			for _, f := range rep.Records {
				if f.Kind != c.kind || f.Status != c.status {
					continue
				}
				if !strings.Contains(strings.Join(f.Publish, "\n"), c.publish) || !strings.Contains(f.Reason, c.reason) {
					t.Errorf("%s: publish %q, reason %q; want %q and %q", f.Kind, f.Publish, f.Reason, c.publish, c.reason)
				}
			}
			// The text form names the record and its status on one line.
			out, _, _ := postern("-c", e.cfg, "dns", "check", "example.test", "-ip", "192.0.2.10,2001:db8::10")
			if !strings.Contains(out, fmt.Sprintf("\n%-8s %-8s ", c.status, c.kind)) {
				t.Errorf("text output lacks the %s %s line:\n%s", c.status, c.kind, out)
			}
		})
	}
}

// TestDNSCheckNoKeys: a domain without dkim_signing_keys is a warning,
// which does not fail the check.
func TestDNSCheckNoKeys(t *testing.T) {
	srv := dnstest.New(t, strings.Join(func() []string {
		var l []string
		for _, v := range goodZone() {
			l = append(l, v)
		}
		return l
	}(), "\n")+"\n")
	e := newTestEnv(t, fmt.Sprintf("dns_servers = [%q]\n", srv.Addr()))
	rep, st, code := checkJSON(t, e)
	if code != 0 || st["DKIM"] != statusWarn {
		t.Fatalf("exit %d, DKIM %s: %+v", code, st["DKIM"], rep.Records)
	}
}

// TestSuggestSPF: the server's addresses go before the term that would
// decide first.
func TestSuggestSPF(t *testing.T) {
	a := []netip.Addr{netip.MustParseAddr("192.0.2.1"), netip.MustParseAddr("2001:db8::1")}
	for _, c := range []struct{ in, want string }{
		{"", "v=spf1 ip4:192.0.2.1 ip6:2001:db8::1 ~all"},
		{"v=spf1 mx -all", "v=spf1 mx ip4:192.0.2.1 ip6:2001:db8::1 -all"},
		{"v=spf1 include:_spf.example.net ~ALL", "v=spf1 include:_spf.example.net ip4:192.0.2.1 ip6:2001:db8::1 ~ALL"},
		{"v=spf1 a redirect=_spf.example.net", "v=spf1 a ip4:192.0.2.1 ip6:2001:db8::1 redirect=_spf.example.net"},
		{"v=spf1 a", "v=spf1 a ip4:192.0.2.1 ip6:2001:db8::1"},
	} {
		if got := suggestSPF(c.in, a); got != c.want {
			t.Errorf("%q: %q, want %q", c.in, got, c.want)
		}
	}
}

// TestFindSelf: -ip wins; else the public listen addresses of the smtpd
// services and the public route sources; private ones never count.
func TestFindSelf(t *testing.T) {
	cfg, err := config.Parse([]byte(`myhostname = "Mail.Example.Test."
[services.smtp]
listen = ["192.0.2.5:25", "10.0.0.1:25", "127.0.0.1:25"]
`), "x.toml", config.Options{})
	if err != nil {
		t.Fatal(err)
	}
	routes := func() []netip.Addr {
		return []netip.Addr{netip.MustParseAddr("192.168.1.2"), netip.MustParseAddr("2001:db8::5"), netip.MustParseAddr("100.64.0.1")}
	}
	s := findSelf(cfg, nil, routes)
	if s.Hostname != "mail.example.test" || s.Helo != "mail.example.test" || s.From != "config" ||
		fmt.Sprint(s.Addrs) != "[192.0.2.5 2001:db8::5]" {
		t.Errorf("%+v", s)
	}
	s = findSelf(cfg, []netip.Addr{netip.MustParseAddr("198.51.100.1")}, routes)
	if s.From != "-ip" || fmt.Sprint(s.Addrs) != "[198.51.100.1]" {
		t.Errorf("%+v", s)
	}
	cfg.Services = nil
	s = findSelf(cfg, nil, func() []netip.Addr { return nil })
	if s.From != "" || len(s.Addrs) != 0 {
		t.Errorf("%+v", s)
	}
}

// TestDNSCheckUsage: bad domains and addresses are usage errors.
func TestDNSCheckUsage(t *testing.T) {
	e := newTestEnv(t, "")
	for _, args := range [][]string{
		{"dns"}, {"dns", "bogus"}, {"dns", "check"}, {"dns", "check", "a@b"}, {"dns", "check", "a..b"},
		{"dns", "check", "example.test", "-ip", "nope"}, {"dns", "check", "a", "b"},
	} {
		out, errs, code := postern(append([]string{"-c", e.cfg}, args...)...)
		if code != 2 || out != "" || !strings.Contains(errs, "\nusage: postern dns") {
			t.Errorf("%q: exit %d, %q %q", args, code, out, errs)
		}
	}
}

func TestTagList(t *testing.T) {
	for _, c := range []struct {
		in   string
		want map[string]string
	}{
		{"v=DKIM1; k=ed25519; p=abc", map[string]string{"v": "DKIM1", "k": "ed25519", "p": "abc"}},
		{" v = STSv1 ;id=1;", map[string]string{"v": "STSv1", "id": "1"}},
		{"p=", map[string]string{"p": ""}},
		{"", map[string]string{}},
		{"v=1; v=2", nil},
		{"novalue", nil},
		{"=x", nil},
	} {
		got, ok := tagList(c.in)
		if ok != (c.want != nil) || fmt.Sprint(got) != fmt.Sprint(c.want) && c.want != nil {
			t.Errorf("%q: %v %v, want %v", c.in, got, ok, c.want)
		}
	}
}

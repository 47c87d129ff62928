package spf

import (
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	miekg "github.com/miekg/dns"

	"postern.dev/postern/libmail/dns"
	"postern.dev/postern/libmail/dns/dnstest"
)

// TestSuiteOverWire runs the suite again through the resolver the
// daemons use, the miekg/dns client of libmail/dns, asking a loopback
// server loaded with each scenario's data: what the in-memory zone
// answers, the wire must answer alike (NXDOMAIN and NODATA as NotFound,
// SERVFAIL as temporary, CNAMEs followed, TXT strings joined).
func TestSuiteOverWire(t *testing.T) {
	for _, f := range suiteFiles() {
		t.Run(filepath.Base(f), func(t *testing.T) {
			passed, total := runSuite(t, f, wireResolver, checkMailFrom)
			t.Logf("%s over the wire: %d of %d cases pass", f, passed, total)
		})
	}
}

// wireResolver starts a loopback server with z's records and returns a
// client of it. A TIMEOUT entry becomes SERVFAIL for the types that
// have no records before it, and the records after it are left out, as
// the in-memory zone does.
func wireResolver(t *testing.T, z *zone) dns.Resolver {
	t.Helper()
	srv := dnstest.New(t, "")
	for name, recs := range z.names {
		owner := miekg.Fqdn(name)
		has := map[string]bool{}
		for _, r := range recs {
			if r.typ == "TIMEOUT" {
				for _, typ := range []string{"A", "AAAA", "MX", "TXT", "PTR"} {
					if !has[typ] {
						srv.FailType(owner, typ, miekg.RcodeServerFailure)
					}
				}
				break
			}
			if r.none {
				continue
			}
			has[r.typ] = true
			srv.Add(wireRecord(t, owner, r).String())
		}
	}
	c, err := dns.New([]string{srv.Addr()}, 5*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	return c
}

// wireRecord makes the resource record of a zone entry; built as a
// value and written out by miekg/dns, so that any octet in the suite's
// names and texts comes out escaped as zone files need.
func wireRecord(t *testing.T, owner string, r zoneRecord) miekg.RR {
	h := func(typ uint16) miekg.RR_Header {
		return miekg.RR_Header{Name: owner, Rrtype: typ, Class: miekg.ClassINET, Ttl: 300}
	}
	switch r.typ {
	case "A":
		return &miekg.A{Hdr: h(miekg.TypeA), A: parseIP(t, r.data[0])}
	case "AAAA":
		return &miekg.AAAA{Hdr: h(miekg.TypeAAAA), AAAA: parseIP(t, r.data[0])}
	case "MX":
		return &miekg.MX{Hdr: h(miekg.TypeMX), Preference: r.pref, Mx: miekg.Fqdn(r.data[0])}
	case "TXT", "SPF":
		txt := r.data
		if len(txt) == 0 {
			txt = []string{""} // RDATA holds at least one string
		}
		if r.typ == "SPF" {
			return &miekg.SPF{Hdr: h(miekg.TypeSPF), Txt: txt}
		}
		return &miekg.TXT{Hdr: h(miekg.TypeTXT), Txt: txt}
	case "PTR":
		return &miekg.PTR{Hdr: h(miekg.TypePTR), Ptr: miekg.Fqdn(r.data[0])}
	case "CNAME":
		return &miekg.CNAME{Hdr: h(miekg.TypeCNAME), Target: miekg.Fqdn(r.data[0])}
	}
	t.Fatalf("no wire form for %s", r.typ)
	return nil
}

func parseIP(t *testing.T, s string) []byte {
	t.Helper()
	ip, err := netip.ParseAddr(s)
	if err != nil {
		t.Fatal(err)
	}
	return ip.AsSlice()
}

package spf

import (
	"net/netip"
	"testing"

	"postern.dev/postern/libmail/testkit"
)

// FuzzParseRecord: any text parses or is refused without panic, and a
// record that parses has a canonical form that parses to the same
// canonical form. The corpus holds the records of the RFC 7208 and RFC
// 4408 suites and edge cases of the grammar.
func FuzzParseRecord(f *testing.F) {
	f.Add("v=spf1 ip4:192.0.2.0/24 ip6:2001:db8::/32 a/24//64 mx:%{d2} -all")
	f.Add("v=spf1 include:_spf.%{o} exists:%{ir}.%{l1r+-}.%{d} redirect=x.example exp=why.%{D}")
	f.Fuzz(func(t *testing.T, txt string) {
		r, err := parseRecord(txt)
		if err != nil {
			return
		}
		s := r.String()
		r2, err := parseRecord(s)
		if err != nil {
			t.Fatalf("canonical form %q of %q does not parse: %v", s, txt, err)
		}
		if s2 := r2.String(); s2 != s {
			t.Fatalf("canonical form of %q: %q, then %q", txt, s, s2)
		}
	})
}

// FuzzCheck evaluates a record (at example.org and, for loops, at the
// names it may include or redirect to) and an explanation text against
// fixed DNS data, with a sender and HELO from the fuzzer: no panic, a
// verdict of RFC 7208 §2.6, an explanation only for Fail and fit for an
// SMTP reply, and a bounded number of questions (§4.6.4).
func FuzzCheck(f *testing.F) {
	f.Add("v=spf1 mx ptr a:%{h} exists:%{ir}.%{v}.%{d} include:inc.example.org -all exp=exp.%{d}",
		"%{c} %{p} %{L} %{r} %{t} %{i}", "user", "mail.example.org", false)
	f.Add("v=spf1 redirect=inc.example.org", "%{s}", "", "h.example.org", true)
	f.Fuzz(func(t *testing.T, rec, exp, local, helo string, v6 bool) {
		r := testkit.NewResolver()
		for _, name := range []string{"example.org", "inc.example.org", "a.example.org"} {
			r.SetTXT(name, rec)
		}
		r.SetTXT("exp.example.org", exp)
		r.AddMX("example.org", "mx.example.org", 10)
		r.AddMX("example.org", "", 0)
		r.AddHost("mx.example.org", "192.0.2.1", "2001:db8::1")
		r.AddHost("example.org", "192.0.2.2", "2001:db8::2")
		r.AddPTR("192.0.2.1", "mx.example.org", "other.example.net")
		r.AddPTR("2001:db8::1", "mx.example.org")
		ip := netip.MustParseAddr("192.0.2.1")
		if v6 {
			ip = netip.MustParseAddr("2001:db8::1")
		}
		res := (&Checker{Resolver: r}).MailFrom(t.Context(), ip, helo, local+"@example.org")
		switch res.Verdict {
		case None, Neutral, Pass, Fail, SoftFail, TempError, PermError:
		default:
			t.Fatalf("verdict %q", res.Verdict)
		}
		if res.Explanation != "" && res.Verdict != Fail {
			t.Errorf("explanation %q with %s", res.Explanation, res.Verdict)
		}
		if len(res.Explanation) > maxExplanation {
			t.Errorf("explanation of %d octets", len(res.Explanation))
		}
		for i := 0; i < len(res.Explanation); i++ {
			if c := res.Explanation[i]; c < 0x20 || c > 0x7e {
				t.Fatalf("explanation %q holds %q", res.Explanation, c)
			}
		}
		// Ten terms, each at most an MX query and ten address queries
		// or a record; the PTR lookup and its validation once; the
		// record and the explanation.
		if n := len(r.Asked()); n > maxLookups*(1+maxMX)+1+maxPTR+2 {
			t.Errorf("%d questions: %v", n, r.Asked())
		}
	})
}

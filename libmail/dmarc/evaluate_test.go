package dmarc

import (
	"context"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/authres"

	"postern.dev/postern/libmail/testkit"
)

// fixed is a Sampler that always draws the same number.
type fixed int

func (f fixed) IntN(n int) int { return int(f) % n }

// noDraw is a Sampler for cases that must not draw: pct=100, or no
// failure.
type noDraw struct{ t *testing.T }

func (s noDraw) IntN(int) int {
	s.t.Helper()
	s.t.Error("Sampler drawn from")
	return 0
}

func resolver(recs map[string]string) *testkit.Resolver {
	r := testkit.NewResolver()
	for name, txt := range recs {
		r.SetTXT(name, strings.Split(txt, "|")...)
	}
	return r
}

func spf(result authres.ResultValue, d string) Input {
	return Input{SPF: result, SPFDomain: d}
}

func TestEvaluate(t *testing.T) {
	const (
		reject     = "v=DMARC1; p=reject"
		quarantine = "v=DMARC1; p=quarantine"
	)
	pass, fail, temp := authres.ResultValue(authres.ResultPass), authres.ResultValue(authres.ResultFail), authres.ResultValue(authres.ResultTempError)
	type want struct {
		verdict   Verdict
		policy    Policy
		domain    string
		at        string
		published Policy
	}
	for _, tc := range []struct {
		name string
		recs map[string]string // TXT records, several separated by |
		in   Input
		from []string
		s    Sampler
		want want
	}{
		{name: "SPF aligned, relaxed (RFC 7489 §3.1.2's example)",
			recs: map[string]string{"_dmarc.example.com": reject},
			in:   spf(pass, "cbg.bounces.example.com"), from: []string{"example.com"},
			want: want{Pass, PolicyNone, "example.com", "example.com", PolicyReject}},
		{name: "SPF not aligned in strict mode",
			recs: map[string]string{"_dmarc.example.com": reject + "; aspf=s"},
			in:   spf(pass, "cbg.bounces.example.com"), from: []string{"example.com"},
			want: want{Fail, PolicyReject, "example.com", "example.com", PolicyReject}},
		{name: "SPF aligned but failed",
			recs: map[string]string{"_dmarc.example.com": quarantine},
			in:   spf(fail, "example.com"), from: []string{"example.com"},
			want: want{Fail, PolicyQuarantine, "example.com", "example.com", PolicyQuarantine}},
		{name: "SPF passed for another domain",
			recs: map[string]string{"_dmarc.example.com": reject},
			in:   spf(pass, "example.net"), from: []string{"example.com"},
			want: want{Fail, PolicyReject, "example.com", "example.com", PolicyReject}},
		{name: "no SPF result",
			recs: map[string]string{"_dmarc.example.com": reject},
			in:   Input{SPFDomain: "example.com"}, from: []string{"example.com"},
			want: want{Fail, PolicyReject, "example.com", "example.com", PolicyReject}},
		{name: "DKIM aligned, relaxed",
			recs: map[string]string{"_dmarc.news.example.com": reject},
			in:   Input{DKIM: []DKIM{{"esp.example.net", pass}, {"example.com", pass}}}, from: []string{"news.example.com"},
			want: want{Pass, PolicyNone, "news.example.com", "news.example.com", PolicyReject}},
		{name: "DKIM not aligned in strict mode",
			recs: map[string]string{"_dmarc.news.example.com": reject + "; adkim=s"},
			in:   Input{DKIM: []DKIM{{"example.com", pass}}}, from: []string{"news.example.com"},
			want: want{Fail, PolicyReject, "news.example.com", "news.example.com", PolicyReject}},
		{name: "DKIM aligned but failed, another passed",
			recs: map[string]string{"_dmarc.example.com": reject},
			in:   Input{DKIM: []DKIM{{"example.com", fail}, {"esp.example.net", pass}}}, from: []string{"example.com"},
			want: want{Fail, PolicyReject, "example.com", "example.com", PolicyReject}},
		{name: "no record anywhere",
			in: spf(fail, "example.com"), from: []string{"a.b.example.com"},
			want: want{None, PolicyNone, "a.b.example.com", "", ""}},
		{name: "no From domain",
			recs: map[string]string{"_dmarc.example.com": reject},
			want: want{None, PolicyNone, "", "", ""}},
		{name: "From domain not a domain",
			from: []string{"[192.0.2.1]", ""},
			want: want{None, PolicyNone, "", "", ""}},
		{name: "the Organizational Domain's record, its sp= for a subdomain",
			recs: map[string]string{"_dmarc.example.com": "v=DMARC1; p=reject; sp=quarantine"},
			in:   spf(fail, "mail.example.com"), from: []string{"mail.example.com"},
			want: want{Fail, PolicyQuarantine, "mail.example.com", "example.com", PolicyQuarantine}},
		{name: "the Organizational Domain's record, its p= without sp=",
			recs: map[string]string{"_dmarc.example.co.uk": reject},
			in:   spf(fail, "x.example.co.uk"), from: []string{"a.b.example.co.uk"},
			want: want{Fail, PolicyReject, "a.b.example.co.uk", "example.co.uk", PolicyReject}},
		{name: "the Organizational Domain's own mail: p=, not sp=",
			recs: map[string]string{"_dmarc.example.com": "v=DMARC1; p=reject; sp=none"},
			in:   spf(fail, "example.com"), from: []string{"example.com"},
			want: want{Fail, PolicyReject, "example.com", "example.com", PolicyReject}},
		{name: "a subdomain's own record: its p=, even with sp=",
			recs: map[string]string{"_dmarc.mail.example.com": "v=DMARC1; p=quarantine; sp=none", "_dmarc.example.com": reject},
			in:   spf(fail, "example.net"), from: []string{"mail.example.com"},
			want: want{Fail, PolicyQuarantine, "mail.example.com", "mail.example.com", PolicyQuarantine}},
		{name: "a subdomain's own p=none shadows the Organizational Domain's",
			recs: map[string]string{"_dmarc.mail.example.com": "v=DMARC1; p=none", "_dmarc.example.com": reject},
			in:   spf(fail, "example.net"), from: []string{"mail.example.com"},
			want: want{Fail, PolicyNone, "mail.example.com", "mail.example.com", PolicyNone}},
		{name: "TXT records that are no DMARC records: on to the Organizational Domain",
			recs: map[string]string{"_dmarc.mail.example.com": "hello|v=spf1 -all|v=DMARC2; p=none", "_dmarc.example.com": reject},
			in:   spf(fail, "example.net"), from: []string{"mail.example.com"},
			want: want{Fail, PolicyReject, "mail.example.com", "example.com", PolicyReject}},
		{name: "several records: permerror, no policy, no fallback",
			recs: map[string]string{"_dmarc.mail.example.com": "v=DMARC1; p=none|v=DMARC1; p=reject", "_dmarc.example.com": reject},
			in:   spf(fail, "example.net"), from: []string{"mail.example.com"},
			want: want{PermError, PolicyNone, "mail.example.com", "", ""}},
		{name: "several records at the Organizational Domain",
			recs: map[string]string{"_dmarc.example.com": reject + "|" + quarantine},
			in:   spf(fail, "example.net"), from: []string{"mail.example.com"},
			want: want{PermError, PolicyNone, "mail.example.com", "", ""}},
		{name: "record without a valid p=: permerror",
			recs: map[string]string{"_dmarc.example.com": "v=DMARC1; p=rejetc"},
			in:   spf(fail, "example.net"), from: []string{"example.com"},
			want: want{PermError, PolicyNone, "example.com", "", ""}},
		{name: "record without a valid p=, with rua=: p=none",
			recs: map[string]string{"_dmarc.example.com": "v=DMARC1; p=rejetc; rua=mailto:d@example.com"},
			in:   spf(fail, "example.net"), from: []string{"example.com"},
			want: want{Fail, PolicyNone, "example.com", "example.com", PolicyNone}},
		{name: "U-label From: domain, looked up in A-labels",
			recs: map[string]string{"_dmarc.xn--bcher-kva.example": reject},
			in:   spf(pass, "mail.Bücher.example"), from: []string{"Bücher.example"},
			want: want{Pass, PolicyNone, "xn--bcher-kva.example", "xn--bcher-kva.example", PolicyReject}},
		{name: "case and a trailing dot",
			recs: map[string]string{"_dmarc.example.com": reject + "; aspf=s"},
			in:   spf(pass, "EXAMPLE.com."), from: []string{"Example.COM."},
			want: want{Pass, PolicyNone, "example.com", "example.com", PolicyReject}},
		// Several author domains: the strictest failing policy decides.
		{name: "two From domains, one passes, one fails",
			recs: map[string]string{"_dmarc.good.example": reject, "_dmarc.victim.example": reject},
			in:   spf(pass, "good.example"), from: []string{"good.example", "victim.example"},
			want: want{Fail, PolicyReject, "victim.example", "victim.example", PolicyReject}},
		{name: "two failing From domains: reject over quarantine",
			recs: map[string]string{"_dmarc.q.example": quarantine, "_dmarc.r.example": reject},
			in:   spf(fail, "q.example"), from: []string{"q.example", "r.example"},
			want: want{Fail, PolicyReject, "r.example", "r.example", PolicyReject}},
		{name: "two From domains, one without a record",
			recs: map[string]string{"_dmarc.good.example": reject},
			in:   spf(pass, "good.example"), from: []string{"norecord.example", "good.example"},
			want: want{Pass, PolicyNone, "good.example", "good.example", PolicyReject}},
		{name: "the same domain twice counts once",
			recs: map[string]string{"_dmarc.good.example": reject},
			in:   spf(pass, "good.example"), from: []string{"good.example", "GOOD.example."},
			want: want{Pass, PolicyNone, "good.example", "good.example", PolicyReject}},
		// pct= (RFC 7489 §6.6.4): a message not sampled gets the next
		// milder policy.
		{name: "pct=25, sampled",
			recs: map[string]string{"_dmarc.example.com": reject + "; pct=25"},
			in:   spf(fail, "example.com"), from: []string{"example.com"}, s: fixed(24),
			want: want{Fail, PolicyReject, "example.com", "example.com", PolicyReject}},
		{name: "pct=25, not sampled: reject becomes quarantine",
			recs: map[string]string{"_dmarc.example.com": reject + "; pct=25"},
			in:   spf(fail, "example.com"), from: []string{"example.com"}, s: fixed(25),
			want: want{Fail, PolicyQuarantine, "example.com", "example.com", PolicyReject}},
		{name: "pct=50, not sampled: quarantine becomes none",
			recs: map[string]string{"_dmarc.example.com": quarantine + "; pct=50"},
			in:   spf(fail, "example.com"), from: []string{"example.com"}, s: fixed(99),
			want: want{Fail, PolicyNone, "example.com", "example.com", PolicyQuarantine}},
		{name: "pct=0 samples nothing",
			recs: map[string]string{"_dmarc.example.com": reject + "; pct=0"},
			in:   spf(fail, "example.com"), from: []string{"example.com"},
			want: want{Fail, PolicyQuarantine, "example.com", "example.com", PolicyReject}},
		{name: "pct=100 samples everything",
			recs: map[string]string{"_dmarc.example.com": reject + "; pct=100"},
			in:   spf(fail, "example.com"), from: []string{"example.com"},
			want: want{Fail, PolicyReject, "example.com", "example.com", PolicyReject}},
		// A DNS failure behind an aligned check is no failure.
		{name: "aligned DKIM temperror, SPF fail: temperror",
			recs: map[string]string{"_dmarc.example.com": reject},
			in:   Input{SPF: fail, SPFDomain: "example.com", DKIM: []DKIM{{"example.com", temp}}}, from: []string{"example.com"},
			want: want{TempError, PolicyNone, "example.com", "example.com", PolicyReject}},
		{name: "aligned SPF temperror: temperror",
			recs: map[string]string{"_dmarc.example.com": reject},
			in:   spf(temp, "bounce.example.com"), from: []string{"example.com"},
			want: want{TempError, PolicyNone, "example.com", "example.com", PolicyReject}},
		{name: "aligned SPF temperror, aligned DKIM pass: pass",
			recs: map[string]string{"_dmarc.example.com": reject},
			in:   Input{SPF: temp, SPFDomain: "example.com", DKIM: []DKIM{{"example.com", pass}}}, from: []string{"example.com"},
			want: want{Pass, PolicyNone, "example.com", "example.com", PolicyReject}},
		{name: "unaligned DKIM temperror: fail",
			recs: map[string]string{"_dmarc.example.com": reject},
			in:   Input{DKIM: []DKIM{{"esp.example.net", temp}}}, from: []string{"example.com"},
			want: want{Fail, PolicyReject, "example.com", "example.com", PolicyReject}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			s := tc.s
			if s == nil {
				s = noDraw{t}
			}
			in := tc.in
			in.From = tc.from
			got := Evaluate(context.Background(), resolver(tc.recs), in, s)
			g := want{got.Verdict, got.Policy, got.Domain, got.RecordDomain, got.Published}
			if g != tc.want {
				t.Errorf("got %+v, want %+v (reason %q)", g, tc.want, got.Reason)
			}
			if got.Reason == "" {
				t.Error("no reason")
			}
		})
	}
}

// TestEvaluateLookups: policy discovery (RFC 7489 §6.6.3) asks the From:
// domain, then its Organizational Domain, and no more.
func TestEvaluateLookups(t *testing.T) {
	r := resolver(nil)
	res := Evaluate(context.Background(), r, Input{From: []string{"a.b.example.co.uk"}}, noDraw{t})
	if res.Verdict != None || res.Policy != PolicyNone {
		t.Errorf("got %s, %s; want none, none", res.Verdict, res.Policy)
	}
	want := []string{"TXT _dmarc.a.b.example.co.uk", "TXT _dmarc.example.co.uk"}
	if got := r.Asked(); !slices.Equal(got, want) {
		t.Errorf("asked %q, want %q", got, want)
	}
	r = resolver(map[string]string{"_dmarc.example.com": "v=DMARC1; p=reject"})
	Evaluate(context.Background(), r, Input{From: []string{"example.com"}}, nil)
	if got, want := r.Asked(), []string{"TXT _dmarc.example.com"}; !slices.Equal(got, want) {
		t.Errorf("asked %q, want %q", got, want)
	}
}

// TestEvaluateTempError: a DNS timeout gives temperror and never a policy
// that rejects or quarantines; nor does it skip to the Organizational
// Domain, whose record may be laxer than the one that did not answer.
func TestEvaluateTempError(t *testing.T) {
	for _, tc := range []struct {
		name    string
		failing string
	}{
		{"the From: domain's record", "_dmarc.mail.example.com"},
		{"the Organizational Domain's record", "_dmarc.example.com"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := resolver(map[string]string{"_dmarc.example.com": "v=DMARC1; p=reject"})
			r.SetTemporaryFailure(tc.failing, true)
			res := Evaluate(context.Background(), r, Input{From: []string{"mail.example.com"}, SPF: authres.ResultFail, SPFDomain: "mail.example.com"}, noDraw{t})
			if res.Verdict != TempError || res.Policy != PolicyNone {
				t.Errorf("got %s, %s (%s); want temperror, none", res.Verdict, res.Policy, res.Reason)
			}
			if !strings.Contains(res.Reason, "temporary failure") {
				t.Errorf("reason %q does not say the lookup failed", res.Reason)
			}
			if asked := r.Asked(); asked[len(asked)-1] != "TXT "+tc.failing {
				t.Errorf("asked %q after the failure", asked)
			}
		})
	}
	// The context ends: temperror too.
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	r := &cancelled{resolver(map[string]string{"_dmarc.example.com": "v=DMARC1; p=reject"})}
	if res := Evaluate(ctx, r, Input{From: []string{"example.com"}}, nil); res.Verdict != TempError || res.Policy != PolicyNone {
		t.Errorf("cancelled: got %s, %s; want temperror, none", res.Verdict, res.Policy)
	}
}

// cancelled fails lookups once the context is done, as package dns's
// client does.
type cancelled struct{ *testkit.Resolver }

func (c *cancelled) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, fmt.Errorf("lookup %s: %w", name, err)
	}
	return c.Resolver.LookupTXT(ctx, name)
}

func TestEvaluateTooManyAuthors(t *testing.T) {
	var from []string
	for i := range MaxAuthorDomains + 1 {
		from = append(from, fmt.Sprintf("d%d.example", i))
	}
	r := resolver(nil)
	res := Evaluate(context.Background(), r, Input{From: from}, nil)
	if res.Verdict != PermError || res.Policy != PolicyReject {
		t.Errorf("got %s, %s; want permerror, reject", res.Verdict, res.Policy)
	}
	if n := len(r.Asked()); n != 0 {
		t.Errorf("%d lookups for a message refused outright", n)
	}
	res = Evaluate(context.Background(), r, Input{From: from[:MaxAuthorDomains]}, nil)
	if res.Verdict != None {
		t.Errorf("%d domains: got %s, want none", MaxAuthorDomains, res.Verdict)
	}
}

// TestEvaluateReason: the reason of a failure names the domain and its
// policy, in one line of ASCII, for a 550 reply.
func TestEvaluateReason(t *testing.T) {
	r := resolver(map[string]string{"_dmarc.xn--bcher-kva.example": "v=DMARC1; p=reject"})
	res := Evaluate(context.Background(), r, Input{From: []string{"bücher.example"}}, nil)
	want := "From: domain xn--bcher-kva.example fails its DMARC policy (p=reject): no SPF or DKIM pass aligned with it"
	if res.Reason != want {
		t.Errorf("reason %q, want %q", res.Reason, want)
	}
}

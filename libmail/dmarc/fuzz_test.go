package dmarc

import (
	"context"
	"errors"
	"testing"

	"github.com/emersion/go-msgauth/authres"
)

// FuzzRecord: whatever a domain publishes, parsing (the cleaning and
// go-msgauth's parser) never panics and go-msgauth never refuses what
// the cleaning let through; a parsed record holds only valid values; and
// Evaluate on it, for mail from a subdomain, is consistent: none for no
// DMARC record, permerror for an unusable one, pass when aligned SPF
// passed, else fail with the record's sp= or p=, lowered only when pct=
// left the message out, and no policy for any verdict but fail. Its
// corpus is in testdata/fuzz/FuzzRecord (RFC 7489 Appendix B's records
// and broken ones).
func FuzzRecord(f *testing.F) {
	f.Add("v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com,mailto:tld-test@thirdparty.example.net!10m; pct=25", false, uint8(30))
	f.Fuzz(func(t *testing.T, txt string, spfPass bool, draw uint8) {
		rec, err := parseRecord(txt)
		if err != nil && !errors.Is(err, errBadPolicy) {
			t.Fatalf("go-msgauth refused the cleaned record %q: %v", txt, err)
		}
		if err == nil {
			if !isPolicy(string(rec.Policy)) || (rec.SubdomainPolicy != "" && !isPolicy(string(rec.SubdomainPolicy))) {
				t.Fatalf("%q: p=%q sp=%q", txt, rec.Policy, rec.SubdomainPolicy)
			}
			if rec.Percent != nil && (*rec.Percent < 0 || *rec.Percent > 100) {
				t.Fatalf("%q: pct=%d", txt, *rec.Percent)
			}
			for _, m := range []string{string(rec.DKIMAlignment), string(rec.SPFAlignment)} {
				if m != "r" && m != "s" {
					t.Fatalf("%q: alignment %q", txt, m)
				}
			}
		}

		r := resolver(nil)
		r.SetTXT("_dmarc.example.com", txt)
		in := Input{From: []string{"mail.example.com"}, SPF: authres.ResultFail, SPFDomain: "mail.example.com"}
		if spfPass {
			in.SPF = authres.ResultPass
		}
		res := Evaluate(context.Background(), r, in, fixed(draw))
		if again := Evaluate(context.Background(), r, in, fixed(draw)); again != res {
			t.Fatalf("%q: %+v, then %+v", txt, res, again)
		}
		var want Verdict
		switch {
		case !isRecord(txt):
			want = None
		case err != nil:
			want = PermError
		case spfPass:
			want = Pass
		default:
			want = Fail
		}
		if res.Verdict != want {
			t.Fatalf("%q: verdict %s, want %s (%s)", txt, res.Verdict, want, res.Reason)
		}
		if res.Verdict != Fail {
			if res.Policy != PolicyNone {
				t.Fatalf("%q: %s with policy %s", txt, res.Verdict, res.Policy)
			}
		} else {
			published := Policy(rec.Policy)
			if rec.SubdomainPolicy != "" {
				published = Policy(rec.SubdomainPolicy)
			}
			sampled := res.Pct == 100 || int(draw)%100 < res.Pct
			if res.Published != published || res.Sampled != sampled ||
				(sampled && res.Policy != published) || (!sampled && res.Policy != published.lower()) {
				t.Fatalf("%q: %+v, want published %s, sampled %v", txt, res, published, sampled)
			}
		}
		for i := 0; i < len(res.Reason); i++ {
			if c := res.Reason[i]; c < ' ' || c > '~' {
				t.Fatalf("%q: reason %q is no line of ASCII", txt, res.Reason)
			}
		}
	})
}

// FuzzAuthorDomains: any From: field gives domains in the form Evaluate
// compares (A-labels, lower case), each once, and no panic.
func FuzzAuthorDomains(f *testing.F) {
	f.Add([]byte("From: \"Doe, John\" <john@example.com>, jörg@Bücher.example\r\n"))
	f.Fuzz(func(t *testing.T, field []byte) {
		ds := AuthorDomains([][]byte{field, field})
		seen := map[string]bool{}
		for _, d := range ds {
			if d == "" || domain(d) != d || seen[d] {
				t.Fatalf("%q: domains %q", field, ds)
			}
			seen[d] = true
		}
	})
}

package dmarc

import (
	"errors"
	"testing"
)

func TestIsRecord(t *testing.T) {
	for _, tc := range []struct {
		txt  string
		want bool
	}{
		{"v=DMARC1; p=none", true},
		{"v=DMARC1", true},
		{"v=DMARC1;p=reject", true},
		{" v = DMARC1 ; p=none", true},
		{"V=DMARC1; p=none", true},
		{"v=dmarc1; p=none", false}, // the value is case-sensitive (RFC 7489 §6.4)
		{"p=none; v=DMARC1", false}, // v= must come first (§6.3)
		{"v=DMARC10; p=none", false},
		{"v=DMARC2; p=none", false},
		{"v=spf1 -all", false},
		{"hello", false},
		{"", false},
	} {
		if got := isRecord(tc.txt); got != tc.want {
			t.Errorf("isRecord(%q) = %v, want %v", tc.txt, got, tc.want)
		}
	}
}

func TestParseRecord(t *testing.T) {
	type want struct {
		p, sp, adkim, aspf string
		pct                int // -1: absent
	}
	for _, tc := range []struct {
		txt  string
		want want
		err  error
	}{
		// The forms of RFC 7489 Appendix B.2.
		{"v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com", want{"none", "", "r", "r", -1}, nil},
		{"v=DMARC1; p=none; rua=mailto:dmarc-feedback@example.com; ruf=mailto:auth-reports@thirdparty.example.net", want{"none", "", "r", "r", -1}, nil},
		{"v=DMARC1; p=quarantine; rua=mailto:dmarc-feedback@example.com,mailto:tld-test@thirdparty.example.net!10m; pct=25", want{"quarantine", "", "r", "r", 25}, nil},
		{"v=DMARC1; p=reject; sp=quarantine; adkim=s; aspf=s", want{"reject", "quarantine", "s", "s", -1}, nil},
		{"v=DMARC1;p=reject;", want{"reject", "", "r", "r", -1}, nil},
		// Case: tag names and keyword values (RFC 5234 §2.3).
		{"v=DMARC1; P=Reject; SP=None; ADKIM=S; aspf=R", want{"reject", "none", "s", "r", -1}, nil},
		// Invalid optional tags are dropped for their defaults (§6.3).
		{"v=DMARC1; p=quarantine; pct=abc", want{"quarantine", "", "r", "r", -1}, nil},
		{"v=DMARC1; p=quarantine; pct=101", want{"quarantine", "", "r", "r", -1}, nil},
		{"v=DMARC1; p=quarantine; pct=-1", want{"quarantine", "", "r", "r", -1}, nil},
		{"v=DMARC1; p=quarantine; pct=0", want{"quarantine", "", "r", "r", 0}, nil},
		{"v=DMARC1; p=reject; adkim=x; aspf=", want{"reject", "", "r", "r", -1}, nil},
		{"v=DMARC1; p=none; fo=1 : D; rf=AFRF; ri=3600", want{"none", "", "r", "r", -1}, nil},
		{"v=DMARC1; p=none; fo=2; rf=iodef; ri=0", want{"none", "", "r", "r", -1}, nil},
		{"v=DMARC1; p=none; ri=99999999999999999999", want{"none", "", "r", "r", -1}, nil},
		{"v=DMARC1; p=reject; t=y; np=none; psd=n; foo", want{"reject", "", "r", "r", -1}, nil},
		{"v=DMARC1; p=reject; v=DMARC2", want{"reject", "", "r", "r", -1}, nil},
		// No valid p= (or a bad sp=): p=none with a valid rua=, else
		// unusable (§6.6.3 step 6).
		{"v=DMARC1; p=bogus; rua=mailto:a@example.com", want{"none", "", "r", "r", -1}, nil},
		{"v=DMARC1; rua=mailto:a@example.com; adkim=s", want{"none", "", "s", "r", -1}, nil},
		{"v=DMARC1; p=reject; sp=bogus; rua=mailto:a@example.com!10m", want{"none", "", "r", "r", -1}, nil},
		{"v=DMARC1; p=bogus", want{}, errBadPolicy},
		{"v=DMARC1", want{}, errBadPolicy},
		{"v=DMARC1; p=reject; sp=bogus", want{}, errBadPolicy},
		{"v=DMARC1; p=bogus; rua=not a uri", want{}, errBadPolicy},
		{"v=DMARC1; p=bogus; rua=", want{}, errBadPolicy},
	} {
		rec, err := parseRecord(tc.txt)
		if !errors.Is(err, tc.err) || (err != nil) != (tc.err != nil) {
			t.Errorf("parseRecord(%q): error %v, want %v", tc.txt, err, tc.err)
			continue
		}
		if err != nil {
			continue
		}
		pct := -1
		if rec.Percent != nil {
			pct = *rec.Percent
		}
		got := want{string(rec.Policy), string(rec.SubdomainPolicy), string(rec.DKIMAlignment), string(rec.SPFAlignment), pct}
		if got != tc.want {
			t.Errorf("parseRecord(%q) = %+v, want %+v", tc.txt, got, tc.want)
		}
	}
}

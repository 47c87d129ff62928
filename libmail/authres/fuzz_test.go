package authres

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	msgauth "github.com/emersion/go-msgauth/authres"
)

// FuzzField: whatever the checks report (any domain, address, selector,
// signature or comment text), Field either refuses an authserv-id that
// is no token, or writes one header field in CRLF lines whose unfolded
// body is Value's, that Claims finds ours and no one else's, and that
// go-msgauth's Parse reads back: the authserv-id, each method and result
// value in order, and each property as pvalue made it. Result values are
// picked from the method's own (an index), since others are refused.
// Its corpus is in testdata/fuzz/FuzzField (RFC 8601 Appendix B's
// examples and hostile values).
func FuzzField(f *testing.F) {
	f.Add("mx.example.net", uint8(2), "sender@example.com", "mail.example.com", "", uint8(1),
		"example.com", "@example.com", "sel", "rsa-sha256", "dzdVyOfAKCdLXdJOc9G2q8LoXSlEniSbav+yuU4zGeeruD00lszZVoG4ZHRNiYzR",
		uint8(1), "example.com", "reject", "example.com", "none")
	f.Fuzz(func(t *testing.T, authservID string, spfValue uint8, mailFrom, helo, spfComment string, dkimValue uint8,
		d, i, s, a, b string, dmarcValue uint8, from, p, policyDomain, dis string) {
		pick := func(method string, n uint8) msgauth.ResultValue {
			vs := values[method]
			return vs[int(n)%len(vs)]
		}
		res := Results{
			SPF:   &SPF{Result: pick("spf", spfValue), MailFrom: mailFrom, Helo: helo, Comment: spfComment},
			DKIM:  []DKIM{{Result: pick("dkim", dkimValue), Domain: d, Identifier: i, Selector: s, Algorithm: a, Signature: b, Comment: spfComment}},
			DMARC: &DMARC{Result: pick("dmarc", dmarcValue), From: from, Policy: p, PolicyDomain: policyDomain, Disposition: dis},
		}
		field, err := Field(authservID, res)
		if err != nil {
			if !errors.Is(err, ErrID) || CheckID(authservID) == nil {
				t.Fatalf("Field(%q): %v", authservID, err)
			}
			return
		}
		v, err := Value(authservID, res)
		if err != nil {
			t.Fatalf("Value(%q): %v after Field succeeded", authservID, err)
		}
		checkField(t, field, authservID)
		if collapse(string(field[len(Name)+1:])) != collapse(v) {
			t.Fatalf("field %q is not value %q", field, v)
		}
		for _, line := range bytes.SplitAfter(field, []byte("\r\n")) {
			if len(line) > 1000 {
				t.Fatalf("line of %d octets", len(line))
			}
		}
		if other := authservID + "x"; Claims(field, other) {
			t.Fatalf("Claims(%q, %q) = true", field, other)
		}

		gotID, rs, err := msgauth.Parse(v)
		if err != nil || gotID != authservID || len(rs) != 3 {
			t.Fatalf("Parse(%q) = %q, %d results, %v", v, gotID, len(rs), err)
		}
		spf, ok1 := rs[0].(*msgauth.SPFResult)
		dkim, ok2 := rs[1].(*msgauth.DKIMResult)
		dmarc, ok3 := rs[2].(*msgauth.DMARCResult)
		if !ok1 || !ok2 || !ok3 {
			t.Fatalf("Parse(%q): results %T %T %T", v, rs[0], rs[1], rs[2])
		}
		if spf.Value != res.SPF.Result || spf.From != mailDomain(mailFrom) || spf.Helo != hostName(helo) {
			t.Fatalf("Parse(%q): spf %+v", v, spf)
		}
		if dkim.Value != res.DKIM[0].Result || dkim.Domain != hostName(d) || dkim.Identifier != identity(i) {
			t.Fatalf("Parse(%q): dkim %+v", v, dkim)
		}
		if dmarc.Value != res.DMARC.Result || dmarc.From != hostName(from) {
			t.Fatalf("Parse(%q): dmarc %+v", v, dmarc)
		}
	})
}

// FuzzClaims: Claims never panics on any field; it ignores the case of
// the field name and the ASCII case of the authserv-id; and a field that starts with a
// valid authserv-id is always claimed by it, whatever follows.
func FuzzClaims(f *testing.F) {
	f.Add([]byte("Authentication-Results: mx.example.net; dkim=pass header.d=example.com\r\n"), "mx.example.net", []byte("; dkim=pass"))
	f.Fuzz(func(t *testing.T, field []byte, authservID string, rest []byte) {
		got := Claims(field, authservID)
		upper := strings.Map(func(r rune) rune {
			if r >= 'a' && r <= 'z' {
				return r - 'a' + 'A'
			}
			return r
		}, authservID)
		if Claims(field, upper) != got {
			t.Fatalf("Claims(%q) depends on the case of %q", field, authservID)
		}
		if name, body, ok := bytes.Cut(field, []byte(":")); ok {
			low := []byte{}
			for _, c := range name {
				low = append(low, lower(c))
			}
			if Claims(append(append(low, ':'), body...), authservID) != got {
				t.Fatalf("Claims(%q) depends on the case of the name", field)
			}
		}
		if CheckID(authservID) != nil {
			return
		}
		if len(rest) > 0 && (rest[0] == ' ' || rest[0] == ';' || rest[0] == '\t' || rest[0] == '(') {
			ours := append([]byte(Name+": "+authservID), rest...)
			if !Claims(ours, authservID) {
				t.Fatalf("Claims(%q, %q) = false", ours, authservID)
			}
		}
	})
}

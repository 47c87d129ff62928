package authres

import (
	"bytes"
	"errors"
	"strings"
	"testing"

	msgauth "github.com/emersion/go-msgauth/authres"

	"postern.dev/postern/libmail/message"
)

const id = "mx.example.net"

// passed is a message that passed everything, signed twice by one
// domain (RSA and Ed25519, as postern signs).
var passed = Results{
	SPF: &SPF{Result: msgauth.ResultPass, MailFrom: "bounces+SRS=x=y@Mail.Example.COM"},
	DKIM: []DKIM{
		{Result: msgauth.ResultPass, Domain: "example.com", Selector: "rsa", Algorithm: "rsa-sha256", Signature: "dzdVyOfA KCdLXdJOc9G2q8LoXSlEniSb av+yuU4zGeeruD00lszZVoG4ZHRNiYzR"},
		{Result: msgauth.ResultPass, Domain: "example.com", Identifier: "joe@football.example.com", Selector: "ed", Algorithm: "ed25519-sha256", Signature: "/gCrinpcQOoIfuHNQIbq4pgh9kyIK3AQ"},
	},
	DMARC: &DMARC{Result: msgauth.ResultPass, From: "example.com", Policy: "reject", PolicyDomain: "example.com", Disposition: "none"},
}

func TestValue(t *testing.T) {
	for _, tc := range []struct {
		name string
		res  Results
		want string
	}{
		{"nothing checked", Results{}, "mx.example.net"},
		{"passed", passed, "mx.example.net; spf=pass smtp.mailfrom=mail.example.com; " +
			"dkim=pass header.a=rsa-sha256 header.b=dzdVyOfA header.d=example.com header.s=rsa; " +
			"dkim=pass header.a=ed25519-sha256 header.b=/gCrinpc header.d=example.com header.i=joe@football.example.com header.s=ed; " +
			"dmarc=pass (p=reject dis=none) header.from=example.com polrec.p=reject"},
		{"DMARC fail, quarantined, record at the Organizational Domain",
			Results{
				SPF:   &SPF{Result: msgauth.ResultFail, MailFrom: "a@evil.example", Helo: "mx.evil.example", Comment: "192.0.2.1 is not allowed"},
				DKIM:  []DKIM{{Result: msgauth.ResultNone}},
				DMARC: &DMARC{Result: msgauth.ResultFail, From: "News.Example.COM", Policy: "Reject", PolicyDomain: "example.com", Disposition: "quarantine"},
			},
			"mx.example.net; spf=fail (192.0.2.1 is not allowed) smtp.helo=mx.evil.example smtp.mailfrom=evil.example; " +
				"dkim=none; dmarc=fail (p=reject dis=quarantine) header.from=news.example.com polrec.domain=example.com polrec.p=reject"},
		{"temperror, no record",
			Results{
				SPF:   &SPF{Result: msgauth.ResultTempError, Helo: "[192.0.2.1]", Comment: "DNS timeout; (SERVFAIL) \"x=y\"\r\n\\"},
				DMARC: &DMARC{Result: msgauth.ResultTempError, From: "bücher.example"},
			},
			"mx.example.net; spf=temperror (DNS timeout SERVFAIL x y); dmarc=temperror header.from=xn--bcher-kva.example"},
		{"values left out or shortened",
			Results{DKIM: []DKIM{{Result: msgauth.ResultFail, Domain: "[192.0.2.1]", Identifier: "\"john doe\"@Example.com", Selector: "sel;ector", Algorithm: "RSA-SHA256", Signature: "ab=="}}},
			"mx.example.net; dkim=fail header.a=rsa-sha256 header.i=@example.com"},
	} {
		got, err := Value(id, tc.res)
		if err != nil || got != tc.want {
			t.Errorf("%s:\n got %q, %v\nwant %q", tc.name, got, err, tc.want)
		}
	}
}

func TestValueErrors(t *testing.T) {
	for _, bad := range []string{"", "mx example", "mx;example", "\"mx\"", "mx.exämple", "a@b", "mx(1)"} {
		if _, err := Value(bad, passed); !errors.Is(err, ErrID) {
			t.Errorf("Value(%q): %v, want ErrID", bad, err)
		}
		if CheckID(bad) == nil {
			t.Errorf("CheckID(%q) = nil", bad)
		}
	}
	for _, res := range []Results{
		{SPF: &SPF{Result: msgauth.ResultPolicy}},
		{SPF: &SPF{}},
		{DKIM: []DKIM{{Result: msgauth.ResultSoftFail}}},
		{DMARC: &DMARC{Result: msgauth.ResultNeutral}},
		{DMARC: &DMARC{Result: "pass x=y"}},
	} {
		if _, err := Field(id, res); !errors.Is(err, ErrResult) {
			t.Errorf("Field(%+v): %v, want ErrResult", res, err)
		}
	}
}

// TestField: the field is one header field, in CRLF lines of at most 78
// characters, whose unfolded body is Value's, which go-msgauth's Parse
// reads back, and which Claims says is ours.
func TestField(t *testing.T) {
	for _, res := range []Results{{}, passed, {DKIM: []DKIM{{Result: msgauth.ResultPass, Domain: strings.Repeat("a", 63) + "." + strings.Repeat("b", 63) + ".example"}}}} {
		f, err := Field(id, res)
		if err != nil {
			t.Fatal(err)
		}
		checkField(t, f, id)
		for _, line := range strings.SplitAfter(string(f), "\r\n") {
			// Longer only when it is one word that cannot be broken.
			if len(line) > 80 && strings.Contains(strings.TrimSpace(line), " ") || len(line) > 1000 {
				t.Errorf("line of %d characters: %q", len(line)-2, line)
			}
		}
		v, _ := Value(id, res)
		if got := collapse(string(f[len(Name)+1:])); got != collapse(v) && !(res.DKIM == nil && got == collapse(v+"; none")) {
			t.Errorf("field %q is not value %q", f, v)
		}
	}
	if f, _ := Field(id, Results{}); string(f) != "Authentication-Results: mx.example.net; none\r\n" {
		t.Errorf("no results: %q", f)
	}
}

// checkField checks that f is one whole header field in CRLF lines and
// that Claims finds it ours.
func checkField(t *testing.T, f []byte, id string) {
	t.Helper()
	n := 0
	if end := message.Fields(f, func(name, _ []byte) {
		n++
		if string(name) != Name {
			t.Errorf("field named %q", name)
		}
	}); n != 1 || end != len(f) || !bytes.HasSuffix(f, []byte("\r\n")) || bytes.Count(f, []byte("\n")) != bytes.Count(f, []byte("\r\n")) {
		t.Errorf("%q is not one header field in CRLF lines", f)
	}
	if !Claims(f, id) {
		t.Errorf("Claims(%q, %q) = false", f, id)
	}
}

func collapse(s string) string { return strings.Join(strings.Fields(s), " ") }

// TestRoundTrip: go-msgauth's Parse reads back what Value wrote.
func TestRoundTrip(t *testing.T) {
	v, err := Value(id, passed)
	if err != nil {
		t.Fatal(err)
	}
	gotID, rs, err := msgauth.Parse(v)
	if err != nil || gotID != id || len(rs) != 4 {
		t.Fatalf("Parse(%q) = %q, %d results, %v", v, gotID, len(rs), err)
	}
	if r, ok := rs[0].(*msgauth.SPFResult); !ok || r.Value != msgauth.ResultPass || r.From != "mail.example.com" {
		t.Errorf("spf: %+v", rs[0])
	}
	if r, ok := rs[2].(*msgauth.DKIMResult); !ok || r.Value != msgauth.ResultPass || r.Domain != "example.com" || r.Identifier != "joe@football.example.com" {
		t.Errorf("dkim: %+v", rs[2])
	}
	if r, ok := rs[3].(*msgauth.DMARCResult); !ok || r.Value != msgauth.ResultPass || r.From != "example.com" {
		t.Errorf("dmarc: %+v", rs[3])
	}
}

func TestPvalues(t *testing.T) {
	for _, tc := range []struct {
		f    func(string) string
		name string
		in   string
		want string
	}{
		{mailDomain, "mailDomain", "user@Example.COM", "example.com"},
		{mailDomain, "mailDomain", "prvs=1234=user@example.com", "example.com"},
		{mailDomain, "mailDomain", "jörg@bücher.example", "xn--bcher-kva.example"},
		{mailDomain, "mailDomain", "", ""},
		{mailDomain, "mailDomain", "postmaster", ""},
		{mailDomain, "mailDomain", "a@[192.0.2.1]", ""},
		{identity, "identity", "@example.com", "@example.com"},
		{identity, "identity", "joe.user+tag@Example.com.", "joe.user+tag@example.com"},
		{identity, "identity", "a=b@example.com", "@example.com"},
		{identity, "identity", "a..b@example.com", "@example.com"},
		{identity, "identity", ".a@example.com", "@example.com"},
		{identity, "identity", "jörg@example.com", "@example.com"},
		{identity, "identity", "example.com", ""},
		{identity, "identity", "a@", ""},
		{sigPrefix, "sigPrefix", "abc", "abc"},
		{sigPrefix, "sigPrefix", " ab\r\n\tcd+/ef gh ij", "abcd+/ef"},
		{sigPrefix, "sigPrefix", "abcdef==", ""},
		{sigPrefix, "sigPrefix", "", ""},
		{comment, "comment", "  signature (expired) ", "signature expired"},
		{comment, "comment", "a;b=c\"d\\e\x00f\tgé", "a b c d e f g"},
		{comment, "comment", strings.Repeat("x", 300), strings.Repeat("x", 200)},
	} {
		if got := tc.f(tc.in); got != tc.want {
			t.Errorf("%s(%q) = %q, want %q", tc.name, tc.in, got, tc.want)
		}
	}
}

package spf

import (
	"context"
	"net/netip"
	"strings"
	"testing"
	"time"

	miekg "github.com/miekg/dns"

	"postern.dev/postern/libmail/dns"
	"postern.dev/postern/libmail/dns/dnstest"
	"postern.dev/postern/libmail/testkit"
)

var client = netip.MustParseAddr("192.0.2.10")

// What smtpd writes into Authentication-Results comes with the result:
// the identity, the domain checked, and the <sender> of check_host().
func TestIdentity(t *testing.T) {
	r := testkit.NewResolver()
	r.SetTXT("example.org", "v=spf1 ip4:192.0.2.0/24 -all")
	r.SetTXT("mail.example.org", "v=spf1 -all")
	c := &Checker{Resolver: r}
	tests := []struct {
		name          string
		res           Result
		verdict       Verdict
		id            Identity
		domain, prop  string
		sender, mech  string
		reasonSnippet string
	}{
		{"mail from", c.MailFrom(t.Context(), client, "mail.example.org", "Alice@example.org."),
			Pass, MailFrom, "example.org", "smtp.mailfrom", "Alice@example.org", "ip4:192.0.2.0/24", ""},
		{"null reverse-path is postmaster@helo", c.MailFrom(t.Context(), client, "mail.example.org", ""),
			Fail, Helo, "mail.example.org", "smtp.helo", "postmaster@mail.example.org", "-all", ""},
		{"helo", c.Helo(t.Context(), client, "mail.example.org"),
			Fail, Helo, "mail.example.org", "smtp.helo", "postmaster@mail.example.org", "-all", ""},
		{"no local-part", c.MailFrom(t.Context(), client, "x", "@example.org"),
			Pass, MailFrom, "example.org", "smtp.mailfrom", "postmaster@example.org", "ip4:192.0.2.0/24", ""},
		{"address literal HELO", c.Helo(t.Context(), client, "[192.0.2.10]"),
			None, Helo, "[192.0.2.10]", "smtp.helo", "postmaster@[192.0.2.10]", "", "not a domain name"},
		{"no record", c.MailFrom(t.Context(), client, "x", "bob@example.net"),
			None, MailFrom, "example.net", "smtp.mailfrom", "bob@example.net", "", "no SPF record"},
		{"no client address", c.MailFrom(t.Context(), netip.Addr{}, "x", "bob@example.org"),
			None, MailFrom, "example.org", "smtp.mailfrom", "bob@example.org", "", "no client address"},
	}
	for _, tt := range tests {
		res := tt.res
		name, value := res.Property()
		if res.Verdict != tt.verdict || res.Identity != tt.id || res.Domain != tt.domain || name != tt.prop ||
			value != tt.domain || res.Sender != tt.sender || res.Mechanism != tt.mech ||
			!strings.Contains(res.Reason, tt.reasonSnippet) {
			t.Errorf("%s: %+v, property %s=%s", tt.name, res, name, value)
		}
	}
}

// A name in Unicode is checked by its A-labels (RFC 5890), as the
// resolver looks it up.
func TestUnicodeDomain(t *testing.T) {
	r := testkit.NewResolver()
	r.SetTXT("xn--bcher-kva.example", "v=spf1 ip4:192.0.2.10 -all")
	res := (&Checker{Resolver: r}).MailFrom(t.Context(), client, "x", "info@bücher.example")
	if res.Verdict != Pass || res.Domain != "xn--bcher-kva.example" {
		t.Errorf("%+v", res)
	}
}

// A DNS failure is TempError, never anything that would bounce or drop
// the mail: at the record, in a mechanism, in an include.
func TestTemporaryFailures(t *testing.T) {
	r := testkit.NewResolver()
	r.SetTXT("a.example", "v=spf1 a:down.example -all")
	r.SetTXT("inc.example", "v=spf1 include:down.example -all")
	r.SetTXT("ex.example", "v=spf1 exists:down.example -all")
	r.SetTemporaryFailure("down.example", true)
	r.SetTemporaryFailure("record.example", true)
	c := &Checker{Resolver: r}
	for _, d := range []string{"record.example", "a.example", "inc.example", "ex.example"} {
		res := c.MailFrom(t.Context(), client, "x", "u@"+d)
		if res.Verdict != TempError || res.Reason == "" {
			t.Errorf("%s: %+v, want temperror with a reason", d, res)
		}
	}
}

// An mx mechanism whose hosts partly fail matches if one of the others
// holds the client, and is TempError only when none does.
func TestMXPartialFailure(t *testing.T) {
	r := testkit.NewResolver()
	r.SetTXT("example.org", "v=spf1 mx -all")
	r.AddMX("example.org", "down.example.org", 10)
	r.AddMX("example.org", "mx.example.org", 20)
	r.AddHost("mx.example.org", "192.0.2.10")
	r.SetTemporaryFailure("down.example.org", true)
	c := &Checker{Resolver: r}
	if res := c.MailFrom(t.Context(), client, "x", "u@example.org"); res.Verdict != Pass {
		t.Errorf("client of the working MX: %+v", res)
	}
	if res := c.MailFrom(t.Context(), netip.MustParseAddr("192.0.2.99"), "x", "u@example.org"); res.Verdict != TempError {
		t.Errorf("other client: %+v, want temperror", res)
	}
}

// A check that outlives its time limit, or whose context ends, is
// TempError, and returns when the limit is reached rather than when
// the resolver gives up: over the wire, with a server that stalls.
func TestTimeout(t *testing.T) {
	srv := dnstest.New(t, `example.org. TXT "v=spf1 a:slow.example.org -all"`)
	srv.Delay("slow.example.org", 10*time.Second)
	r, err := dns.New([]string{srv.Addr()}, 30*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	r.DisableCache() // the test makes the server fail after an answer

	start := time.Now()
	res := (&Checker{Resolver: r, Timeout: 300 * time.Millisecond}).MailFrom(t.Context(), client, "x", "u@example.org")
	if res.Verdict != TempError || time.Since(start) > 5*time.Second {
		t.Errorf("time limit: %+v after %v", res, time.Since(start))
	}

	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(300*time.Millisecond, cancel)
	start = time.Now()
	res = (&Checker{Resolver: r}).MailFrom(ctx, client, "x", "u@example.org")
	if res.Verdict != TempError || time.Since(start) > 5*time.Second {
		t.Errorf("cancelled: %+v after %v", res, time.Since(start))
	}

	srv.Fail("example.org", miekg.RcodeServerFailure)
	if res := (&Checker{Resolver: r}).MailFrom(t.Context(), client, "x", "u@example.org"); res.Verdict != TempError {
		t.Errorf("SERVFAIL: %+v", res)
	}
}

// The macros only an explanation may use (RFC 7208 §7.2) expand from
// the Checker: c the client, r the receiver, t its clock.
func TestExplanationMacros(t *testing.T) {
	r := testkit.NewResolver()
	r.SetTXT("example.org", "v=spf1 -all exp=why.%{d}")
	r.SetTXT("why.example.org", "%{c} may not send as %{s} (%{r} at %{t}, helo %{h}) %{s")
	r.SetTXT("bad.example", "v=spf1 -all exp=why.bad.example")
	r.SetTXT("why.bad.example", "%{c} is not %{l}")
	c := &Checker{Resolver: r, Receiver: "mx.example.net", Now: func() time.Time { return time.Unix(1700000000, 0) }}

	// A syntax error in the text: no explanation.
	if res := c.MailFrom(t.Context(), client, "h.example", "u@example.org"); res.Verdict != Fail || res.Explanation != "" {
		t.Errorf("broken explanation: %+v", res)
	}
	r.SetTXT("why.example.org", "%{c} may not send as %{s} (%{r} at %{t}, helo %{h})")
	res := c.MailFrom(t.Context(), netip.MustParseAddr("2001:db8::1"), "h.example", "u@example.org")
	want := "2001:db8::1 may not send as u@example.org (mx.example.net at 1700000000, helo h.example)"
	if res.Verdict != Fail || res.Explanation != want {
		t.Errorf("explanation %q, want %q", res.Explanation, want)
	}
	// What the client sent goes into the reply only if printable.
	if res := c.MailFrom(t.Context(), client, "x", "a\x01b@bad.example"); res.Verdict != Fail || res.Explanation != "" {
		t.Errorf("control character: %+v", res)
	}
	if res := c.MailFrom(t.Context(), client, "x", "ab@bad.example"); res.Explanation != "192.0.2.10 is not ab" {
		t.Errorf("printable: %+v", res)
	}
}

// Each check stays within RFC 7208 §4.6.4's limits whatever the records:
// includes that fan out make at most ten DNS-querying terms, and the
// check asks the resolver a bounded number of questions.
func TestLookupBound(t *testing.T) {
	r := testkit.NewResolver()
	r.SetTXT("example.org", "v=spf1 include:a.example.org include:a.example.org include:a.example.org -all")
	r.SetTXT("a.example.org", "v=spf1 mx mx mx mx mx include:example.org")
	for i := range 10 {
		r.AddMX("a.example.org", "mx"+string(rune('a'+i))+".example.org", uint16(i))
	}
	res := (&Checker{Resolver: r}).MailFrom(t.Context(), client, "x", "u@example.org")
	if res.Verdict != PermError || !strings.Contains(res.Reason, "more than 10") {
		t.Errorf("%+v", res)
	}
	// At most 10 terms, each an MX query and up to 10 address queries,
	// plus the records.
	if n := len(r.Asked()); n > 10*11+11 {
		t.Errorf("%d questions asked", n)
	}
}

// The reason goes into a log line: what the client put into a name
// through a macro comes out quoted.
func TestReasonPrintable(t *testing.T) {
	r := testkit.NewResolver()
	r.SetTXT("example.org", "v=spf1 include:%{l}.example.org -all")
	res := (&Checker{Resolver: r}).MailFrom(t.Context(), client, "x", "a\x01b\xff@example.org")
	if res.Verdict != PermError || !strings.Contains(res.Reason, `a\x01b\xff.example.org`) {
		t.Errorf("%+v", res)
	}
}

package dns

import (
	"bytes"
	"context"
	"encoding/hex"
	"errors"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	miekg "github.com/miekg/dns"

	"postern.dev/postern/libmail/dns/dnstest"
)

const testZone = `
$ORIGIN example.
@         SOA   ns hostmaster 1 3600 600 86400 300
@         MX    20 MX2.Example.
@         MX    10 mx1
@         TXT   "v=spf1 " "ip4:192.0.2.0/24" " -all"
@         TXT   "second"
mx1       A     192.0.2.1
mx2       AAAA  2001:db8::2
both      A     192.0.2.3
both      AAAA  2001:db8::3
alias     CNAME alias2
alias2    CNAME both
away      CNAME both.insecure.test.
nomx      MX    0 .
_25._tcp.mx1 TLSA 3 1 1 0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef
_25._tcp.mx1 TLSA 2 0 2 00ff
xn--bcher-kva A 192.0.2.4
$ORIGIN insecure.test.
both      A     192.0.2.5
both      AAAA  2001:db8::5
$ORIGIN 2.0.192.in-addr.arpa.
1         PTR   mx1.example.
3         PTR   liar.example.
3         PTR   both.example.
9         PTR   unconfirmed.example.
`

func newTest(t *testing.T) (*Client, *dnstest.Server) {
	t.Helper()
	s := dnstest.New(t, testZone)
	s.Secure("example")
	c, err := New([]string{s.Addr()}, 2*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	// The tests change answers under the client; the cache has tests of
	// its own.
	c.DisableCache()
	return c, s
}

func wantErr(t *testing.T, what string, err error, notFound, temporary bool) {
	t.Helper()
	var e *Error
	if !errors.As(err, &e) || e.NotFound != notFound || e.Temporary != temporary {
		t.Errorf("%s: error %v, want *Error with NotFound=%v Temporary=%v", what, err, notFound, temporary)
	}
}

func TestLookupMX(t *testing.T) {
	c, s := newTest(t)
	ctx := t.Context()
	mx, secure, err := c.LookupMX(ctx, "example")
	slices.SortFunc(mx, func(a, b MX) int { return int(a.Pref) - int(b.Pref) })
	if err != nil || !secure || !slices.Equal(mx, []MX{{"mx1.example", 10}, {"mx2.example", 20}}) {
		t.Errorf("LookupMX(example) = %v, %v, %v", mx, secure, err)
	}
	if mx, _, err := c.LookupMX(ctx, "nomx.example."); err != nil || !slices.Equal(mx, []MX{{"", 0}}) {
		t.Errorf("null MX: %v, %v", mx, err)
	}
	_, secure, err = c.LookupMX(ctx, "nowhere.example")
	wantErr(t, "NXDOMAIN", err, true, false)
	if !secure {
		t.Error("validated NXDOMAIN not reported secure")
	}
	_, _, err = c.LookupMX(ctx, "mx1.example")
	wantErr(t, "NODATA", err, true, false)
	_, _, err = c.LookupMX(ctx, "")
	wantErr(t, "empty name", err, true, false)
	s.Fail("example", miekg.RcodeServerFailure)
	_, secure, err = c.LookupMX(ctx, "example")
	wantErr(t, "SERVFAIL", err, false, true)
	if secure || !IsTemporary(err) {
		t.Errorf("SERVFAIL: secure %v, IsTemporary %v", secure, IsTemporary(err))
	}
	s.Fail("example", miekg.RcodeRefused)
	_, _, err = c.LookupMX(ctx, "example")
	wantErr(t, "REFUSED", err, false, true)
}

func TestLookupHost(t *testing.T) {
	c, s := newTest(t)
	s.FailType("mx1.example", "AAAA", miekg.RcodeServerFailure)
	s.FailType("temp.example", "AAAA", miekg.RcodeServerFailure)
	tests := []struct {
		host    string
		addrs   string // sorted, space-separated
		secure  bool
		errKind string // "", "notfound", "temporary"
	}{
		{"mx2.example", "2001:db8::2", true, ""},             // AAAA only
		{"both.example", "192.0.2.3 2001:db8::3", true, ""},  // both
		{"alias.example", "192.0.2.3 2001:db8::3", true, ""}, // CNAME chain
		{"away.example", "192.0.2.5 2001:db8::5", false, ""}, // chain into an unsigned zone
		{"both.insecure.test", "192.0.2.5 2001:db8::5", false, ""},
		{"mx1.example", "192.0.2.1", false, ""}, // A only; AAAA failed, so not known secure
		{"nowhere.example", "", true, "notfound"},
		{"temp.example", "", false, "temporary"}, // A NXDOMAIN, AAAA SERVFAIL
		{"bücher.example", "192.0.2.4", true, ""},
	}
	for _, tt := range tests {
		addrs, secure, err := c.LookupHost(t.Context(), tt.host)
		var got []string
		for _, a := range addrs {
			got = append(got, a.String())
		}
		slices.Sort(got)
		kind := ""
		if IsNotFound(err) {
			kind = "notfound"
		} else if IsTemporary(err) {
			kind = "temporary"
		}
		if strings.Join(got, " ") != tt.addrs || secure != tt.secure || kind != tt.errKind {
			t.Errorf("LookupHost(%s) = %v, %v, %v; want %s, %v, %q", tt.host, got, secure, err, tt.addrs, tt.secure, tt.errKind)
		}
	}
}

func TestLookupHostAOnly(t *testing.T) {
	c, _ := newTest(t)
	addrs, secure, err := c.LookupHost(t.Context(), "mx1.example")
	if err != nil || !secure || len(addrs) != 1 || addrs[0] != netip.MustParseAddr("192.0.2.1") || !addrs[0].Is4() {
		t.Errorf("LookupHost(mx1) = %v, %v, %v", addrs, secure, err)
	}
}

// LookupA and LookupAAAA ask for one family each, so that a caller (SPF,
// RFC 7208 §5) tells an empty or failed family from the other one.
func TestLookupAAndAAAA(t *testing.T) {
	c, s := newTest(t)
	s.FailType("temp.example", "AAAA", miekg.RcodeServerFailure)
	s.Add("temp.example. A 192.0.2.7")
	tests := []struct {
		host    string
		v6      bool
		addrs   string // sorted, space-separated
		secure  bool
		errKind string // "", "notfound", "temporary"
	}{
		{host: "both.example", addrs: "192.0.2.3", secure: true},
		{host: "both.example", v6: true, addrs: "2001:db8::3", secure: true},
		{host: "alias.example", addrs: "192.0.2.3", secure: true}, // CNAME chain
		{host: "alias.example", v6: true, addrs: "2001:db8::3", secure: true},
		{host: "mx2.example", errKind: "notfound", secure: true}, // AAAA only: no A (NODATA)
		{host: "mx1.example", v6: true, errKind: "notfound", secure: true},
		{host: "nowhere.example", errKind: "notfound", secure: true},
		{host: "nowhere.example", v6: true, errKind: "notfound", secure: true},
		{host: "temp.example", addrs: "192.0.2.7", secure: true}, // the failing family is the other one
		{host: "temp.example", v6: true, errKind: "temporary"},   // SERVFAIL
		{host: "away.example", v6: true, addrs: "2001:db8::5"},
	}
	for _, tt := range tests {
		lookup, typ := c.LookupA, "A"
		if tt.v6 {
			lookup, typ = c.LookupAAAA, "AAAA"
		}
		addrs, secure, err := lookup(t.Context(), tt.host)
		var got []string
		for _, a := range addrs {
			got = append(got, a.String())
			if a.Is4() == tt.v6 || a.Is4In6() {
				t.Errorf("Lookup%s(%s) gave %s, of the other family", typ, tt.host, a)
			}
		}
		slices.Sort(got)
		kind := ""
		if IsNotFound(err) {
			kind = "notfound"
		} else if IsTemporary(err) {
			kind = "temporary"
		}
		if strings.Join(got, " ") != tt.addrs || secure != tt.secure || kind != tt.errKind {
			t.Errorf("Lookup%s(%s) = %v, %v, %v; want %s, %v, %q", typ, tt.host, got, secure, err, tt.addrs, tt.secure, tt.errKind)
		}
	}
	var asked []string
	for _, q := range s.Log() {
		if strings.EqualFold(q.Name, "mx2.example.") {
			asked = append(asked, q.Type)
		}
	}
	if !slices.Equal(asked, []string{"A"}) {
		t.Errorf("LookupA(mx2.example) asked %v, want only A", asked)
	}
}

// A server that is not authoritative for a CNAME's target answers with
// the CNAME alone; the client asks for the target, and the answer is
// secure only if both answers were.
func TestCNAMEFollowUp(t *testing.T) {
	c, s := newTest(t)
	s.ChaseCNAME(false)
	addrs, secure, err := c.LookupHost(t.Context(), "alias.example")
	if err != nil || !secure || len(addrs) != 2 {
		t.Errorf("LookupHost(alias) = %v, %v, %v", addrs, secure, err)
	}
	addrs, secure, err = c.LookupHost(t.Context(), "away.example")
	if err != nil || secure || len(addrs) != 2 {
		t.Errorf("LookupHost(away) = %v, %v, %v", addrs, secure, err)
	}
	var asked int
	for _, q := range s.Log() {
		if strings.EqualFold(q.Name, "both.insecure.test.") {
			asked++
		}
	}
	if asked != 2 {
		t.Errorf("target asked %d times, want 2 (A and AAAA)", asked)
	}
}

func TestCNAMELimit(t *testing.T) {
	c, s := newTest(t)
	for i := range maxCNAME + 1 {
		s.Add("c" + string(rune('a'+i)) + ".example. CNAME c" + string(rune('a'+i+1)) + ".example.")
	}
	s.Add("c" + string(rune('a'+maxCNAME+1)) + ".example. A 192.0.2.99")
	_, _, err := c.LookupHost(t.Context(), "ca.example")
	wantErr(t, "long chain", err, false, true)
	if _, _, err := c.LookupHost(t.Context(), "cb.example"); err != nil {
		t.Errorf("chain of %d: %v", maxCNAME, err)
	}
}

func TestLookupTLSA(t *testing.T) {
	c, _ := newTest(t)
	recs, secure, err := c.LookupTLSA(t.Context(), 25, "mx1.example")
	if err != nil || !secure || len(recs) != 2 {
		t.Fatalf("LookupTLSA = %v, %v, %v", recs, secure, err)
	}
	slices.SortFunc(recs, func(a, b TLSA) int { return int(b.Usage) - int(a.Usage) })
	want0, _ := hex.DecodeString("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef")
	if r := recs[0]; r.Usage != 3 || r.Selector != 1 || r.MatchingType != 1 || !bytes.Equal(r.Data, want0) {
		t.Errorf("record 0: %+v", r)
	}
	if r := recs[1]; r.Usage != 2 || r.Selector != 0 || r.MatchingType != 2 || !bytes.Equal(r.Data, []byte{0, 0xff}) {
		t.Errorf("record 1: %+v", r)
	}
	_, _, err = c.LookupTLSA(t.Context(), 25, "mx2.example")
	wantErr(t, "no TLSA", err, true, false)
}

func TestLookupTXT(t *testing.T) {
	c, _ := newTest(t)
	txt, err := c.LookupTXT(t.Context(), "example")
	slices.Sort(txt)
	if err != nil || !slices.Equal(txt, []string{"second", "v=spf1 ip4:192.0.2.0/24 -all"}) {
		t.Errorf("LookupTXT = %q, %v", txt, err)
	}
}

// TXT data is octets: a quote, a backslash, a control character or an
// 8-bit octet comes back as it is on the wire, not in the escaped
// presentation form miekg/dns keeps it in. (SPF found this: a record
// with a non-ASCII octet read as "\195\175..." passed for valid
// ASCII, RFC 7208 §3.1.)
func TestLookupTXTOctets(t *testing.T) {
	c, s := newTest(t)
	s.Add(`octets.example. TXT "v=spf1 a:\195\175x.example \"q\" back\\slash" "\009tab"`)
	txt, err := c.LookupTXT(t.Context(), "octets.example")
	want := "v=spf1 a:\xc3\xafx.example \"q\" back\\slash\ttab"
	if err != nil || len(txt) != 1 || txt[0] != want {
		t.Errorf("LookupTXT = %q, %v; want %q", txt, err, want)
	}
}

// A name is text: a label may hold any octet but the dot, such as the
// space or quote an SPF macro (RFC 7208 §7.3) brings in from a
// local-part, and the client must ask for that name rather than read
// its octets as zone-file escapes, and must know its answer for the
// answer to it.
func TestNamesWithSpecialOctets(t *testing.T) {
	c, s := newTest(t)
	s.Add(`a\ b\"c\\d\@e\;f\(g\).example. A 192.0.2.50`)
	addrs, _, err := c.LookupA(t.Context(), `a b"c\d@e;f(g).example`)
	if err != nil || len(addrs) != 1 || addrs[0] != netip.MustParseAddr("192.0.2.50") {
		t.Errorf("LookupA = %v, %v", addrs, err)
	}
	_, err = c.LookupTXT(t.Context(), "no such.example")
	wantErr(t, "NXDOMAIN of a name with a space", err, true, false)
}

func TestLookupPTR(t *testing.T) {
	c, s := newTest(t)
	s.Add("2.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.0.8.b.d.0.1.0.0.2.ip6.arpa. PTR mx2.example.")
	tests := []struct{ ip, names string }{
		{"192.0.2.1", "mx1.example"},
		{"::ffff:192.0.2.1", "mx1.example"},
		{"2001:db8::2", "mx2.example"},
		{"192.0.2.3", "both.example liar.example"},
	}
	for _, tt := range tests {
		names, err := c.LookupPTR(t.Context(), netip.MustParseAddr(tt.ip))
		slices.Sort(names)
		if err != nil || strings.Join(names, " ") != tt.names {
			t.Errorf("LookupPTR(%s) = %v, %v; want %s", tt.ip, names, err, tt.names)
		}
	}
	_, err := c.LookupPTR(t.Context(), netip.MustParseAddr("192.0.2.200"))
	wantErr(t, "no PTR", err, true, false)
}

func TestClientName(t *testing.T) {
	c, _ := newTest(t)
	tests := []struct{ ip, name string }{
		{"192.0.2.1", "mx1.example"},
		{"192.0.2.3", "both.example"}, // the PTR name that confirms
		{"192.0.2.9", ""},             // PTR name without addresses
		{"192.0.2.200", ""},           // no PTR
		{"::ffff:192.0.2.1", "mx1.example"},
	}
	for _, tt := range tests {
		if got := ClientName(t.Context(), c, netip.MustParseAddr(tt.ip)); got != tt.name {
			t.Errorf("ClientName(%s) = %q, want %q", tt.ip, got, tt.name)
		}
	}
}

// An answer too large for UDP comes back truncated and is asked again
// over TCP: once because the server caps UDP below postern's EDNS0 size,
// once because it exceeds that size.
func TestTCPFallback(t *testing.T) {
	c, s := newTest(t)
	s.Add("big.example. TXT" + strings.Repeat(` "`+strings.Repeat("a", 100)+`"`, 8))
	s.Add("huge.example. TXT" + strings.Repeat(` "`+strings.Repeat("b", 250)+`"`, 20))
	s.UDPSize(512)
	for _, tt := range []struct {
		name string
		size int
	}{{"big.example", 800}, {"huge.example", 5000}} {
		if tt.name == "huge.example" {
			s.UDPSize(65535)
		}
		txt, err := c.LookupTXT(t.Context(), tt.name)
		if err != nil || len(txt) != 1 || len(txt[0]) != tt.size {
			t.Errorf("LookupTXT(%s) = %d records, %v", tt.name, len(txt), err)
		}
		var nets []string
		for _, q := range s.Log() {
			if q.Name == tt.name+"." {
				nets = append(nets, q.Net)
			}
		}
		if !slices.Equal(nets, []string{"udp", "tcp"}) {
			t.Errorf("%s asked over %v, want udp then tcp", tt.name, nets)
		}
	}
}

// silent returns the address of a UDP socket that never answers.
func silent(t *testing.T) string {
	t.Helper()
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { pc.Close() })
	return pc.LocalAddr().String()
}

func TestTimeout(t *testing.T) {
	c, err := New([]string{silent(t)}, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	// The bounds below only say that the client gave up at all (the
	// server never answers, or takes an hour): far above the timeout, so
	// that a loaded machine does not fail them.
	start := time.Now()
	_, _, err = c.LookupMX(t.Context(), "example")
	wantErr(t, "silent server", err, false, true)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("gave up after %v, timeout 300ms", d)
	}

	_, s := newTest(t)
	s.Delay("example", time.Hour)
	c, _ = New([]string{s.Addr()}, 300*time.Millisecond)
	start = time.Now()
	_, _, err = c.LookupMX(t.Context(), "example")
	wantErr(t, "delayed answer", err, false, true)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("gave up after %v, timeout 300ms", d)
	}
}

func TestCancel(t *testing.T) {
	_, s := newTest(t)
	s.Delay("example", time.Hour)
	c, _ := New([]string{s.Addr()}, time.Minute)
	ctx, cancel := context.WithCancel(t.Context())
	time.AfterFunc(100*time.Millisecond, cancel)
	start := time.Now()
	_, _, err := c.LookupMX(ctx, "example")
	if !IsTemporary(err) || !errors.Is(err, context.Canceled) || time.Since(start) > 2*time.Second {
		t.Errorf("cancelled lookup: %v after %v", err, time.Since(start))
	}
}

// A dead or failing server is passed over for the next one.
func TestFailover(t *testing.T) {
	_, bad := newTest(t)
	bad.Fail("example", miekg.RcodeServerFailure)
	_, good := newTest(t)
	c, err := New([]string{silent(t), bad.Addr(), good.Addr()}, 3*time.Second)
	if err != nil {
		t.Fatal(err)
	}
	if mx, _, err := c.LookupMX(t.Context(), "example"); err != nil || len(mx) != 2 {
		t.Errorf("LookupMX = %v, %v", mx, err)
	}
	if bad.Queries() != 1 || good.Queries() != 1 {
		t.Errorf("bad asked %d times, good %d; want 1 and 1", bad.Queries(), good.Queries())
	}
}

func TestResolvConf(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "resolv.conf")
	conf := "search example.org\nnameserver 127.0.0.53\nnameserver ::1\noptions timeout:1 attempts:3 ndots:2\n"
	if err := os.WriteFile(path, []byte(conf), 0o644); err != nil {
		t.Fatal(err)
	}
	c, err := newClient(nil, 0, path)
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(c.servers, []string{"127.0.0.53:53", "[::1]:53"}) || c.try != time.Second ||
		c.attempts != 3 || c.timeout != 6*time.Second {
		t.Errorf("from %q: servers %v, try %v, attempts %d, timeout %v", conf, c.servers, c.try, c.attempts, c.timeout)
	}
	c, err = newClient(nil, 0, filepath.Join(dir, "missing"))
	if err != nil || !slices.Equal(c.servers, []string{"127.0.0.1:53", "[::1]:53"}) {
		t.Errorf("missing resolv.conf: %v, %v", c, err)
	}
	if _, err := New([]string{"127.0.0.1"}, time.Second); err == nil {
		t.Error("server without port accepted")
	}
}

func TestFqdn(t *testing.T) {
	tests := []struct{ in, want string }{
		{"example", "example."},
		{"Example.ORG.", "Example.ORG."},
		{"_25._tcp.mx.example", "_25._tcp.mx.example."},
		{"bücher.example", "xn--bcher-kva.example."},
		{"", ""},
		{".", ""},
		{"a..b", ""},
		{strings.Repeat("x", 64) + ".example", ""},
		{"\xff.example", ""},
		{"a\u200db.example", ""}, // ZWJ where CONTEXTJ forbids it
	}
	for _, tt := range tests {
		got, err := fqdn(tt.in)
		if got != tt.want || (err != nil) != (tt.want == "") {
			t.Errorf("fqdn(%q) = %q, %v; want %q", tt.in, got, err, tt.want)
		}
	}
}

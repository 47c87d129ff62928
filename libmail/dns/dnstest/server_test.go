package dnstest

import (
	"strings"
	"testing"
	"time"

	"github.com/miekg/dns"
)

const testZone = `
$ORIGIN example.
@        SOA   ns.example. hostmaster.example. 1 3600 600 86400 300
@        MX    10 mx.example.
mx       A     192.0.2.1
alias    CNAME mx
outside  CNAME host.elsewhere.test.
a.b.c    TXT   "deep"
loop1    CNAME loop2
loop2    CNAME loop1
$ORIGIN other.test.
www 60   AAAA  2001:db8::1
`

// ask sends one question the way postern's client does (RD, AD, EDNS0
// with DO) unless plain is set.
func ask(t *testing.T, s *Server, network, name string, qtype uint16, plain bool) *dns.Msg {
	t.Helper()
	q := new(dns.Msg)
	q.SetQuestion(name, qtype)
	if !plain {
		q.AuthenticatedData = true
		q.SetEdns0(4096, true)
	}
	c := &dns.Client{Net: network, Timeout: 2 * time.Second}
	r, _, err := c.Exchange(q, s.Addr())
	if err != nil {
		t.Fatalf("%s %s over %s: %v", name, dns.TypeToString[qtype], network, err)
	}
	return r
}

func TestAnswers(t *testing.T) {
	s := New(t, testZone)
	tests := []struct {
		name    string
		qtype   uint16
		rcode   int
		answers int
		soa     bool
	}{
		{"example.", dns.TypeMX, dns.RcodeSuccess, 1, false},
		{"MX.Example.", dns.TypeA, dns.RcodeSuccess, 1, false},
		{"mx.example.", dns.TypeAAAA, dns.RcodeSuccess, 0, true}, // NODATA: other types
		{"c.example.", dns.TypeTXT, dns.RcodeSuccess, 0, true},   // NODATA: empty non-terminal
		{"nope.example.", dns.TypeA, dns.RcodeNameError, 0, true},
		{"alias.example.", dns.TypeA, dns.RcodeSuccess, 2, false},        // CNAME + A
		{"alias.example.", dns.TypeCNAME, dns.RcodeSuccess, 1, false},    // the CNAME itself
		{"alias.example.", dns.TypeAAAA, dns.RcodeSuccess, 1, true},      // CNAME, target NODATA
		{"outside.example.", dns.TypeA, dns.RcodeSuccess, 1, false},      // CNAME out of the data
		{"loop1.example.", dns.TypeA, dns.RcodeServerFailure, 16, false}, // bounded
		{"www.other.test.", dns.TypeAAAA, dns.RcodeSuccess, 1, false},
		{"other.test.", dns.TypeA, dns.RcodeSuccess, 0, false}, // exists, no SOA in data for it
		{"x.invalid.", dns.TypeA, dns.RcodeNameError, 0, false},
	}
	for _, tt := range tests {
		r := ask(t, s, "udp", tt.name, tt.qtype, false)
		if r.Rcode != tt.rcode || len(r.Answer) != tt.answers || (len(r.Ns) == 1) != tt.soa {
			t.Errorf("%s %s: rcode %s, %d answers, %d authority; want %s, %d, soa %v",
				tt.name, dns.TypeToString[tt.qtype], dns.RcodeToString[r.Rcode], len(r.Answer), len(r.Ns),
				dns.RcodeToString[tt.rcode], tt.answers, tt.soa)
		}
	}
}

func TestTTL(t *testing.T) {
	s := New(t, testZone)
	if ttl := ask(t, s, "udp", "mx.example.", dns.TypeA, false).Answer[0].Header().Ttl; ttl != 300 {
		t.Errorf("default TTL %d, want 300", ttl)
	}
	if ttl := ask(t, s, "udp", "www.other.test.", dns.TypeAAAA, false).Answer[0].Header().Ttl; ttl != 60 {
		t.Errorf("explicit TTL %d, want 60", ttl)
	}
}

func TestSecure(t *testing.T) {
	s := New(t, testZone)
	s.Secure("example")
	s.Add("host.elsewhere.test. A 192.0.2.9")
	tests := []struct {
		name  string
		qtype uint16
		plain bool
		ad    bool
	}{
		{"example.", dns.TypeMX, false, true},
		{"nope.example.", dns.TypeMX, false, true}, // validated denial
		{"example.", dns.TypeMX, true, false},      // not asked for
		{"www.other.test.", dns.TypeAAAA, false, false},
		{"outside.example.", dns.TypeA, false, false}, // chain leaves the secure zone
	}
	for _, tt := range tests {
		if r := ask(t, s, "udp", tt.name, tt.qtype, tt.plain); r.AuthenticatedData != tt.ad {
			t.Errorf("%s %s plain=%v: AD %v, want %v", tt.name, dns.TypeToString[tt.qtype], tt.plain, r.AuthenticatedData, tt.ad)
		}
	}
}

func TestChaseCNAME(t *testing.T) {
	s := New(t, testZone)
	s.ChaseCNAME(false)
	if r := ask(t, s, "udp", "alias.example.", dns.TypeA, false); len(r.Answer) != 1 || r.Answer[0].Header().Rrtype != dns.TypeCNAME {
		t.Errorf("answer %v, want the CNAME alone", r.Answer)
	}
}

func TestFail(t *testing.T) {
	s := New(t, testZone)
	s.Fail("example", dns.RcodeServerFailure)
	s.FailType("mx.example", "aaaa", dns.RcodeRefused)
	if r := ask(t, s, "udp", "example.", dns.TypeMX, false); r.Rcode != dns.RcodeServerFailure {
		t.Errorf("rcode %s, want SERVFAIL", dns.RcodeToString[r.Rcode])
	}
	if r := ask(t, s, "udp", "mx.example.", dns.TypeAAAA, false); r.Rcode != dns.RcodeRefused {
		t.Errorf("rcode %s, want REFUSED", dns.RcodeToString[r.Rcode])
	}
	if r := ask(t, s, "udp", "mx.example.", dns.TypeA, false); r.Rcode != dns.RcodeSuccess {
		t.Errorf("A: rcode %s, want NOERROR", dns.RcodeToString[r.Rcode])
	}
	s.Fail("example", dns.RcodeSuccess)
	if r := ask(t, s, "udp", "example.", dns.TypeMX, false); r.Rcode != dns.RcodeSuccess {
		t.Errorf("after undo: rcode %s", dns.RcodeToString[r.Rcode])
	}
}

func TestDelay(t *testing.T) {
	s := New(t, testZone)
	s.Delay("example", time.Hour)
	c := &dns.Client{Timeout: 200 * time.Millisecond}
	q := new(dns.Msg).SetQuestion("example.", dns.TypeMX)
	if _, _, err := c.Exchange(q, s.Addr()); err == nil {
		t.Fatal("delayed question answered")
	}
	s.Delay("example", 0)
	if _, _, err := c.Exchange(q, s.Addr()); err != nil {
		t.Fatalf("after undo: %v", err)
	}
	// Close must not wait for the hour-long delay.
}

func TestTruncation(t *testing.T) {
	s := New(t, testZone)
	s.Add("big.example. TXT" + strings.Repeat(` "`+strings.Repeat("x", 70)+`"`, 10))
	if r := ask(t, s, "udp", "big.example.", dns.TypeTXT, true); !r.Truncated {
		t.Error("answer over 512 bytes without EDNS0 not truncated")
	}
	if r := ask(t, s, "udp", "big.example.", dns.TypeTXT, false); r.Truncated || len(r.Answer) != 1 {
		t.Error("answer under the EDNS0 size truncated")
	}
	s.UDPSize(600)
	if r := ask(t, s, "udp", "big.example.", dns.TypeTXT, false); !r.Truncated {
		t.Error("answer over UDPSize not truncated")
	}
	if r := ask(t, s, "tcp", "big.example.", dns.TypeTXT, false); r.Truncated || len(r.Answer) != 1 {
		t.Error("TCP answer truncated")
	}
	log := s.Log()
	if len(log) != 4 || log[3].Net != "tcp" || log[0].Type != "TXT" || s.Queries() != 4 {
		t.Errorf("log %+v", log)
	}
}

func TestAddRemove(t *testing.T) {
	s := New(t, testZone)
	s.Add("$ORIGIN new.test.\n@ MX 0 .\n@ A 192.0.2.7")
	if r := ask(t, s, "udp", "new.test.", dns.TypeMX, false); len(r.Answer) != 1 {
		t.Fatalf("added MX: %v", r)
	}
	s.Remove("new.test", "MX")
	if r := ask(t, s, "udp", "new.test.", dns.TypeMX, false); r.Rcode != dns.RcodeSuccess || len(r.Answer) != 0 {
		t.Errorf("removed MX: rcode %s, %d answers; want NODATA", dns.RcodeToString[r.Rcode], len(r.Answer))
	}
	s.Remove("new.test", "")
	if r := ask(t, s, "udp", "new.test.", dns.TypeA, false); r.Rcode != dns.RcodeNameError {
		t.Errorf("removed name: rcode %s, want NXDOMAIN", dns.RcodeToString[r.Rcode])
	}
}

package e2e

import (
	"encoding/json"
	"strings"
	"testing"

	"postern.dev/postern/libmail/dns/dnstest"
)

// checkZone is right for the sandbox's mail.example.test at 192.0.2.10,
// but for what a case removes.
const checkZone = `$ORIGIN example.test.
@                MX 10 mail
@                TXT "v=spf1 ip4:192.0.2.10 -all"
mail             A 192.0.2.10
mail             TXT "v=spf1 a -all"
_dmarc           TXT "v=DMARC1; p=reject"
_mta-sts         TXT "v=STSv1; id=1"
mta-sts          A 192.0.2.10
_smtp._tls       TXT "v=TLSRPTv1; rua=mailto:tls@example.test"
10.2.0.192.in-addr.arpa. PTR mail.example.test.
`

// TestPosternDNSCheck: the installed command, against the loopback DNS
// named in the sandbox's dns_servers: a right zone passes (the sandbox
// has no DKIM key, a warning), and with the DMARC record gone it fails
// and names it, in text and in JSON.
func TestPosternDNSCheck(t *testing.T) {
	d := dnstest.New(t, checkZone)
	s := NewSystem(t, Options{Set: []string{"dns_servers=" + d.Addr()}, NoStart: true})
	out, err := s.PosternErr("dns", "check", "example.test", "-ip", "192.0.2.10")
	if err != nil || strings.Contains(out, "MISSING") || strings.Contains(out, "WRONG") || !strings.Contains(out, "WARN     DKIM") {
		t.Fatalf("right zone: %v\n%s", err, out)
	}
	d.Remove("_dmarc.example.test.", "TXT")
	out, err = s.PosternErr("dns", "check", "example.test", "-ip", "192.0.2.10")
	if err == nil || !strings.Contains(out, "MISSING  DMARC    _dmarc.example.test. IN TXT \"v=DMARC1; p=quarantine; rua=mailto:postmaster@example.test\"\n") ||
		!strings.Contains(out, "postern: dns check example.test: 1 of ") {
		t.Errorf("without DMARC: %v\n%s", err, out)
	}
	out, err = s.PosternErr("dns", "check", "example.test", "-ip", "192.0.2.10", "-j")
	var rep struct {
		OK      bool
		Records []struct{ Kind, Status string }
	}
	if jerr := json.Unmarshal([]byte(out[:strings.LastIndex(out, "}")+1]), &rep); jerr != nil || err == nil || rep.OK {
		t.Fatalf("-j: %v, %v\n%s", jerr, err, out)
	}
	for _, r := range rep.Records {
		if r.Kind == "DMARC" && r.Status != "MISSING" {
			t.Errorf("-j: DMARC %s", r.Status)
		}
	}
}

package config

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestParseDNSBLSites(t *testing.T) {
	for _, tc := range []struct {
		in     string
		zone   string
		weight int
		hit    []string // answers that match
		miss   []string // answers that do not
	}{
		{in: "zen.example.org", zone: "zen.example.org", weight: 1, hit: []string{"127.0.0.2", "127.255.0.1"}, miss: []string{"10.0.0.2", "::1"}},
		{in: "zen.example.org*3", zone: "zen.example.org", weight: 3, hit: []string{"127.0.0.4"}},
		{in: "Wl.Example.ORG.=127.0.[0..255].[1..3]*-2", zone: "wl.example.org", weight: -2, hit: []string{"127.0.9.1", "127.0.0.3"}, miss: []string{"127.0.0.0", "127.0.0.4", "127.1.0.1"}},
		{in: "bl.example=127.0.0.2", zone: "bl.example", weight: 1, hit: []string{"127.0.0.2"}, miss: []string{"127.0.0.3"}},
		{in: "bl.example=127.0.0.[2;4..5;9]*2", zone: "bl.example", weight: 2, hit: []string{"127.0.0.2", "127.0.0.5", "127.0.0.9"}, miss: []string{"127.0.0.3", "127.0.0.6"}},
		{in: "bl.example=127.0.0.2;127.0.0.10", zone: "bl.example", weight: 1, hit: []string{"127.0.0.2", "127.0.0.10"}, miss: []string{"127.0.0.3"}},
		{in: " bl.example ", zone: "bl.example", weight: 1, hit: []string{"127.0.0.2"}},
	} {
		sites, err := ParseDNSBLSites([]string{tc.in})
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		s := sites[0]
		if s.Zone != tc.zone || s.Weight != tc.weight {
			t.Errorf("%q: zone %q weight %d, want %q %d", tc.in, s.Zone, s.Weight, tc.zone, tc.weight)
		}
		for _, a := range tc.hit {
			if !s.Matches(netip.MustParseAddr(a)) {
				t.Errorf("%q does not match %s", tc.in, a)
			}
		}
		for _, a := range tc.miss {
			if s.Matches(netip.MustParseAddr(a)) {
				t.Errorf("%q matches %s", tc.in, a)
			}
		}
	}
	for _, bad := range []string{"", "*3", "bl.example*x", "bl.example*", "bl .example", "bl..example", "bl.example=127.0.0", "bl.example=127.0.0.256",
		"bl.example=127.0.0.[5..2]", "bl.example=127.0.0.[2", "bl.example=127.0.0.2..3", "bl.example=127.0.0.2;", "bl.example=", "bl.example*99999",
		"bl.example=127.0.0.-1", "bl.example=127.0.0.+2", strings.Repeat("a", 1100)} {
		if s, err := ParseDNSBLSites([]string{bad}); err == nil {
			t.Errorf("%q parsed as %+v", bad, s)
		}
	}
}

func TestParseAccessList(t *testing.T) {
	rules, err := ParseAccessList([]string{"reject 192.0.2.0/24", "permit_mynetworks", "permit 2001:db8::/32"}, []string{"127.0.0.0/8"})
	if err != nil {
		t.Fatal(err)
	}
	want := []AccessRule{{false, netip.MustParsePrefix("192.0.2.0/24")}, {true, netip.MustParsePrefix("127.0.0.0/8")}, {true, netip.MustParsePrefix("2001:db8::/32")}}
	if len(rules) != len(want) {
		t.Fatalf("got %v", rules)
	}
	for i := range want {
		if rules[i] != want[i] {
			t.Errorf("rule %d: %v, want %v", i, rules[i], want[i])
		}
	}
	for _, bad := range []string{"permit", "allow 10.0.0.0/8", "reject 10.0.0.0/33", "permit_mynetworks x"} {
		if _, err := ParseAccessList([]string{bad}, nil); err == nil {
			t.Errorf("%q parsed", bad)
		}
	}
}

// TestPostscreenServices: postscreen_enable puts postscreen on the smtp
// service and runs the smtpd service it passes to; off, smtp runs smtpd
// and the smtpd service is off.
func TestPostscreenServices(t *testing.T) {
	on, err := Parse(nil, "", testOpt)
	if err != nil {
		t.Fatal(err)
	}
	if s := on.Service("smtp"); s.Command != "postscreen" || !s.Enabled {
		t.Errorf("on: smtp service %+v", s)
	}
	if s := on.Service(PostscreenService); !s.Enabled || s.Kind != "unix" {
		t.Errorf("on: smtpd service %+v", s)
	}
	if s := on.Service("submission"); s.Command != "smtpd" {
		t.Errorf("on: submission runs %s", s.Command)
	}
	off, err := Parse([]byte("postscreen_enable = false\n"), "f", testOpt)
	if err != nil {
		t.Fatal(err)
	}
	if s := off.Service("smtp"); s.Command != "smtpd" {
		t.Errorf("off: smtp runs %s", s.Command)
	}
	if s := off.Service(PostscreenService); s.Enabled {
		t.Errorf("off: smtpd service enabled")
	}
	inherit, err := Parse([]byte("[services.smtp.overrides]\nsmtpd_timeout = \"10s\"\n[services.smtpd.overrides]\nsmtpd_recipient_limit = 5\n"), "f", testOpt)
	if err != nil {
		t.Fatal(err)
	}
	if p := inherit.Service(PostscreenService).Params; p.SMTPDTimeout.D() != 10*time.Second || p.SMTPDRecipientLimit != 5 {
		t.Errorf("the smtpd behind postscreen: smtpd_timeout %s, smtpd_recipient_limit %d; want the smtp service's 10s and its own 5",
			p.SMTPDTimeout.D(), p.SMTPDRecipientLimit)
	}
	noSMTP, err := Parse([]byte("[services.smtp]\nenabled = false\n"), "f", testOpt)
	if err != nil {
		t.Fatal(err)
	}
	if s := noSMTP.Service(PostscreenService); s.Enabled {
		t.Errorf("smtp off: smtpd service enabled")
	}
	if _, err := Parse([]byte("[services.smtpd]\nenabled = false\n"), "f", testOpt); err == nil || !strings.Contains(err.Error(), "needs the unix service smtpd") {
		t.Errorf("postscreen without its smtpd service: %v", err)
	}
	for _, bad := range []string{"postscreen_dnsbl_sites = [\"bl.example*x\"]", "postscreen_greet_action = \"drop\"", "postscreen_greet_wait = \"0s\"",
		"postscreen_dnsbl_threshold = 0", "postscreen_dnsbl_allowlist_threshold = 1", "postscreen_access_list = [\"permit\"]", "postscreen_connection_limit = 0"} {
		if _, err := Parse([]byte(bad+"\n"), "f", testOpt); err == nil {
			t.Errorf("%s: accepted", bad)
		}
	}
}

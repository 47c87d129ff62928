package config

import (
	"strings"
	"testing"
)

// TestTransports: a transport is a delivery service of the service table,
// by name; smtp, which names the inbound server here, means the built-in
// outbound service, as Postfix admins write it; a second smtp service is
// a transport of its own; anything else is refused at load time.
func TestTransports(t *testing.T) {
	c, err := Parse([]byte(`transport_maps = ["example.org smtp:[relay.example.org]:587", "corp.example relay:", "lan.example local:"]
default_transport = "relay"

[services.relay]
kind = "unix"
command = "smtp"
listen = ["private/relay"]
`), "f", testOpt)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]string{"smtp": "outbound", "outbound": "outbound", "relay": "relay", "local": "local"} {
		s, err := c.Transport(name)
		if err != nil || s.Name != want {
			t.Errorf("Transport(%q) = %v, %v; want service %s", name, s, err, want)
		}
	}
	for _, name := range []string{"smtpd", "submission", "qmgr", "nosuch", ""} {
		if s, err := c.Transport(name); err == nil {
			t.Errorf("Transport(%q) = service %s, want an error", name, s.Name)
		}
	}
	for _, tc := range []struct{ text, want string }{
		{`transport_maps = ["example.org nosuch:"]`, "f:1: transport_maps: example.org: transport \"nosuch\" is not a delivery service"},
		{`transport_maps = ["example.org submission:[x]"]`, "the delivery services are local, outbound"},
		{`default_transport = "qmgr"`, "default_transport: transport \"qmgr\""},
		{`local_transport = "smtpd"`, "local_transport"},
		{`transport_maps = ["example.org :[x]"]`, "no transport before the colon"},
	} {
		_, err := Parse([]byte(tc.text), "f", testOpt)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("%s: err = %v, want %q", tc.text, err, tc.want)
		}
	}
}

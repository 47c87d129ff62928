package qmgr

import (
	"path/filepath"
	"testing"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/queue"
)

// TestNewConfigTransports: the transports are the service table's
// delivery services by name, smtp standing for the built-in outbound
// one, so a second smtp service (Postfix's relay beside smtp) routes mail
// of its own; a disabled one is no agent.
func TestNewConfigTransports(t *testing.T) {
	c, err := config.Parse([]byte(`queue_directory = "/spool"
default_transport = "relay"
transport_maps = ["example.org smtp:[mx.example.org]", "lan.example local:"]

[services.relay]
kind = "unix"
command = "smtp"
listen = ["private/relay"]

[services.spare]
kind = "unix"
command = "smtp"
listen = ["private/spare"]
enabled = false
`), "f", config.Options{Hostname: "mail.example.test"})
	if err != nil {
		t.Fatal(err)
	}
	q := NewConfig(c, &c.Params)
	want := map[string]Agent{
		"local":    {Path: filepath.Join("/spool", queue.LocalSocket), Local: true},
		"outbound": {Path: filepath.Join("/spool", queue.SMTPSocket)},
		"relay":    {Path: "/spool/private/relay"},
	}
	if len(q.Agents) != len(want) {
		t.Errorf("agents %v, want %v", q.Agents, want)
	}
	for name, a := range want {
		if q.Agents[name] != a {
			t.Errorf("agent %s = %+v, want %+v", name, q.Agents[name], a)
		}
	}
	if q.DefaultTransport != "relay" || q.LocalTransport != "local" {
		t.Errorf("default %q, local %q", q.DefaultTransport, q.LocalTransport)
	}
	if len(q.Routes) != 2 || q.Routes[0].Transport != "outbound" || q.Routes[1].Transport != "local" {
		t.Errorf("routes %+v: smtp should resolve to outbound", q.Routes)
	}
}

// TestRelayTransport: mail routed to a second smtp service goes to that
// service's agent, with its own next hop, beside the default transport
// and local.
func TestRelayTransport(t *testing.T) {
	h := newHarness(t, harnessOptions{agents: []string{"local", "smtp", "relay"}, config: func(c *Config) {
		c.Routes, _ = config.ParseTransportMaps([]string{"corp.example relay:[10.0.0.2]"})
	}})
	id := h.enqueue(entrySpec{sender: "s@example.org", rcpts: rcpts("a@corp.example", "b@other.example", "c@example.test")})
	h.start()
	got := map[string]string{}
	for range 3 {
		s := h.next()
		got[s.transport] = s.req.Nexthop
	}
	h.waitIn(id, queue.Spare)
	want := map[string]string{"relay": "[10.0.0.2]", "smtp": "other.example", "local": ""}
	for tr, hop := range want {
		if hop2, ok := got[tr]; !ok || hop2 != hop {
			t.Errorf("transport %s: next hop %q (requests %v), want %q", tr, hop2, got, hop)
		}
	}
}

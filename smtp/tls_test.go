package smtp

import (
	"context"
	"crypto/sha256"
	"crypto/tls"
	"crypto/x509"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/testkit"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/dns"
	"postern.dev/postern/libmail/queue"
	"postern.dev/postern/smtp/mtasts"
)

func TestPolicyFor(t *testing.T) {
	pol, err := config.ParseTLSPolicies([]string{
		"[mx.example.net]:587 verify", "[relay.example.net] encrypt", "example.org dane", ".example.org none", "sub.example.org may",
	})
	if err != nil {
		t.Fatal(err)
	}
	a := &Agent{cfg: Config{TLSLevel: "encrypt", TLSPolicies: pol}}
	for in, want := range map[string]tlsPolicy{
		"[mx.example.net]:587":   {tlsVerify, true},
		"[mx.example.net]":       {tlsEncrypt, false},
		"[relay.example.net]":    {tlsEncrypt, true},
		"[relay.example.net]:25": {tlsEncrypt, false}, // as written, or not at all
		"example.org":            {tlsDANE, true},
		"example.org:2525":       {tlsDANE, true},
		"a.b.example.org":        {tlsNone, true},
		"sub.example.org":        {tlsMay, true},
		"x.sub.example.org":      {tlsNone, true},
		"example.com":            {tlsEncrypt, false},
	} {
		d, err := parseNexthop(in, 25)
		if err != nil {
			t.Fatal(err)
		}
		if got := a.policyFor(d); got != want {
			t.Errorf("policyFor(%s) = %+v, want %+v", in, got, want)
		}
	}
}

// tlsEnv is a fake server with STARTTLS on a certificate for
// mx.example.net from a test CA, reachable as [mx.example.net]:2525 and
// as the MX of example.net.
func tlsEnv(t *testing.T, level string, o envOptions, ext ...string) (*testEnv, *fakeServer, *testkit.PKI) {
	t.Helper()
	p := testkit.NewPKI(t, "mx.example.net")
	s := newFakeServer(t, append([]string{"PIPELINING", "STARTTLS"}, ext...)...)
	s.tls = p.ServerConfig()
	prev := o.params
	o.params = func(pp *config.Params) {
		pp.SMTPTLSSecurityLevel = level
		if prev != nil {
			prev(pp)
		}
	}
	e := newTestEnv(t, o)
	e.res.AddMX("example.net", "mx.example.net", 10)
	e.res.AddHost("mx.example.net", "192.0.2.5")
	e.dialer.route("192.0.2.5:2525", s.addr())
	return e, s, p
}

func TestTLSMay(t *testing.T) {
	e, s, _ := tlsEnv(t, "may", envOptions{})
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep := e.handle(id, "example.net", true, 0)
	checkResults(t, rep, want{"sent", "2.0.0", "250"})
	if s.TLSConns() != 1 || string(s.Msgs()[0]) != testMessage {
		t.Errorf("%d TLS sessions", s.TLSConns())
	}
	if !strings.Contains(e.log.String(), "Untrusted TLS connection established to mx.example.net[192.0.2.5]:2525: TLSv1.3 with cipher TLS_") {
		t.Errorf("log:\n%s", e.log.String())
	}
	// EHLO again after STARTTLS, and no plaintext MAIL.
	d := strings.Join(s.Dialogue(), "\n")
	if strings.Count(d, "C: EHLO mail.example.test") != 2 {
		t.Errorf("dialogue:\n%s", d)
	}
}

func TestTLSMayHandshakeFailsPlaintextRetry(t *testing.T) {
	e, s, _ := tlsEnv(t, "may", envOptions{})
	s.badTLS = true
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep := e.handle(id, "example.net", true, 0)
	checkResults(t, rep, want{"sent", "2.0.0", "250"})
	if s.Conns() != 2 || s.TLSConns() != 0 {
		t.Errorf("%d connections, %d TLS", s.Conns(), s.TLSConns())
	}
	if !strings.Contains(e.log.String(), "Cannot start TLS: handshake failure: trying again without TLS") {
		t.Errorf("log:\n%s", e.log.String())
	}
}

func TestTLSMayRefused(t *testing.T) {
	e, s, _ := tlsEnv(t, "may", envOptions{})
	s.tls = nil // STARTTLS offered, then 454
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep := e.handle(id, "example.net", true, 0)
	checkResults(t, rep, want{"sent", "2.0.0", "250"})
	if s.Conns() != 1 {
		t.Errorf("%d connections", s.Conns())
	}
}

func TestTLSEncryptNotOffered(t *testing.T) {
	s := newFakeServer(t, "PIPELINING")
	e := newTestEnv(t, envOptions{params: func(p *config.Params) { p.SMTPTLSSecurityLevel = "encrypt" }})
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep := e.handle(id, nexthopOf(s), true, 0)
	checkResults(t, rep, want{"deferred", "4.7.5", "TLS is required, but was not offered by host 127.0.0.1[127.0.0.1]:"})
	if !rep.Unreachable || len(s.Msgs()) != 0 {
		t.Errorf("unreachable %v, %d messages", rep.Unreachable, len(s.Msgs()))
	}
}

func TestTLSEncryptHandshakeFails(t *testing.T) {
	e, s, _ := tlsEnv(t, "encrypt", envOptions{})
	s.badTLS = true
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep := e.handle(id, "example.net", true, 0)
	checkResults(t, rep, want{"deferred", "4.7.5", "Cannot start TLS: handshake failure"})
	if s.Conns() != 1 {
		t.Errorf("%d connections: no plaintext retry under encrypt", s.Conns())
	}
}

func TestTLSVerify(t *testing.T) {
	p := testkit.NewPKI(t, "mx.example.net")
	e, s, _ := tlsEnv(t, "verify", envOptions{params: func(pp *config.Params) { pp.SMTPTLSCAFile = p.WriteCA(t, t.TempDir()) }})
	s.tls = p.ServerConfig()
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep := e.handle(id, "example.net", true, 0)
	checkResults(t, rep, want{"sent", "2.0.0", "250"})
	if !strings.Contains(e.log.String(), "Verified TLS connection established to mx.example.net[192.0.2.5]:2525") {
		t.Errorf("log:\n%s", e.log.String())
	}

	// The same through [host]: the host's name is verified.
	id = e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep = e.handle(id, "[mx.example.net]", true, 0)
	checkResults(t, rep, want{"sent", "2.0.0", "250"})
}

func TestTLSVerifyUnknownCA(t *testing.T) {
	other := testkit.NewPKI(t, "mx.example.net")
	e, s, _ := tlsEnv(t, "verify", envOptions{params: func(pp *config.Params) { pp.SMTPTLSCAFile = other.WriteCA(t, t.TempDir()) }})
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep := e.handle(id, "example.net", true, 0)
	checkResults(t, rep, want{"deferred", "4.7.5", "Server certificate not verified"})
	if !rep.Unreachable || len(s.Msgs()) != 0 {
		t.Errorf("unreachable %v, %d messages", rep.Unreachable, len(s.Msgs()))
	}
	if !strings.Contains(e.log.String(), "server certificate verification failed for mx.example.net[192.0.2.5]:2525: x509: certificate signed by unknown authority") {
		t.Errorf("log:\n%s", e.log.String())
	}
}

func TestTLSVerifyWrongName(t *testing.T) {
	p := testkit.NewPKI(t, "other.example.net")
	e, s, _ := tlsEnv(t, "verify", envOptions{params: func(pp *config.Params) { pp.SMTPTLSCAFile = p.WriteCA(t, t.TempDir()) }})
	s.tls = p.ServerConfig()
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep := e.handle(id, "example.net", true, 0)
	checkResults(t, rep, want{"deferred", "4.7.5", "Server certificate not verified"})
}

// spkiTLSA is a DANE-EE SPKI SHA-256 record (3 1 1) for cert.
func spkiTLSA(cert *x509.Certificate) dns.TLSA {
	sum := sha256.Sum256(cert.RawSubjectPublicKeyInfo)
	return dns.TLSA{Usage: 3, Selector: 1, MatchingType: 1, Data: sum[:]}
}

func TestDANE(t *testing.T) {
	e, s, p := tlsEnv(t, "dane", envOptions{})
	e.res.SetSecure("example.net", true)
	e.res.SetSecure("mx.example.net", true)
	e.res.SetSecure("_2525._tcp.mx.example.net", true)
	e.res.SetTLSA(2525, "mx.example.net", spkiTLSA(p.Leaf))
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep := e.handle(id, "example.net", true, 0)
	checkResults(t, rep, want{"sent", "2.0.0", "250"})
	if !strings.Contains(e.log.String(), "Verified TLS connection established to mx.example.net[192.0.2.5]:2525") {
		t.Errorf("log:\n%s", e.log.String())
	}

	// A record that does not match: no delivery.
	other := testkit.NewPKI(t, "mx.example.net")
	e.res.SetTLSA(2525, "mx.example.net", spkiTLSA(other.Leaf))
	id = e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep = e.handle(id, "example.net", true, 0)
	checkResults(t, rep, want{"deferred", "4.7.5", "Server certificate not verified"})

	// Only unusable records (PKIX-EE): TLS required, not authenticated.
	e.res.SetTLSA(2525, "mx.example.net", dns.TLSA{Usage: 1, Selector: 1, MatchingType: 1, Data: make([]byte, 32)})
	rep = e.handle(id, "example.net", true, 0)
	checkResults(t, rep, want{"sent", "2.0.0", "250"})
	s.tls = nil
	id = e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep = e.handle(id, "example.net", true, 0)
	checkResults(t, rep, want{"deferred", "4.7.5", "TLS is required, but host mx.example.net[192.0.2.5]:2525 refused to start TLS: 454"})

	// TLSA lookup failure: defer.
	e.res.SetTemporaryFailure("_2525._tcp.mx.example.net", true)
	rep = e.handle(id, "example.net", true, 0)
	checkResults(t, rep, want{"deferred", "4.7.5", "TLSA lookup error for mx.example.net:2525"})

	// An insecure MX RRset: opportunistic TLS (here: none offered works).
	e.res.SetSecure("example.net", false)
	rep = e.handle(id, "example.net", true, 0)
	checkResults(t, rep, want{"sent", "2.0.0", "250"})
}

// fakeSTS returns a fixed MTA-STS policy per domain.
type fakeSTS map[string]*mtasts.Policy

func (f fakeSTS) Get(ctx context.Context, domain string) (*mtasts.Policy, error) {
	return f[domain], nil
}

func TestMTASTS(t *testing.T) {
	p := testkit.NewPKI(t, "mx.example.net")
	sts := fakeSTS{
		"example.net":  {Mode: mtasts.ModeEnforce, MX: []string{"mx.example.net"}, MaxAge: time.Hour},
		"mismatch.net": {Mode: mtasts.ModeEnforce, MX: []string{"*.mismatch.net"}, MaxAge: time.Hour},
		"testing.net":  {Mode: mtasts.ModeTesting, MX: []string{"*.testing.net"}, MaxAge: time.Hour},
	}
	e, s, _ := tlsEnv(t, "may", envOptions{sts: sts, params: func(pp *config.Params) {
		pp.SMTPTLSCAFile = p.WriteCA(t, t.TempDir())
		pp.SMTPMTASTSEnable = true
		pp.SMTPTLSPolicyMaps = []string{"explicit.net may"}
	}})
	s.tls = p.ServerConfig()
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep := e.handle(id, "example.net", true, 0)
	checkResults(t, rep, want{"sent", "2.0.0", "250"})
	if !strings.Contains(e.log.String(), "Verified TLS connection established to mx.example.net[192.0.2.5]:2525") {
		t.Errorf("log:\n%s", e.log.String())
	}

	e.res.AddMX("mismatch.net", "mx.example.net", 10)
	id = e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@mismatch.net")
	rep = e.handle(id, "mismatch.net", true, 0)
	checkResults(t, rep, want{"deferred", "4.7.5", "MX host mx.example.net does not match the MTA-STS policy of mismatch.net"})
	if !rep.Unreachable {
		t.Error("not unreachable")
	}

	// Testing mode: delivered, the mismatch logged.
	e.res.AddMX("testing.net", "mx.example.net", 10)
	id = e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@testing.net")
	rep = e.handle(id, "testing.net", true, 0)
	checkResults(t, rep, want{"sent", "2.0.0", "250"})
	if !strings.Contains(e.log.String(), "MTA-STS policy of testing.net (testing): MX host mx.example.net does not match the policy") {
		t.Errorf("log:\n%s", e.log.String())
	}

	// Enforce with a certificate that does not verify: deferred.
	s.tls = testkit.NewPKI(t, "mx.example.net").ServerConfig()
	id = e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep = e.handle(id, "example.net", true, 0)
	checkResults(t, rep, want{"deferred", "4.7.5", "Server certificate not verified"})

	// An explicit policy entry wins over MTA-STS.
	sts["explicit.net"] = sts["mismatch.net"]
	e.res.AddMX("explicit.net", "mx.example.net", 10)
	id = e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@explicit.net")
	rep = e.handle(id, "explicit.net", true, 0)
	checkResults(t, rep, want{"sent", "2.0.0", "250"})
}

func TestTLSSummary(t *testing.T) {
	cs := &tls.ConnectionState{Version: tls.VersionTLS12, CipherSuite: tls.TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256}
	want := "Trusted TLS connection established to mx[192.0.2.1]:25: TLSv1.2 with cipher TLS_ECDHE_ECDSA_WITH_AES_128_GCM_SHA256"
	if got := tlsSummary("Trusted", "mx[192.0.2.1]:25", cs); got != want {
		t.Errorf("%q", got)
	}
}

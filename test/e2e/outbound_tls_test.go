package e2e

import (
	"crypto/tls"
	"fmt"
	"os"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/testkit"
)

const oneMXZone = "$ORIGIN remote.test.\n@ MX 10 mx1\nmx1 A 127.0.0.1\n"

// TestOutboundTLS: the outbound TLS levels against a sink that offers
// STARTTLS (or fails it, or does not offer it).
func TestOutboundTLS(t *testing.T) {
	// Under workDir, which the daemons (postern, when root) can reach;
	// t.TempDir's parent is private.
	dir, err := os.MkdirTemp(workDir, "pki-")
	if err != nil {
		t.Fatal(err)
	}
	os.Chmod(dir, 0o755)
	pki := testkit.NewPKI(t, "mx1.remote.test")
	caFile := pki.WriteCA(t, dir)
	good := &tls.Config{Certificates: []tls.Certificate{pki.Server}}
	// A server that offers STARTTLS and then cannot complete a handshake.
	broken := &tls.Config{GetCertificate: func(*tls.ClientHelloInfo) (*tls.Certificate, error) {
		return nil, fmt.Errorf("no certificate today")
	}}

	tests := []struct {
		name     string
		sinkTLS  *tls.Config
		set      []string
		secure   bool   // the zone is DNSSEC-validated
		tlsa     string // TLSA 3 1 1 data for the MX, if any
		sent     bool   // delivered (else deferred)
		overTLS  bool
		logWants string
	}{
		{name: "may", sinkTLS: good, set: []string{"smtp_tls_security_level=may"}, sent: true, overTLS: true,
			logWants: "Untrusted TLS connection established to mx1.remote.test[127.0.0.1]"},
		{name: "may falls back to plaintext", sinkTLS: broken, set: []string{"smtp_tls_security_level=may"}, sent: true},
		{name: "encrypt without STARTTLS defers", set: []string{"smtp_tls_security_level=encrypt"},
			logWants: "status=deferred"},
		{name: "encrypt with a failing handshake defers", sinkTLS: broken, set: []string{"smtp_tls_security_level=encrypt"},
			logWants: "status=deferred"},
		{name: "verify with the CA", sinkTLS: good, set: []string{"smtp_tls_security_level=verify", "smtp_tls_CAfile=" + caFile},
			sent: true, overTLS: true, logWants: "Verified TLS connection established to mx1.remote.test[127.0.0.1]"},
		{name: "verify without the CA defers", sinkTLS: good, set: []string{"smtp_tls_security_level=verify"},
			logWants: "status=deferred"},
		{name: "policy map overrides the level", sinkTLS: good, set: []string{"smtp_tls_security_level=may",
			`smtp_tls_policy_maps=["remote.test verify"]`}, logWants: "status=deferred"},
		{name: "dane with a matching TLSA", sinkTLS: good, set: []string{"smtp_tls_security_level=dane"}, secure: true,
			tlsa: pki.SPKISHA256(), sent: true, overTLS: true, logWants: "Verified TLS connection established to mx1.remote.test[127.0.0.1]"},
		{name: "dane with a wrong TLSA defers", sinkTLS: good, set: []string{"smtp_tls_security_level=dane"}, secure: true,
			tlsa: strings.Repeat("ab", 32), logWants: "status=deferred"},
		{name: "dane without DNSSEC is may", sinkTLS: good, set: []string{"smtp_tls_security_level=dane"},
			tlsa: strings.Repeat("ab", 32), sent: true, overTLS: true, logWants: "Untrusted TLS connection established"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			sink := NewSinkTLS(t, tt.sinkTLS)
			zone := oneMXZone
			if tt.tlsa != "" {
				zone += fmt.Sprintf("_%d._tcp.mx1 TLSA 3 1 1 %s\n", sink.Port, tt.tlsa)
			}
			s, d := outbound(t, zone, sink.Port, tt.set...)
			if tt.secure {
				d.Secure("remote.test.")
			}
			submit(t, s, "alice@example.org", []string{"bob@remote.test"}, "tls")
			if tt.sent {
				tx := sink.Wait(1, 20*time.Second)[0]
				if tx.TLS != tt.overTLS {
					t.Errorf("delivered with TLS %v, want %v", tx.TLS, tt.overTLS)
				}
				s.WaitLog("status=sent", 10*time.Second)
			} else {
				s.WaitLog("status=deferred", 20*time.Second)
				if n := len(sink.Txs()); n != 0 {
					t.Errorf("%d messages delivered, want none", n)
				}
			}
			if tt.logWants != "" && !strings.Contains(s.Log(), tt.logWants) {
				t.Errorf("log lacks %q:\n%s", tt.logWants, tail(s.Log(), 15))
			}
		})
	}
}

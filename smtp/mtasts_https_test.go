package smtp

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"postern.dev/postern/libmail/testkit"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/queue"
	"postern.dev/postern/smtp/mtasts"
)

// TestMTASTSOverHTTPS runs the agent with the real MTA-STS fetcher
// against a policy server on loopback HTTPS (certificate from a test CA,
// mta-sts.example.net resolved to it by the HTTP client's dialer): an
// enforce policy naming the MX lets mail through over verified TLS; a new
// policy id that excludes the MX is fetched again and defers the mail.
func TestMTASTSOverHTTPS(t *testing.T) {
	p := testkit.NewPKI(t, "mx.example.net", "mta-sts.example.net")
	var policy atomic.Value
	policy.Store("version: STSv1\r\nmode: enforce\r\nmx: mx.example.net\r\nmax_age: 86400\r\n")
	var fetches atomic.Int32
	hs := httptest.NewUnstartedServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if r.Host != "mta-sts.example.net" || r.URL.Path != "/.well-known/mta-sts.txt" {
			http.NotFound(w, r)
			return
		}
		fetches.Add(1)
		w.Header().Set("Content-Type", "text/plain")
		fmt.Fprint(w, policy.Load().(string))
	}))
	hs.TLS = p.ServerConfig()
	hs.StartTLS()
	t.Cleanup(hs.Close)

	roots := x509.NewCertPool()
	roots.AppendCertsFromPEM(p.CAPEM)
	client := &http.Client{Timeout: 10 * time.Second, Transport: &http.Transport{
		TLSClientConfig: &tls.Config{RootCAs: roots},
		// Every policy host is the test server; nothing leaves loopback.
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			if !strings.HasPrefix(addr, "mta-sts.") {
				return nil, fmt.Errorf("test dialer: refusing %s", addr)
			}
			var d net.Dialer
			return d.DialContext(ctx, "tcp", hs.Listener.Addr().String())
		},
	}}

	res := testkit.NewResolver()
	res.SetTXT("_mta-sts.example.net", "v=STSv1; id=1;")
	clock := time.Now
	fetcher := mtasts.NewFetcher(res, client, clock)
	s := newFakeServer(t, "PIPELINING", "STARTTLS")
	s.tls = p.ServerConfig()
	e := newTestEnv(t, envOptions{sts: fetcher, params: func(pp *config.Params) {
		pp.SMTPTLSSecurityLevel = "may"
		pp.SMTPMTASTSEnable = true
		pp.SMTPTLSCAFile = p.WriteCA(t, t.TempDir())
	}})
	e.res.AddMX("example.net", "mx.example.net", 10)
	e.res.AddHost("mx.example.net", "192.0.2.5")
	e.dialer.route("192.0.2.5:2525", s.addr())

	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "a@example.net")
	rep := e.handle(id, "example.net", true, 0)
	checkResults(t, rep, want{"sent", "2.0.0", "250"})
	if !strings.Contains(e.log.String(), "Verified TLS connection established to mx.example.net[192.0.2.5]:2525") {
		t.Errorf("not verified TLS:\n%s", e.log.String())
	}
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d policy fetches, want 1", n)
	}

	// Same id: the cached policy, no fetch.
	id = e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "b@example.net")
	checkResults(t, e.handle(id, "example.net", true, 0), want{"sent", "2.0.0", "250"})
	if n := fetches.Load(); n != 1 {
		t.Errorf("%d policy fetches after a second message, want 1", n)
	}

	// A new policy (new id) that does not list the MX: fetched, enforced.
	policy.Store("version: STSv1\r\nmode: enforce\r\nmx: *.elsewhere.example\r\nmax_age: 86400\r\n")
	res.SetTXT("_mta-sts.example.net", "v=STSv1; id=2;")
	e.agent.cache.close() // no reuse of the connection opened under the old policy
	id = e.enqueue(queue.Envelope{Sender: "s@example.org"}, testMessage, "c@example.net")
	checkResults(t, e.handle(id, "example.net", true, 0), want{"deferred", "4.7.5", "does not match the MTA-STS policy"})
	if n := fetches.Load(); n != 2 {
		t.Errorf("%d policy fetches after the id changed, want 2", n)
	}
}

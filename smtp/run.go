package smtp

import (
	"context"
	crand "crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"encoding/binary"
	"math/rand/v2"
	"net"
	"net/http"
	"time"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/dns"
	"postern.dev/postern/libmail/queue"
	"postern.dev/postern/smtp/mtasts"
)

// stsFetchTimeout bounds one MTA-STS policy fetch (RFC 8461 §3.3 suggests
// a minute at most).
const stsFetchTimeout = 60 * time.Second

// Run is smtp's life: serve qmgr until ctx ends.
func Run(ctx context.Context, env *daemon.Env) error {
	p := env.Params
	cfg, err := NewConfig(p)
	if err != nil {
		return err
	}
	servers, err := config.ParseDNSServers(p.DNSServers)
	if err != nil {
		return err
	}
	// Zero: the lookup budget resolv.conf implies, or the package default.
	res, err := dns.New(servers, 0)
	if err != nil {
		return err
	}
	roots, err := LoadRoots(cfg.CAFile)
	if err != nil {
		return err
	}
	self, err := LocalSelf(env.Config, p)
	if err != nil {
		return err
	}
	var seed [16]byte
	crand.Read(seed[:])
	rnd := rand.New(rand.NewPCG(binary.LittleEndian.Uint64(seed[:8]), binary.LittleEndian.Uint64(seed[8:])))
	// The spool's sync policy is for the result records smtp appends.
	spool, err := queue.OpenSync(p.QueueDirectory, env.Now, p.SyncMethod)
	if err != nil {
		return err
	}
	o := Options{Spool: spool, Resolver: res, Log: env.Log, Now: env.Now,
		Rand: rnd, Self: self, Roots: roots}
	defer o.Spool.Close()
	if cfg.MTASTS {
		o.STS = mtasts.NewFetcher(res, stsClient(roots), env.Now)
	}
	a, err := NewAgent(cfg, o)
	if err != nil {
		return err
	}
	defer a.Close()
	a.UseMetrics(env.Metrics, env.Service.Name)
	wait := env.Serve(ctx, func(l net.Listener) error { a.Serve(ctx, l); return nil })
	env.Ready()
	wait()
	return nil
}

// stsClient is the HTTPS client for MTA-STS policies: the same roots as
// verify (RFC 8461 §3.3 requires a PKIX-valid certificate), no
// redirects, and a time limit.
func stsClient(roots *x509.CertPool) *http.Client {
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.TLSClientConfig = &tls.Config{RootCAs: roots, MinVersion: tls.VersionTLS12}
	t.Proxy = nil
	return &http.Client{
		Transport:     t,
		Timeout:       stsFetchTimeout,
		CheckRedirect: func(*http.Request, []*http.Request) error { return http.ErrUseLastResponse },
	}
}

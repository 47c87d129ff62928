package smtpd

import (
	"context"
	"fmt"
	"net"
	"net/netip"
	"path/filepath"
	"time"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/dns"
	"postern.dev/postern/libmail/ipc/anvil"
	"postern.dev/postern/libmail/ipc/wake"
	"postern.dev/postern/libmail/queue"
	"postern.dev/postern/libmail/recipient"
)

// Run is smtpd's life: serve every inherited listener until ctx ends,
// then let sessions finish, up to the master's stop timeout.
func Run(ctx context.Context, env *daemon.Env) error {
	cfg, err := NewConfig(env.Params)
	if err != nil {
		return err
	}
	cfg.Service = env.Service.Name
	spool, err := queue.OpenSync(env.Params.QueueDirectory, env.Now, env.Params.SyncMethod)
	if err != nil {
		return err
	}
	defer spool.Close()
	waker := wake.NewClient(wake.Path(env.Params.QueueDirectory), env.Log)
	// The wake-ups of the last messages go out before the process exits.
	defer waker.Start()()

	servers, err := config.ParseDNSServers(env.Params.DNSServers)
	if err != nil {
		return fmt.Errorf("dns_servers: %w", err)
	}
	// The client's name is looked up while it waits for the greeting;
	// a slow resolver must not keep it waiting long (it is "unknown"
	// then, as in Postfix).
	resolver, err := dns.New(servers, 5*time.Second)
	if err != nil {
		return err
	}

	dir := recipient.New(env.Params, env.Log, env.Now)
	srv := NewServer(cfg, spool, dir, waker, resolverNamer{resolver}, env.Log, env.Now)
	srv.UseAuthentication(resolver, uint64(env.Now().UnixNano()))
	srv.UseMetrics(env.Metrics)
	// The client limits count across processes in anvil, when the
	// service table runs it; otherwise only the per-process connection
	// count holds, and nobody is warned about an anvil that is not meant
	// to be there.
	if a := env.Config.Service("anvil"); a != nil && a.Enabled && len(a.Listen) > 0 {
		limiter := anvil.NewClient(filepath.Join(env.Params.QueueDirectory, a.Listen[0]), env.Log, anvil.DefaultTimeout)
		defer limiter.Start()()
		srv.UseLimiter(limiter)
	}
	wait := env.Serve(ctx, func(l net.Listener) error {
		// A Unix socket is the smtpd service behind postscreen, which
		// passes clients on it (pass.go).
		if l.Addr().Network() == "unix" {
			return srv.Serve(newPassListener(l, env.Log))
		}
		return srv.Serve(l)
	})
	env.Ready()
	<-ctx.Done()
	// Sessions get a few seconds to finish what they are doing; a client
	// that keeps its connection open for more mail is cut off after that.
	sctx, cancel := context.WithTimeout(context.Background(), min(5*time.Second, env.Params.MasterStopTimeout.D()/2))
	defer cancel()
	srv.Shutdown(sctx)
	wait()
	return nil
}

// resolverNamer adapts a dns.Resolver to Namer.
type resolverNamer struct{ r dns.Resolver }

func (n resolverNamer) ClientName(ctx context.Context, ip net.IP) string {
	a, ok := netip.AddrFromSlice(ip)
	if !ok {
		return ""
	}
	return dns.ClientName(ctx, n.r, a)
}

package postscreen

import (
	"context"
	"fmt"
	"time"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/dns"
)

// Run is postscreen's life: screen the clients of every inherited
// listener until ctx ends.
func Run(ctx context.Context, env *daemon.Env) error {
	svc := env.Config.Service(config.PostscreenService)
	if svc == nil || !svc.Enabled || len(svc.Listen) == 0 {
		return fmt.Errorf("no enabled service %s to pass clients to", config.PostscreenService)
	}
	cfg, err := NewConfig(env.Params, daemon.SocketPath(env.Params.QueueDirectory, svc.Listen[0]))
	if err != nil {
		return err
	}
	servers, err := config.ParseDNSServers(env.Params.DNSServers)
	if err != nil {
		return fmt.Errorf("dns_servers: %w", err)
	}
	// No answer is awaited past the greet wait anyway.
	resolver, err := dns.New(servers, cfg.GreetWait)
	if err != nil {
		return err
	}
	srv := NewServer(cfg, resolver, socketPasser{cfg.PassSocket}, env.Log, env.Now)
	wait := env.Serve(ctx, srv.Serve)
	env.Ready()
	tick := time.NewTicker(time.Minute)
	defer tick.Stop()
	for done := false; !done; {
		select {
		case <-ctx.Done():
			done = true
		case <-tick.C:
			srv.ExpireCache()
		}
	}
	sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	srv.Shutdown(sctx)
	wait()
	return nil
}

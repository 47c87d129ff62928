package login

import (
	"context"
	"fmt"
	"net"
	"os"
	"path/filepath"

	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/ipc/anvil"
	"postern.dev/postern/libmail/recipient"
)

// SessionRole is the argument (the service table's args) that makes
// imapd or pop3d the session service; without it, it is a login process.
const SessionRole = "session"

// Run is the daemon's life for imapd and pop3d: the session service
// when the service's args say "session", a login process otherwise.
func Run(ctx context.Context, env *daemon.Env, proto Protocol) error {
	if len(env.Args) > 0 && env.Args[0] == SessionRole {
		return runSessionService(ctx, env, proto.Name())
	}
	if len(env.Args) > 0 {
		return fmt.Errorf("unknown role %q (want none, or %q)", env.Args[0], SessionRole)
	}
	return runLogin(ctx, env, proto)
}

func runLogin(ctx context.Context, env *daemon.Env, proto Protocol) error {
	name := proto.Name() + "-session"
	ss := env.Config.Service(name)
	if ss == nil || !ss.Enabled || len(ss.Listen) == 0 {
		return fmt.Errorf("service %s needs the service %s: enable it", env.Service.Name, name)
	}
	cfg, err := NewConfig(env.Service.Name, env.Params, filepath.Join(env.Params.QueueDirectory, ss.Listen[0]))
	if err != nil {
		return err
	}
	srv := NewServer(cfg, proto, env.Log, env.Now)
	if a := env.Config.Service("anvil"); a != nil && a.Enabled && len(a.Listen) > 0 {
		limiter := anvil.NewClient(filepath.Join(env.Params.QueueDirectory, a.Listen[0]), env.Log, anvil.DefaultTimeout)
		defer limiter.Start()()
		srv.UseLimiter(limiter)
	}
	wait := env.Serve(ctx, func(l net.Listener) error { return srv.Serve(ctx, l) })
	env.Ready()
	wait()
	return nil
}

func runSessionService(ctx context.Context, env *daemon.Env, protocol string) error {
	p := env.Params
	vmail, err := daemon.Current()
	if err != nil {
		return err
	}
	if daemon.CanSwitchUsers() {
		if vmail, err = daemon.LookupUser(p.VmailUser); err != nil {
			return err
		}
	}
	self, err := os.Executable()
	if err != nil {
		return err
	}
	file := ""
	if p.MaillogFile != "" {
		// The log the service writes on its standard error, which the
		// sessions inherit (they may not open the file themselves).
		file = "-"
	}
	s := &SessionService{Protocol: protocol, Accounts: recipient.New(p, env.Log, env.Now), Vmail: vmail,
		VirtualBase: p.VirtualMailboxBase, HomeMailbox: p.HomeMailbox, Quota: p.MailboxQuota, Program: self, Log: env.Log, Now: env.Now,
		LogOptions: ChildLog{Program: protocol + "d", File: file, Name: p.SyslogName, Facility: p.SyslogFacility, Hostname: p.MyHostname}}
	wait := env.Serve(ctx, func(l net.Listener) error { return s.Serve(ctx, l) })
	env.Ready()
	wait()
	return nil
}

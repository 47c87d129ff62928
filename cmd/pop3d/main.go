// Command pop3d is postern's POP3 server; see pop3d(8). Under the master
// it is a login process (services pop3, pop3s) or the session service
// (pop3-session, args "session"); started with -session by the session
// service, it is one client's session as the mailbox's owner. Run by
// hand (or as fetchmail's plugin) as the mailbox's owner with -m
// MAILDIR, it serves one already authenticated session on its standard
// input and output.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"slices"
	"syscall"
	"time"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/login"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/pop3d"
	"postern.dev/postern/pop3d/pop3login"
)

func main() {
	switch {
	case len(os.Args) > 1 && os.Args[1] == login.ChildFlag:
		login.ChildMain(pop3d.Handoff)
	case slices.Contains(os.Args[1:], "-m"):
		standalone()
	default:
		daemon.Main("pop3d", "pop3", func(ctx context.Context, env *daemon.Env) error {
			return login.Run(ctx, env, pop3login.Protocol{})
		})
	}
}

// standalone serves one session on standard input and output.
func standalone() {
	fs := flag.NewFlagSet("pop3d", flag.ExitOnError)
	fs.Usage = func() { fmt.Fprint(fs.Output(), pop3d.Usage); fs.PrintDefaults() }
	cfgPath := fs.String("c", config.DefaultFile, "configuration `file`")
	root := fs.String("m", "", "the `maildir` to serve")
	user := fs.String("u", os.Getenv("USER"), "the `user` name for the log")
	fs.Parse(os.Args[1:])
	if err := pop3d.CheckArgs(*root); err != nil {
		fmt.Fprintf(os.Stderr, "pop3d: %v\n%s", err, pop3d.Usage)
		os.Exit(2)
	}
	cfg, err := config.Load(*cfgPath, config.Options{})
	if err != nil {
		fmt.Fprintf(os.Stderr, "pop3d: fatal: %v\n", err)
		os.Exit(1)
	}
	log := maillog.ForWriter(os.Stderr, "pop3d", cfg.MyHostname, time.Now)
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, syscall.SIGINT)
	defer stop()
	if err := pop3d.RunSession(ctx, pop3d.NewConfig(&cfg.Params), log, *user, *root, pop3d.Stdio()); err != nil {
		os.Exit(1)
	}
}

// Command pop3d serves POP3 on the mailbox store; see package pop3d and
// pop3d(8). Run as the mailbox owner with -m MAILDIR it serves one
// authenticated session on its standard input and output: the session
// process the login front starts, and a way to try a Maildir by hand.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"os/signal"
	"syscall"
	"time"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/pop3d"
)

func main() {
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

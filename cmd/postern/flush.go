package main

import (
	"context"
	"flag"
	"fmt"
	"time"

	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/ipc/wake"
)

// cmdFlush is Postfix's postqueue -f (and -s SITE): qmgr forgets which
// destinations it found dead and retries deferred mail now.
func cmdFlush(a *app, args []string) error {
	fs := a.flags("flush", "[-c FILE] [-s SITE]", "Retry deferred mail now, forgetting which destinations were found dead.\nWith -s, only the mail for one site (a domain, or a next hop such as [192.0.2.1]).")
	site := fs.String("s", "", "flush only the mail for `site`")
	if _, err := a.parse(fs, args, 0); err != nil {
		return err
	}
	given := false
	fs.Visit(func(f *flag.Flag) { given = given || f.Name == "s" })
	if given && !wake.ValidSite(*site) {
		return usageError(fmt.Sprintf("%q is not a domain or address literal", *site))
	}
	if err := a.load(); err != nil {
		return err
	}
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
	defer cancel()
	conn, err := ipc.Dial(ctx, wake.Path(a.cfg.QueueDirectory), ipc.Hello{Channel: wake.Channel, Version: wake.Version})
	if err != nil {
		return fmt.Errorf("the queue manager is not reachable: %w", err)
	}
	defer conn.Close()
	return conn.SendFlush(wake.Frame{Type: wake.Type, Scan: true, Site: *site})
}

package imapd

import (
	"context"
	"fmt"
	"net"
	"path/filepath"
	"time"

	"postern.dev/postern/libmail/login"
	"postern.dev/postern/libmail/mailbox"
	"postern.dev/postern/libmail/maillog"
)

// Handoff is imapd's session process (login.ChildMain): the
// authenticated and selected states, as the mailbox's owner, on the
// connection the login front authenticated. The tagged OK of the login
// command is sent here, once the mailbox is open.
func Handoff(log *maillog.Logger) login.Handoff {
	return func(ctx context.Context, conn net.Conn, id login.Identity, mb login.Mailbox) error {
		store, err := mailbox.Open(ctx, mb.Root, mailbox.Options{Hostname: mb.Hostname, QuotaLimit: mb.Quota, Now: time.Now})
		if err != nil {
			fmt.Fprintf(conn, "%s NO [UNAVAILABLE] Mailbox unavailable.\r\n", id.Tag)
			log.Error("user=<%s>: %v", id.User, err)
			return err
		}
		defer store.Close()
		cfg := Config{Compress: true, SpoolDir: filepath.Join(mb.Root, "tmp"), Logf: func(f string, a ...any) { log.Warn("user=<%s>: "+f, append([]any{id.User}, a...)...) }}
		st, err := Serve(ctx, conn, store, id.Tag, cfg)
		if err != nil {
			log.Warn("user=<%s>: %v", id.User, err)
		}
		log.Info("user=<%s>, rip=%s: Disconnected: fetched=%d, expunged=%d", id.User, id.Client.Addr(), st.Fetched, st.Expunged)
		return err
	}
}

package pop3d

import (
	"context"
	"net"

	"postern.dev/postern/libmail/login"
	"postern.dev/postern/libmail/maillog"
)

// Handoff is pop3d's session process (login.ChildMain): the TRANSACTION
// and UPDATE states, as the mailbox's owner, on the connection the login
// front authenticated. The +OK of the login is Serve's to send, once the
// mailbox is open and its lock held.
func Handoff(log *maillog.Logger) login.Handoff {
	return func(ctx context.Context, conn net.Conn, id login.Identity, mb login.Mailbox) error {
		return RunSession(ctx, Config{Hostname: mb.Hostname, Quota: mb.Quota}, log, id.User, mb.Root, conn)
	}
}

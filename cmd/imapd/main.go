// Command imapd is postern's IMAP server; see imapd(8). Under the master
// it is a login process (services imap, imaps) or the session service
// (imap-session, args "session"); run with -session by the session
// service, it is one client's session as the mailbox's owner.
package main

import (
	"context"
	"os"

	"postern.dev/postern/imapd"
	"postern.dev/postern/imapd/imaplogin"
	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/login"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == login.ChildFlag {
		login.ChildMain(imapd.Handoff)
		return
	}
	daemon.Main("imapd", "imap", func(ctx context.Context, env *daemon.Env) error {
		return login.Run(ctx, env, imaplogin.Protocol{})
	})
}

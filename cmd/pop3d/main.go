// Command pop3d is postern's POP3 server; see pop3d(8). Under the master
// it is a login process (services pop3, pop3s) or the session service
// (pop3-session, args "session"); run with -session by the session
// service, it is one client's session as the mailbox's owner.
package main

import (
	"context"
	"os"

	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/login"
	"postern.dev/postern/pop3d/pop3login"
	"postern.dev/postern/pop3d/stub"
)

func main() {
	if len(os.Args) > 1 && os.Args[1] == login.ChildFlag {
		login.ChildMain(stub.Handoff)
		return
	}
	daemon.Main("pop3d", "pop3", func(ctx context.Context, env *daemon.Env) error {
		return login.Run(ctx, env, pop3login.Protocol{})
	})
}

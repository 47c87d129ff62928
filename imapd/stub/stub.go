// Package stub is imapd's authenticated state until the real one
// arrives: it proves the login role's handoff (the session runs as the
// mailbox's owner, on the client's connection) and nothing more. It
// answers the tagged OK of the login, then CAPABILITY, NOOP, LOGOUT and
// SELECT INBOX (with only the EXISTS count); anything else gets "NO not
// yet".
package stub

import (
	"bufio"
	"context"
	"fmt"
	"net"
	"strings"

	"postern.dev/postern/libmail/login"
	"postern.dev/postern/libmail/maillog"
)

// Handoff is the stub session for login.ChildMain.
func Handoff(log *maillog.Logger) login.Handoff {
	return func(ctx context.Context, conn net.Conn, id login.Identity, mb login.Mailbox) error {
		mailbox := mb.Root
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		defer stop()
		r, w := bufio.NewReader(conn), bufio.NewWriter(conn)
		defer w.Flush()
		if _, _, err := login.CountMaildir(mailbox); err != nil {
			fmt.Fprintf(w, "%s NO [UNAVAILABLE] Mailbox unavailable.\r\n", id.Tag)
			return fmt.Errorf("open mailbox %s: %w", mailbox, err)
		}
		fmt.Fprintf(w, "%s OK [CAPABILITY IMAP4rev1] Logged in.\r\n", id.Tag)
		for {
			if err := w.Flush(); err != nil {
				return nil
			}
			line, err := r.ReadString('\n')
			if err != nil {
				return nil
			}
			f := strings.Fields(line)
			if len(f) < 2 {
				fmt.Fprintf(w, "* BAD Missing command.\r\n")
				continue
			}
			tag, name := f[0], strings.ToUpper(f[1])
			switch {
			case name == "CAPABILITY":
				fmt.Fprintf(w, "* CAPABILITY IMAP4rev1\r\n%s OK Capability completed.\r\n", tag)
			case name == "NOOP":
				fmt.Fprintf(w, "%s OK NOOP completed.\r\n", tag)
			case name == "LOGOUT":
				fmt.Fprintf(w, "* BYE Logging out.\r\n%s OK Logout completed.\r\n", tag)
				log.Info("Logged out: user=<%s>, rip=%s", id.User, id.Client.Addr())
				return nil
			case name == "SELECT" && len(f) == 3 && strings.EqualFold(strings.Trim(f[2], `"`), "INBOX"):
				n, _, err := login.CountMaildir(mailbox)
				if err != nil {
					fmt.Fprintf(w, "%s NO [UNAVAILABLE] Mailbox unavailable.\r\n", tag)
					continue
				}
				fmt.Fprintf(w, "* %d EXISTS\r\n%s OK [READ-WRITE] Select completed.\r\n", n, tag)
			default:
				fmt.Fprintf(w, "%s NO not yet\r\n", tag)
			}
		}
	}
}

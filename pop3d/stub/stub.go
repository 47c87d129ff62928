// Package stub is pop3d's TRANSACTION state until the real one arrives:
// it proves the login role's handoff (the session runs as the mailbox's
// owner, on the client's connection) and nothing more. It answers the
// +OK of the login, then STAT, NOOP and QUIT; anything else gets
// "-ERR not yet".
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
	return func(ctx context.Context, conn net.Conn, id login.Identity, mailbox string) error {
		stop := context.AfterFunc(ctx, func() { conn.Close() })
		defer stop()
		r, w := bufio.NewReader(conn), bufio.NewWriter(conn)
		defer w.Flush()
		if _, _, err := login.CountMaildir(mailbox); err != nil {
			fmt.Fprintf(w, "-ERR [SYS/TEMP] Mailbox unavailable.\r\n")
			return fmt.Errorf("open mailbox %s: %w", mailbox, err)
		}
		fmt.Fprintf(w, "+OK Logged in.\r\n")
		for {
			if err := w.Flush(); err != nil {
				return nil
			}
			line, err := r.ReadString('\n')
			if err != nil {
				return nil
			}
			name, _, _ := strings.Cut(strings.TrimRight(line, "\r\n"), " ")
			switch strings.ToUpper(name) {
			case "STAT":
				n, size, err := login.CountMaildir(mailbox)
				if err != nil {
					fmt.Fprintf(w, "-ERR [SYS/TEMP] Mailbox unavailable.\r\n")
					continue
				}
				fmt.Fprintf(w, "+OK %d %d\r\n", n, size)
			case "NOOP":
				fmt.Fprintf(w, "+OK\r\n")
			case "QUIT":
				fmt.Fprintf(w, "+OK Logging out.\r\n")
				log.Info("Logged out: user=<%s>, rip=%s", id.User, id.Client.Addr())
				return nil
			default:
				fmt.Fprintf(w, "-ERR not yet\r\n")
			}
		}
	}
}

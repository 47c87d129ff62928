package pop3d

import (
	"context"
	"fmt"
	"io"
	"net"
	"os"
	"time"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/mailbox"
	"postern.dev/postern/libmail/maillog"
)

// Config is what a session needs from the parameters.
type Config struct {
	Hostname string // myhostname, for the names of files the store writes
	Quota    int64  // mailbox_quota
}

// NewConfig converts the parameters.
func NewConfig(p *config.Params) Config {
	return Config{Hostname: p.MyHostname, Quota: p.MailboxQuota}
}

// RunSession serves one already authenticated client on conn for the
// Maildir at root, as the session process does once the login front has
// handed it the connection (and as "pop3d -m" does on its standard input
// and output). It logs the outcome in Dovecot's form.
func RunSession(ctx context.Context, cfg Config, log *maillog.Logger, user, root string, conn io.ReadWriter) error {
	store, err := mailbox.Open(ctx, root, mailbox.Options{Hostname: cfg.Hostname, QuotaLimit: cfg.Quota, Now: time.Now})
	if err != nil {
		io.WriteString(conn, "-ERR [SYS/TEMP] Cannot open the mailbox.\r\n")
		log.Error("user=<%s>: %v", user, err)
		return err
	}
	defer store.Close()
	res, err := Serve(ctx, conn, store, Options{})
	how := "Logged out"
	if !res.Quit {
		how = "Connection closed"
	}
	if err != nil {
		log.Warn("user=<%s>: %v", user, err)
	}
	log.Info("user=<%s>: Disconnected: %s %s", user, how, res)
	return err
}

// Stdio is the standard input and output as one connection; when the
// standard input is a socket (inetd, or a front that passed the
// descriptor) it is that socket, so that the idle timeout applies.
func Stdio() io.ReadWriter {
	if c, err := net.FileConn(os.Stdin); err == nil {
		return c
	}
	return struct {
		io.Reader
		io.Writer
	}{os.Stdin, os.Stdout}
}

// Usage is the command's synopsis.
const Usage = "usage: pop3d [-c config] -m maildir [-u user]\n" +
	"Serve one authenticated POP3 session for the Maildir on standard input and output.\n"

// errUsage reports a command line that names no Maildir.
var errUsage = fmt.Errorf("no Maildir given (-m)")

// CheckArgs validates the command line's Maildir.
func CheckArgs(root string) error {
	if root == "" {
		return errUsage
	}
	return nil
}

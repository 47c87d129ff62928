package postscreen

import (
	"context"
	"fmt"
	"net"

	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/ipc/pass"
)

// socketPasser passes clients to the smtpd service on its Unix socket,
// one connection per client (libmail/ipc/pass), so that several smtpd
// processes share the clients as they share the socket.
type socketPasser struct{ path string }

// Pass sends c's descriptor and the request; the caller then closes its
// copy of c.
func (p socketPasser) Pass(ctx context.Context, c *net.TCPConn, req pass.Request) error {
	conn, err := ipc.Dial(ctx, p.path, ipc.Hello{Channel: pass.Channel, Version: pass.Version})
	if err != nil {
		return err
	}
	defer conn.Close()
	uc, ok := conn.Peer().(*net.UnixConn)
	if !ok {
		return fmt.Errorf("%s is not a unix socket", p.path)
	}
	f, err := c.File()
	if err != nil {
		return fmt.Errorf("client descriptor: %w", err)
	}
	defer f.Close()
	if dl, ok := ctx.Deadline(); ok {
		uc.SetDeadline(dl)
	}
	if err := daemon.SendFile(uc, f); err != nil {
		return err
	}
	return conn.SendFlush(req)
}

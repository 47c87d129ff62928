package control

import (
	"context"
	"time"

	"postern.dev/postern/libmail/ipc"
)

// Ask sends one request of type typ to the master of the spool at root
// and returns its reply, which says itself whether the master did what
// was asked (Reply.OK). An error means the master could not be asked or
// did not answer within 30 s (a reload or a stop may take a while).
func Ask(ctx context.Context, root, typ string) (*Reply, error) {
	dctx, cancel := context.WithTimeout(ctx, 10*time.Second)
	defer cancel()
	conn, err := ipc.Dial(dctx, Path(root), ipc.Hello{Channel: Channel, Version: Version})
	if err != nil {
		return nil, err
	}
	defer conn.Close()
	if err := conn.SendFlush(Request{Type: typ}); err != nil {
		return nil, err
	}
	conn.SetReadDeadline(time.Now().Add(30 * time.Second))
	var r Reply
	if err := conn.Recv(&r); err != nil {
		return nil, err
	}
	return &r, nil
}

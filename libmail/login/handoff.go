package login

import (
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"sync"
	"time"

	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/ipc/handoff"
)

// handoffTimeout bounds the session service's answer: a password check
// (argon2id) and a process start.
const handoffTimeout = 30 * time.Second

// handoff passes the client and its credentials to the session service.
// A plaintext client's own socket goes; for a TLS client, one end of a
// socket pair, the other end of which the login process then copies to
// and from the TLS connection. On OK the client belongs to the session:
// c.handed says what is left to do here.
func (c *Client) handoff(ctx context.Context, cred Credentials) (handoff.Reply, error) {
	if err := c.Flush(); err != nil {
		return handoff.Reply{}, err
	}
	var pass, keep *os.File
	if c.tc == nil {
		fc, ok := c.raw.(interface{ File() (*os.File, error) })
		if !ok {
			return handoff.Reply{}, fmt.Errorf("connection of type %T cannot be passed", c.raw)
		}
		f, err := fc.File()
		if err != nil {
			return handoff.Reply{}, err
		}
		pass = f
	} else {
		a, b, err := daemon.SocketPair()
		if err != nil {
			return handoff.Reply{}, err
		}
		pass, keep = b, a
	}
	defer pass.Close()
	buffered, _ := c.r.Peek(c.r.Buffered())
	req := handoff.Request{Type: handoff.RequestType, Protocol: c.srv.proto.Name(), Mechanism: cred.Mechanism,
		User: cred.User, Password: cred.Password, Tag: cred.Tag, Client: c.remote.String(), Local: c.local.String(),
		TLS: c.tc != nil, Buffered: append([]byte(nil), buffered...)}
	r, err := c.ask(ctx, pass, &req)
	if err != nil || !r.OK {
		if keep != nil {
			keep.Close()
		}
		return r, err
	}
	// The connection's end as anvil counts it: login_client_connection_
	// count_limit is about clients that have not logged in.
	if c.release != nil {
		c.release()
		c.release = nil
	}
	if keep == nil {
		c.handed = func() { c.raw.Close() }
		return r, nil
	}
	c.handed = func() {
		defer keep.Close()
		pc, err := net.FileConn(keep)
		if err != nil {
			c.srv.log.Warn("%s: proxy: %v", c.Label(), err)
			c.tc.Close()
			return
		}
		proxy(c.tc, pc)
	}
	return r, nil
}

// ask makes one request on the handoff channel.
func (c *Client) ask(ctx context.Context, f *os.File, req *handoff.Request) (handoff.Reply, error) {
	ctx, cancel := context.WithTimeout(ctx, handoffTimeout)
	defer cancel()
	conn, err := ipc.Dial(ctx, c.srv.cfg.SessionSocket, ipc.Hello{Channel: handoff.Channel, Version: handoff.Version})
	if err != nil {
		return handoff.Reply{}, err
	}
	defer conn.Close()
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	uc, ok := conn.Peer().(*net.UnixConn)
	if !ok {
		return handoff.Reply{}, errors.New("session service is not on a Unix socket")
	}
	if err := daemon.SendFile(uc, f); err != nil {
		return handoff.Reply{}, err
	}
	if err := conn.SendFlush(req); err != nil {
		return handoff.Reply{}, err
	}
	var r handoff.Reply
	if err := conn.Recv(&r); err != nil {
		return handoff.Reply{}, fmt.Errorf("session service: %w", err)
	}
	if err := r.Validate(); err != nil {
		return handoff.Reply{}, err
	}
	return r, nil
}

// proxy copies between the client's TLS connection and the session's
// end of the socket pair until both directions are done: the session's
// end of its output becomes the TLS close_notify, the client's end of
// its input an EOF for the session.
func proxy(client interface {
	net.Conn
	CloseWrite() error
}, session net.Conn) {
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		io.Copy(session, client)
		if cw, ok := session.(interface{ CloseWrite() error }); ok {
			cw.CloseWrite()
		}
	}()
	io.Copy(client, session)
	client.CloseWrite()
	// The session is over when its process closed its end; a client that
	// still sends must not keep this goroutine.
	client.Close()
	session.Close()
	wg.Wait()
}

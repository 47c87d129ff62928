package smtpd

import (
	"errors"
	"fmt"
	"net"
	"net/netip"
	"sync"
	"time"

	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/ipc/pass"
	"postern.dev/postern/libmail/maillog"
)

// passListener is the smtpd service behind postscreen: it accepts
// postscreen's connections on the Unix socket and returns, as if
// accepted here, the client connections they carry (libmail/ipc/pass).
// The descriptor is the client's own TCP socket, so the session sees the
// real client's address, as Postfix's smtpd does behind postscreen.
type passListener struct {
	net.Listener // the Unix socket
	log          *maillog.Logger
	conns        chan net.Conn
	done         chan struct{}
	once         sync.Once
	err          error // why the Unix socket stopped accepting; set before done closes
}

// passTimeout bounds how long one pass may take: postscreen sends the
// descriptor and the frame right after the hello.
const passTimeout = 10 * time.Second

func newPassListener(l net.Listener, log *maillog.Logger) *passListener {
	pl := &passListener{Listener: l, log: log, conns: make(chan net.Conn), done: make(chan struct{})}
	go pl.acceptLoop()
	return pl
}

func (pl *passListener) acceptLoop() {
	for {
		uc, err := pl.Listener.Accept()
		if err != nil {
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			pl.closeWith(err)
			return
		}
		// One slow or broken pass must not hold up the others.
		go func() {
			nc, err := pl.receive(uc)
			if err != nil {
				pl.log.Warn("postscreen pass on %s: %v", pl.Listener.Addr(), err)
				return
			}
			select {
			case pl.conns <- nc:
			case <-pl.done:
				nc.Close()
			}
		}()
	}
}

// receive takes one client from a postscreen connection, which it
// closes.
func (pl *passListener) receive(uc net.Conn) (net.Conn, error) {
	defer uc.Close()
	unixConn, ok := uc.(*net.UnixConn)
	if !ok {
		return nil, fmt.Errorf("not a unix socket")
	}
	// The deadline covers the hello too: a peer that connects and says
	// nothing must not keep this goroutine for ever.
	uc.SetDeadline(time.Now().Add(passTimeout))
	conn, err := ipc.Accept(uc, pass.Channel, pass.Version)
	if err != nil {
		return nil, err
	}
	// The descriptor comes first, before anything is read through
	// conn's buffer (daemon.ReceiveFile says why).
	f, err := daemon.ReceiveFile(unixConn, "client")
	if err != nil {
		return nil, err
	}
	nc, err := net.FileConn(f)
	f.Close()
	if err != nil {
		return nil, fmt.Errorf("passed descriptor: %w", err)
	}
	var req pass.Request
	if err = conn.Recv(&req); err == nil {
		err = req.Validate()
	}
	if err == nil {
		err = sameAddr(nc.RemoteAddr(), req.Client)
	}
	if err != nil {
		nc.Close()
		return nil, err
	}
	if pl.log.Verbose() {
		pl.log.Info("passed by postscreen (%s): %s", req.Verdict, req.Client)
	}
	return nc, nil
}

// sameAddr checks the passed socket's peer against what postscreen said.
func sameAddr(a net.Addr, want string) error {
	ta, ok := a.(*net.TCPAddr)
	if !ok {
		return fmt.Errorf("passed descriptor is not a TCP connection (%s)", a.Network())
	}
	w, err := netip.ParseAddrPort(want)
	if err != nil {
		return err
	}
	if got := ta.AddrPort(); got.Addr().Unmap() != w.Addr().Unmap() || got.Port() != w.Port() {
		return fmt.Errorf("passed connection is from %s, postscreen said %s", got, w)
	}
	return nil
}

// Accept returns the next passed client.
func (pl *passListener) Accept() (net.Conn, error) {
	select {
	case nc := <-pl.conns:
		return nc, nil
	case <-pl.done:
		if pl.err != nil {
			return nil, pl.err
		}
		return nil, net.ErrClosed
	}
}

// Close stops taking clients; passes in progress close theirs.
func (pl *passListener) Close() error { return pl.closeWith(nil) }

// closeWith closes, the first time, recording why for Accept.
func (pl *passListener) closeWith(why error) error {
	var err error
	pl.once.Do(func() {
		pl.err = why
		close(pl.done)
		err = pl.Listener.Close()
	})
	return err
}

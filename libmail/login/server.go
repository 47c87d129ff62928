package login

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"postern.dev/postern/libmail/ipc/anvil"
	"postern.dev/postern/libmail/maillog"
)

// Protocol is what imapd and pop3d put into the login role: the words
// of their protocol before login.
type Protocol interface {
	// Name is the protocol as the handoff channel names it ("imap",
	// "pop3"); its session service is the service NAME-session.
	Name() string
	// Serve greets the client and runs its commands until it logs in
	// (Client.Authenticate handed it off), leaves, or must go.
	Serve(ctx context.Context, c *Client)
	// Refuse tells a client refused at connect why, instead of the
	// greeting ("* BYE ...", "-ERR ...").
	Refuse(c *Client, text string)
}

// Limiter counts clients' events across processes; *anvil.Client
// implements it. ok is false when it cannot say, and the event is then
// allowed (fail open, as in smtpd).
type Limiter interface {
	Connect(ctx context.Context, client string) (r anvil.Reply, release func(), ok bool)
	Count(ctx context.Context, event, client, user string) (r anvil.Reply, ok bool)
}

// Server is the login role of one service: it accepts clients and runs
// the Protocol on each.
type Server struct {
	cfg     Config
	proto   Protocol
	log     *maillog.Logger
	now     func() time.Time
	limiter Limiter
	wg      sync.WaitGroup
}

// NewServer returns a login server for cfg speaking proto.
func NewServer(cfg Config, proto Protocol, log *maillog.Logger, now func() time.Time) *Server {
	return &Server{cfg: cfg, proto: proto, log: log, now: now}
}

// UseLimiter makes the server count its clients in l (anvil); call it
// before Serve. Without one, only the failure delay of each session
// holds.
func (s *Server) UseLimiter(l Limiter) { s.limiter = l }

// Serve accepts clients on l until ctx ends, then closes l, and returns
// once the sessions it started are over (those before login end with
// ctx; proxied TLS sessions end with ctx too, since the process that
// holds their TLS state is going away).
func (s *Server) Serve(ctx context.Context, l net.Listener) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	go func() {
		<-ctx.Done()
		l.Close()
	}()
	var err error
	for {
		var nc net.Conn
		nc, err = l.Accept()
		if err != nil {
			break
		}
		s.wg.Add(1)
		go func() {
			defer s.wg.Done()
			s.handle(ctx, nc)
		}()
	}
	s.wg.Wait()
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// handle runs one client from its connection to its handoff or its end.
func (s *Server) handle(ctx context.Context, nc net.Conn) {
	c := newClient(s, nc)
	defer c.close()
	// A session before login ends when the process stops.
	stop := context.AfterFunc(ctx, func() { nc.Close() })
	defer stop()
	if s.cfg.Wrapper {
		tc := tls.Server(nc, s.cfg.TLS)
		tc.SetDeadline(s.now().Add(s.cfg.Timeout))
		if err := tc.HandshakeContext(ctx); err != nil {
			s.log.Info("TLS handshake failed from %s: %v", c.Label(), err)
			return
		}
		tc.SetDeadline(time.Time{})
		c.useTLS(tc)
	}
	if !c.admit(ctx) {
		return
	}
	s.proto.Serve(ctx, c)
	if c.handed != nil {
		stop()
		// A proxied TLS session ends with the process that holds its TLS
		// state (the session sees EOF); a passed socket is the session's
		// alone, and closing this process's copy does not end it.
		stopProxy := context.AfterFunc(ctx, func() { nc.Close() })
		c.handed()
		stopProxy()
	}
}

// addrPort is a connection end's address as netip has it.
func addrPort(a net.Addr) netip.AddrPort {
	if ta, ok := a.(*net.TCPAddr); ok {
		return ta.AddrPort()
	}
	if ap, err := netip.ParseAddrPort(a.String()); err == nil {
		return ap
	}
	return netip.AddrPortFrom(netip.IPv6Unspecified(), 0)
}

// ErrLineTooLong is a command line over MaxLine: the client is not
// worth reading further.
var ErrLineTooLong = errors.New("line too long")

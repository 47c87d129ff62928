package postscreen

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync"
	"time"

	"postern.dev/postern/libmail/ipc/pass"
	"postern.dev/postern/libmail/maillog"
)

// Passer hands a client that passed to smtpd; socketPasser (pass.go)
// is the real one, tests bring their own.
type Passer interface {
	Pass(ctx context.Context, c *net.TCPConn, req pass.Request) error
}

// Server is one postscreen process.
type Server struct {
	cfg    Config
	log    *maillog.Logger
	now    func() time.Time
	dns    Resolver
	passer Passer
	cache  *cache

	base context.Context // parent of every client's lookups
	stop context.CancelFunc

	mu        sync.Mutex
	clients   map[netip.Addr]int    // held clients per address
	conns     map[*net.TCPConn]bool // clients in their tests or being passed
	listeners map[net.Listener]bool
	closing   bool
	wg        sync.WaitGroup
}

// NewServer returns a server; call Serve for each listener.
func NewServer(cfg Config, dns Resolver, passer Passer, log *maillog.Logger, now func() time.Time) *Server {
	base, stop := context.WithCancel(context.Background())
	return &Server{cfg: cfg, log: log, now: now, dns: dns, passer: passer, cache: newCache(cfg.CacheTTL, cfg.CacheLimit),
		base: base, stop: stop, clients: map[netip.Addr]int{}, conns: map[*net.TCPConn]bool{}, listeners: map[net.Listener]bool{}}
}

// Serve accepts clients on l until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	s.mu.Lock()
	if s.closing {
		s.mu.Unlock()
		return nil
	}
	s.listeners[l] = true
	s.mu.Unlock()
	for {
		nc, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closing := s.closing
			s.mu.Unlock()
			if closing {
				return nil
			}
			if errors.Is(err, net.ErrClosed) {
				return err
			}
			// Out of descriptors (EMFILE, ENFILE) or a connection reset
			// before it was accepted: the listener is fine, and clients
			// leaving will make room.
			s.log.Warn("accept: %v", err)
			time.Sleep(100 * time.Millisecond)
			continue
		}
		tc, ok := nc.(*net.TCPConn)
		if !ok {
			nc.Close()
			continue
		}
		s.arrive(tc)
	}
}

// Shutdown stops accepting and disconnects the clients still in their
// tests (they have heard no final greeting, so they simply retry), then
// waits for the passes in progress, up to ctx.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.closing = true
	for l := range s.listeners {
		l.Close()
	}
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.stop()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}

// admit counts a new client against postscreen_connection_limit and
// postscreen_client_connection_count_limit; it returns the 421 reply to
// send if one is exceeded.
func (s *Server) admit(c *net.TCPConn, addr netip.Addr) (reject string, why string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.closing {
		return "421 4.3.2 Service shutting down\r\n", "shutting down"
	}
	if len(s.conns) >= s.cfg.ConnLimit {
		return "421 4.3.2 All server ports are busy\r\n", "all server ports busy"
	}
	if s.cfg.ClientLimit > 0 && s.clients[addr] >= s.cfg.ClientLimit {
		return "421 4.7.0 Error: too many connections from " + addr.String() + "\r\n", "too many connections"
	}
	s.clients[addr]++
	s.conns[c] = true
	return "", ""
}

// release undoes admit.
func (s *Server) release(c *net.TCPConn, addr netip.Addr) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.clients[addr]--; s.clients[addr] <= 0 {
		delete(s.clients, addr)
	}
	delete(s.conns, c)
}

// Held is the number of clients in their tests, for tests.
func (s *Server) Held() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.conns)
}

// ExpireCache drops expired cache entries.
func (s *Server) ExpireCache() { s.cache.expire(s.now()) }

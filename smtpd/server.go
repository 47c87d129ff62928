package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"postern.dev/postern/libmail/account"
	"postern.dev/postern/libmail/intake"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/metrics"
	"postern.dev/postern/libmail/queue"
	"postern.dev/postern/libmail/recipient"
)

// Directory is what smtpd needs to know about local recipients,
// accounts and who may send as whom; *recipient.Directory implements it. Its lookups read local
// files and the user database, which no context can interrupt, so they
// take none; a lookup over the network would (boundary.go).
type Directory interface {
	IsLocal(domain string) bool
	Lookup(addr string) (recipient.Match, error)
	Authenticate(user, password string) (*account.Account, bool)
	// OwnsSender reports whether the account login may use addr as its
	// sender (smtpd_sender_login_check); an error is a temporary failure.
	OwnsSender(login, addr string) (bool, error)
}

// Waker tells qmgr about new entries; *wake.Client implements it.
type Waker interface{ Wake(queue.ID) }

// Namer finds a client's host name from its address (a PTR lookup
// confirmed by a forward lookup), or "" if it has none or ctx ends first.
type Namer interface {
	ClientName(ctx context.Context, addr net.IP) string
}

// Server is one smtpd process's SMTP service. It speaks the protocol
// itself rather than through go-smtp; docs/architecture.md says why.
type Server struct {
	cfg    Config
	intake intake.Config // what messages are taken in with, from cfg
	spool  *queue.Spool
	dir    Directory
	wake   Waker
	names  Namer
	log    *maillog.Logger
	now    func() time.Time

	limiter Limiter                              // anvil, or nil (limits.go)
	metrics *metrics.Set                         // what /metrics shows, or nil (metrics.go)
	auth    *authChecker                         // SPF, DKIM and DMARC of incoming mail, or nil (authcheck.go)
	sleep   func(context.Context, time.Duration) // the wait after a failed AUTH

	// base is the parent of every session's context (boundary.go); stop
	// cancels it when Shutdown gives up waiting.
	base context.Context
	stop context.CancelFunc

	draining atomic.Bool // Shutdown began: refuse new transactions
	stress   atomic.Bool // at smtpd_process_connection_limit (stress.go)
	readers  sync.Pool   // *bufio.Reader, reused between connections
	writers  sync.Pool   // *bufio.Writer

	mu        sync.Mutex
	clients   map[string]int // open connections per client address
	sem       chan struct{}  // process connection limit
	listeners map[net.Listener]bool
	conns     map[*conn]bool
	wg        sync.WaitGroup
}

// NewServer returns a server; call Serve for each listener.
func NewServer(cfg Config, spool *queue.Spool, dir Directory, wake Waker, names Namer, log *maillog.Logger, now func() time.Time) *Server {
	base, stop := context.WithCancel(context.Background())
	return &Server{cfg: cfg, spool: spool, dir: dir, wake: wake, names: names, log: log, now: now,
		base: base, stop: stop, sleep: pause,
		intake:  intake.Config{Hostname: cfg.Hostname, MailName: cfg.MailName, SizeLimit: cfg.SizeLimit, HeaderLimit: cfg.HeaderLimit, DKIM: cfg.DKIM},
		clients: map[string]int{}, sem: make(chan struct{}, cfg.ProcessConnLimit),
		listeners: map[net.Listener]bool{}, conns: map[*conn]bool{}}
}

// errClosed is what Serve returns after Shutdown.
var errClosed = errors.New("server closed")

// Serve accepts connections on l until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	ll := &limitListener{Listener: l, srv: s}
	s.mu.Lock()
	if s.draining.Load() {
		s.mu.Unlock()
		return errClosed
	}
	s.listeners[l] = true
	s.mu.Unlock()
	for {
		nc, err := ll.Accept()
		if err != nil {
			if s.draining.Load() {
				return nil
			}
			var ne net.Error
			if errors.As(err, &ne) && ne.Timeout() {
				time.Sleep(10 * time.Millisecond)
				continue
			}
			return err
		}
		cc := nc.(*clientConn)
		s.metrics.Inc(metrics.Connections, s.cfg.Service)
		c := newConn(s, cc)
		s.mu.Lock()
		s.conns[c] = true
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

// Shutdown stops accepting, refuses new transactions with 421 and waits
// for sessions to end, up to ctx; then it cancels the sessions' lookups
// and closes the rest. A message in the middle of DATA when the time is
// up gets no 250 and is retried by its client, so nothing acknowledged
// is lost.
func (s *Server) Shutdown(ctx context.Context) error {
	s.mu.Lock()
	s.draining.Store(true)
	for l := range s.listeners {
		l.Close()
	}
	// Idle sessions hear 421 now rather than at their next command.
	for c := range s.conns {
		c.nudge()
	}
	s.mu.Unlock()
	done := make(chan struct{})
	go func() { s.wg.Wait(); close(done) }()
	select {
	case <-done:
		s.stop()
		return nil
	case <-ctx.Done():
	}
	// Lookups in progress end first: a session waiting on one is not
	// reading, and its connection's Close waits for the client's name.
	s.stop()
	s.mu.Lock()
	var open []*conn
	for c := range s.conns {
		open = append(open, c)
	}
	s.mu.Unlock()
	// Outside the lock: closing a connection takes it to update the counts.
	for _, c := range open {
		c.client.Close()
	}
	<-done
	return ctx.Err()
}

// tlsConfig is the configuration for STARTTLS and port 465, or nil.
func (s *Server) tlsConfig() *tls.Config { return s.cfg.TLS }

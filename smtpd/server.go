package smtpd

import (
	"context"
	"crypto/tls"
	"errors"
	"net"
	"sync"
	"sync/atomic"
	"time"

	"github.com/emersion/go-smtp"

	"postern.dev/postern/libmail/account"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/queue"
	"postern.dev/postern/libmail/recipient"
)

// Directory is what smtpd needs to know about local recipients;
// *recipient.Directory implements it.
type Directory interface {
	IsLocal(domain string) bool
	Lookup(addr string) (recipient.Match, error)
	Account(addr string) (*account.Account, bool)
}

// Waker tells qmgr about new entries; *wake.Client implements it.
type Waker interface{ Wake(queue.ID) }

// Namer finds a client's host name from its address (a PTR lookup
// confirmed by a forward lookup), or "" if it has none.
type Namer interface {
	ClientName(ctx context.Context, addr net.IP) string
}

// Server is one smtpd process's SMTP service.
type Server struct {
	cfg   Config
	spool *queue.Spool
	dir   Directory
	wake  Waker
	names Namer
	log   *maillog.Logger
	now   func() time.Time

	smtp     *smtp.Server
	draining atomic.Bool // Shutdown began: refuse new transactions
	bufs     sync.Pool   // *[]byte, DATA copy buffers
	mu       sync.Mutex
	clients  map[string]int // open connections per client address
	sem      chan struct{}  // process connection limit
}

// NewServer returns a server; call Serve for each listener.
func NewServer(cfg Config, spool *queue.Spool, dir Directory, wake Waker, names Namer, log *maillog.Logger, now func() time.Time) *Server {
	s := &Server{cfg: cfg, spool: spool, dir: dir, wake: wake, names: names, log: log, now: now,
		clients: map[string]int{}, sem: make(chan struct{}, cfg.ProcessConnLimit)}
	s.bufs.New = func() any { b := make([]byte, 32<<10); return &b }
	ss := smtp.NewServer(s)
	ss.Domain = cfg.Hostname
	ss.MaxMessageBytes = cfg.SizeLimit
	ss.MaxRecipients = cfg.RcptLimit
	ss.MaxLineLength = cfg.LineLimit
	ss.ReadTimeout = cfg.Timeout
	ss.WriteTimeout = cfg.Timeout
	ss.EnableSMTPUTF8 = cfg.SMTPUTF8
	ss.EnableDSN = true
	ss.AllowInsecureAuth = !cfg.AuthTLSOnly
	ss.ErrorLog = errorLog{log}
	if cfg.TLS != nil && !cfg.WrapperMode {
		ss.TLSConfig = cfg.TLS
	}
	s.smtp = ss
	return s
}

// Serve accepts connections on l until Shutdown.
func (s *Server) Serve(l net.Listener) error {
	l = &limitListener{Listener: l, srv: s}
	if s.cfg.WrapperMode {
		l = tls.NewListener(l, s.cfg.TLS)
	}
	err := s.smtp.Serve(l)
	if errors.Is(err, smtp.ErrServerClosed) {
		return nil
	}
	return err
}

// Shutdown stops accepting, refuses new transactions with 421 and waits
// for sessions to end, up to ctx; then it closes the rest. A message in
// the middle of DATA when the time is up gets no 250 and is retried by
// its client, so nothing acknowledged is lost.
func (s *Server) Shutdown(ctx context.Context) error {
	s.draining.Store(true)
	err := s.smtp.Shutdown(ctx)
	if err != nil {
		s.smtp.Close()
	}
	return err
}

// NewSession implements smtp.Backend; go-smtp calls it at the first
// EHLO or HELO of a connection.
func (s *Server) NewSession(c *smtp.Conn) (smtp.Session, error) {
	cc := clientOf(c.Conn())
	if cc == nil {
		return nil, errors.New("internal error: connection without client state")
	}
	cc.waitName()
	cc.count("ehlo", true)
	return &session{srv: s, conn: c, client: cc}, nil
}

// errorLog sends go-smtp's internal complaints to the mail log.
type errorLog struct{ log *maillog.Logger }

func (e errorLog) Printf(format string, v ...any) { e.log.Warn("smtp: "+format, v...) }
func (e errorLog) Println(v ...any)               { e.log.Warn("smtp: %v", v) }

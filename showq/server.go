package showq

import (
	"encoding/json"
	"errors"
	"net"
	"sync"
	"time"

	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/ipc/showq"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/queue"
)

// Server answers listing requests over one spool.
type Server struct {
	spool *queue.Spool
	log   *maillog.Logger

	// scans bounds the listings made at once: the socket is open to every
	// local user, and each listing reads every entry.
	scans chan struct{}

	mu    sync.Mutex
	conns map[net.Conn]bool
	wg    sync.WaitGroup
}

// maxScans is how many listings run at once; more wait their turn.
const maxScans = 4

// NewServer returns a server for spool.
func NewServer(spool *queue.Spool, log *maillog.Logger) *Server {
	return &Server{spool: spool, log: log, conns: map[net.Conn]bool{}, scans: make(chan struct{}, maxScans)}
}

// Serve accepts connections on l until it is closed.
func (s *Server) Serve(l net.Listener) error {
	for {
		c, err := l.Accept()
		if err != nil {
			return err
		}
		s.mu.Lock()
		s.conns[c] = true
		s.wg.Add(1)
		s.mu.Unlock()
		go func() {
			defer s.wg.Done()
			s.serveConn(c)
			s.mu.Lock()
			delete(s.conns, c)
			s.mu.Unlock()
		}()
	}
}

// Close ends every connection and waits for their goroutines.
func (s *Server) Close() {
	s.mu.Lock()
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// clientTimeout bounds a whole listing: a client that stops reading
// cannot keep a goroutine and a file for ever.
const clientTimeout = 5 * time.Minute

func (s *Server) serveConn(c net.Conn) {
	conn, err := ipc.Accept(c, showq.Channel, showq.Version)
	if err != nil {
		s.log.Warn("showq socket: %v", err)
		return
	}
	defer conn.Close()
	c.SetDeadline(time.Now().Add(clientTimeout))
	var req showq.Request
	if err := conn.Recv(&req); err != nil {
		s.log.Warn("showq socket: %v", err)
		return
	}
	if err := req.Validate(); err != nil {
		s.log.Warn("showq socket: %v", err)
		conn.SendFlush(showq.Reply{Type: showq.EndType, Error: err.Error()})
		return
	}
	s.scans <- struct{}{}
	defer func() { <-s.scans }()
	errText := ""
	err = s.spool.Scan(req.Queues, func(sum *queue.Summary) error {
		return conn.Send(fit(sum))
	}, func(q string, id queue.ID, err error) {
		s.log.Warn("%s: %v", id, err)
	})
	if err != nil {
		if isNetErr(err) {
			return // the client went away
		}
		s.log.Warn("showq: %v", err)
		errText = err.Error()
	}
	if err := conn.SendFlush(showq.Reply{Type: showq.EndType, Error: errText}); err != nil {
		return
	}
}

func isNetErr(err error) bool {
	var ne net.Error
	var oe *net.OpError
	return errors.As(err, &ne) || errors.As(err, &oe)
}

// frameRoom is what a report may take of ipc.MaxFrame.
const frameRoom = ipc.MaxFrame - 4096

// fit makes a report of sum that fits in one frame: an entry with
// thousands of recipients and long reasons could exceed it. Reasons go
// first (the mailq text shows them once per run of equal ones anyway),
// then recipients beyond what fits, counted in Omitted.
func fit(sum *queue.Summary) showq.Reply {
	r := showq.Reply{Type: showq.ReportType, Entry: sum}
	if size(r) < frameRoom {
		return r
	}
	cp := *sum
	cp.Recipients = append([]queue.RcptSummary(nil), sum.Recipients...)
	for i := range cp.Recipients {
		cp.Recipients[i].DelayReason = maillog.Truncate(cp.Recipients[i].DelayReason, 100)
	}
	r.Entry = &cp
	for size(r) >= frameRoom && len(cp.Recipients) > 1 {
		n := len(cp.Recipients) / 2
		r.Omitted += len(cp.Recipients) - n
		cp.Recipients = cp.Recipients[:n]
	}
	return r
}

func size(r showq.Reply) int {
	b, _ := json.Marshal(r)
	return len(b)
}

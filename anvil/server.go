package anvil

import (
	"errors"
	"io"
	"net"
	"sync"

	"postern.dev/postern/libmail/ipc"
	proto "postern.dev/postern/libmail/ipc/anvil"
	"postern.dev/postern/libmail/maillog"
)

// Server answers smtpd connections on anvil's socket with one Table.
type Server struct {
	table *Table
	log   *maillog.Logger

	mu     sync.Mutex
	closed bool
	conns  map[net.Conn]bool
	wg     sync.WaitGroup
}

// NewServer returns a server over table.
func NewServer(table *Table, log *maillog.Logger) *Server {
	return &Server{table: table, log: log, conns: map[net.Conn]bool{}}
}

// Serve accepts connections on l until Close.
func (s *Server) Serve(l net.Listener) error {
	for {
		c, err := l.Accept()
		if err != nil {
			s.mu.Lock()
			closed := s.closed
			s.mu.Unlock()
			if closed {
				return nil
			}
			return err
		}
		s.mu.Lock()
		if s.closed {
			s.mu.Unlock()
			c.Close()
			return nil
		}
		s.conns[c] = true
		s.wg.Add(1)
		s.mu.Unlock()
		go s.serveConn(c)
	}
}

// Close ends every connection and waits for their goroutines; Serve
// returns once its listener is closed too.
func (s *Server) Close() {
	s.mu.Lock()
	s.closed = true
	for c := range s.conns {
		c.Close()
	}
	s.mu.Unlock()
	s.wg.Wait()
}

// serveConn answers one smtpd process. Its events are applied in the
// order they arrive; answers are written in that order and flushed when
// no further event is already buffered, so a batch of events costs one
// read and one write. When the connection ends, for whatever reason, its
// client connections are given back.
func (s *Server) serveConn(c net.Conn) {
	defer func() {
		s.mu.Lock()
		delete(s.conns, c)
		s.mu.Unlock()
		s.wg.Done()
	}()
	conn, err := ipc.Accept(c, proto.Channel, proto.Version)
	if err != nil {
		s.log.Warn("refused a connection: %v", err)
		return
	}
	defer conn.Close()
	owner := NewOwner()
	defer s.table.Release(owner)
	for {
		var r proto.Request
		if err := conn.Recv(&r); err != nil {
			if !errors.Is(err, io.EOF) && !errors.Is(err, net.ErrClosed) {
				s.log.Warn("connection from smtpd: %v", err)
			}
			return
		}
		if err := r.Validate(); err != nil {
			// A peer that speaks nonsense is dropped: what it reported
			// is given back with it.
			s.log.Warn("connection from smtpd: %v", err)
			return
		}
		rep := s.table.Apply(owner, &r)
		if r.Seq != 0 {
			if err := conn.Send(rep); err != nil {
				s.log.Warn("connection from smtpd: %v", err)
				return
			}
		}
		if !conn.Buffered() {
			if err := conn.Flush(); err != nil {
				return
			}
		}
	}
}

package anvil

import (
	"context"
	"errors"
	"sync"
	"time"

	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/maillog"
)

// DefaultTimeout is how long a session waits for anvil's answer before
// it goes on as if there were no limits. anvil answers in microseconds;
// one that takes this long is stuck, and the connection is dropped and
// made again.
const DefaultTimeout = time.Second

// queueLen bounds the events waiting to be written. A queue this full
// means anvil does not read; events past it are treated as allowed.
const queueLen = 4096

// Client reports events to anvil over one long-lived connection, shared
// by every session of a process: each Count or Connect is one frame and
// one answer, and frames queued while a write is under way go out
// together in the next. It never blocks a session for longer than its
// timeout, and while anvil cannot be reached it answers at once that it
// does not know (fail open), after one warning in the log.
type Client struct {
	path    string
	log     *maillog.Logger
	timeout time.Duration

	mu     sync.Mutex
	cur    *session // nil while not connected
	seq    uint64
	warned bool // the outage in progress was logged
}

// session is one connection to anvil. Its pending answers are guarded by
// the Client's mu.
type session struct {
	conn    *ipc.Conn
	out     chan Request
	pending map[uint64]chan Reply
	done    chan struct{} // closed when the connection is gone
	slow    sync.Once     // the connection is given up for not answering
}

// NewClient returns a client for the anvil socket at path, waiting at
// most timeout for each answer (DefaultTimeout if 0). Call Start.
func NewClient(path string, log *maillog.Logger, timeout time.Duration) *Client {
	if timeout <= 0 {
		timeout = DefaultTimeout
	}
	return &Client{path: path, log: log, timeout: timeout}
}

// Start connects in the background, and connects again whenever the
// connection breaks, until the returned function is called; that one
// returns once the connection is closed.
func (c *Client) Start() (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan struct{})
	go func() {
		defer close(done)
		c.run(ctx)
	}()
	return func() {
		cancel()
		<-done
	}
}

// Count reports an event (Message, Recipient, Auth, AuthFailure) and
// returns the counts after it; ok is false if anvil could not say, and
// the caller goes on as if no limit were reached.
func (c *Client) Count(ctx context.Context, event, client, user string) (r Reply, ok bool) {
	r, _, ok = c.ask(ctx, Request{Type: RequestType, Event: event, Client: client, User: user})
	return r, ok
}

// Connect reports a new connection from client and returns the counts
// after it, with the function that reports its end (call it once the
// connection is closed, whatever the answer). If the connection to
// anvil breaks in between, anvil has already let go of the client's
// connection and release does nothing.
func (c *Client) Connect(ctx context.Context, client string) (r Reply, release func(), ok bool) {
	r, s, ok := c.ask(ctx, Request{Type: RequestType, Event: Connect, Client: client})
	if !ok {
		return r, func() {}, false
	}
	var once sync.Once
	return r, func() {
		once.Do(func() {
			c.mu.Lock()
			live := c.cur == s
			c.mu.Unlock()
			if live {
				select {
				case s.out <- Request{Type: RequestType, Event: Disconnect, Client: client}:
				default:
					// anvil does not read: the timeouts drop this
					// connection, and anvil then forgets it all.
				}
			}
		})
	}, true
}

// ask sends req and waits for its answer, for at most the timeout.
func (c *Client) ask(ctx context.Context, req Request) (Reply, *session, bool) {
	c.mu.Lock()
	s := c.cur
	if s == nil {
		c.mu.Unlock()
		return Reply{}, nil, false
	}
	c.seq++
	req.Seq = c.seq
	ch := make(chan Reply, 1)
	s.pending[req.Seq] = ch
	c.mu.Unlock()
	select {
	case s.out <- req:
	default:
		c.forget(s, req.Seq)
		return Reply{}, nil, false
	}
	t := time.NewTimer(c.timeout)
	defer t.Stop()
	select {
	case r, ok := <-ch:
		return r, s, ok
	case <-t.C:
		c.forget(s, req.Seq)
		s.slow.Do(func() {
			c.log.Warn("anvil did not answer within %s; reconnecting", c.timeout)
			s.conn.Close()
		})
	case <-ctx.Done():
		c.forget(s, req.Seq)
	}
	return Reply{}, nil, false
}

func (c *Client) forget(s *session, seq uint64) {
	c.mu.Lock()
	delete(s.pending, seq)
	c.mu.Unlock()
}

// run keeps a connection to anvil until ctx ends. A connection that
// ends is made again at once: anvil restarted (a reload) on the socket
// the master keeps open, and the new one answers within moments. Only
// when that fails too is the outage logged, once, so that a restart or
// the master stopping everything together says nothing alarming.
func (c *Client) run(ctx context.Context) {
	backoff := 100 * time.Millisecond
	failed := 0 // dials failed in a row
	for {
		dctx, cancel := context.WithTimeout(ctx, 5*time.Second)
		conn, err := ipc.Dial(dctx, c.path, ipc.Hello{Channel: Channel, Version: Version})
		cancel()
		switch {
		case ctx.Err() != nil:
			if conn != nil {
				conn.Close()
			}
			return
		case err == nil:
			failed = 0
			start := time.Now()
			end := c.serve(ctx, conn)
			if ctx.Err() != nil {
				return
			}
			c.log.Debug("connection to anvil ended: %v", end)
			if time.Since(start) > time.Second {
				backoff = 100 * time.Millisecond
				continue
			}
			// An anvil that takes connections only to drop them is
			// called again after the backoff, or this would spin.
		case failed == 1:
			failed++
			c.mu.Lock()
			c.warned = true
			c.mu.Unlock()
			c.log.Warn("anvil is not reachable (%v): client limits hold per process only until it is back", err)
		default:
			failed++
			c.log.Debug("anvil not reachable: %v", err)
		}
		select {
		case <-ctx.Done():
			return
		case <-time.After(backoff):
		}
		backoff = min(2*backoff, 5*time.Second)
	}
}

// errStopped ends a session whose client stops.
var errStopped = errors.New("stopped")

// serve runs one connection: it writes the queued events, reads the
// answers and hands each to its waiting session, until the connection
// breaks or ctx ends. Then every session still waiting hears "unknown".
func (c *Client) serve(ctx context.Context, conn *ipc.Conn) error {
	s := &session{conn: conn, out: make(chan Request, queueLen), pending: map[uint64]chan Reply{}, done: make(chan struct{})}
	c.mu.Lock()
	c.cur = s
	if c.warned {
		c.warned = false
		c.log.Info("anvil is reachable again")
	}
	c.mu.Unlock()
	defer func() {
		c.mu.Lock()
		c.cur = nil
		for seq, ch := range s.pending {
			close(ch)
			delete(s.pending, seq)
		}
		c.mu.Unlock()
		close(s.done)
		conn.Close()
	}()
	go c.write(s)
	stop := context.AfterFunc(ctx, func() { conn.Close() })
	defer stop()
	for {
		var r Reply
		if err := conn.Recv(&r); err != nil {
			if ctx.Err() != nil {
				return errStopped
			}
			return err
		}
		if err := r.Validate(); err != nil {
			return err
		}
		c.mu.Lock()
		ch := s.pending[r.Seq]
		delete(s.pending, r.Seq)
		c.mu.Unlock()
		if ch != nil {
			ch <- r
		}
	}
}

// write sends the queued events, all that are waiting in one write.
func (c *Client) write(s *session) {
	for {
		var r Request
		select {
		case <-s.done:
			return
		case r = <-s.out:
		}
		err := s.conn.Send(r)
		for more := true; more && err == nil; {
			select {
			case r = <-s.out:
				err = s.conn.Send(r)
			default:
				more = false
			}
		}
		if err == nil {
			s.conn.Peer().SetWriteDeadline(time.Now().Add(c.timeout))
			err = s.conn.Flush()
		}
		if err != nil {
			// The reader sees the closed connection and ends the session.
			s.conn.Close()
			return
		}
	}
}

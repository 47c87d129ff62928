// Package wake is the channel on which smtpd, local and the admin command
// tell qmgr that entries are waiting in incoming/ (socket public/qmgr).
//
// Wake-ups are hints. qmgr also scans incoming/ on a timer, so a wake-up
// lost to a full buffer, a restart or a closed socket delays mail and
// never loses it. That is why the client never blocks its caller.
package wake

import (
	"context"
	"fmt"
	"path/filepath"
	"time"

	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/queue"
)

// Channel and Version name this protocol in the hello.
const (
	Channel = "qmgr-wake"
	Version = 1
)

// Type is the frame type: the receiver (qmgr), the noun, the verb.
const Type = "qmgr-entry-wake"

// Frame is one wake-up: new entries by ID, or a request to rescan every
// queue now (postern flush), for every destination or, with Site, for
// one (postern flush -s, Postfix's postqueue -s).
type Frame struct {
	Type string   `json:"type"`
	IDs  []string `json:"ids,omitempty"`
	Scan bool     `json:"scan,omitempty"`
	Site string   `json:"site,omitempty"`
}

// maxSite bounds a flush site: a domain name or an address literal.
const maxSite = 255

// Path returns qmgr's wake-up socket in the spool at root.
func Path(root string) string { return filepath.Join(root, queue.QmgrSocket) }

// Validate checks a received frame.
func (f *Frame) Validate() error {
	if f.Type != Type {
		return fmt.Errorf("wake frame of type %q", f.Type)
	}
	for _, id := range f.IDs {
		if !queue.Valid(id) {
			return fmt.Errorf("wake frame with bad queue ID %q", id)
		}
	}
	if f.Site != "" && !ValidSite(f.Site) {
		return fmt.Errorf("wake frame with bad site %q", f.Site)
	}
	if f.Site != "" && !f.Scan {
		return fmt.Errorf("wake frame with a site but no scan")
	}
	return nil
}

// ValidSite reports whether s can name a flush site: a domain or an
// address literal ([192.0.2.1], [host]:port as a next hop), printable
// ASCII without spaces, at most 255 bytes.
func ValidSite(s string) bool {
	if s == "" || len(s) > maxSite {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] <= ' ' || s[i] >= 0x7f {
			return false
		}
	}
	return true
}

// Client sends wake-ups to qmgr over one long-lived connection, batching
// the IDs that pile up while a write is under way.
type Client struct {
	path string
	log  *maillog.Logger
	ch   chan string
	scan chan struct{}
}

// NewClient returns a client for the qmgr socket at path. Call Run.
func NewClient(path string, log *maillog.Logger) *Client {
	return &Client{path: path, log: log, ch: make(chan string, 8192), scan: make(chan struct{}, 1)}
}

// Wake queues a wake-up for id and returns at once; if the buffer is full
// the wake-up is dropped and qmgr's timer finds the entry.
func (c *Client) Wake(id queue.ID) {
	select {
	case c.ch <- string(id):
	default:
	}
}

// Scan asks qmgr to rescan its queues.
func (c *Client) Scan() {
	select {
	case c.scan <- struct{}{}:
	default:
	}
}

// lastCall bounds how long Run spends, once its context has ended, on
// wake-ups still queued.
const lastCall = time.Second

// Run delivers wake-ups until ctx ends, reconnecting as needed. Wake-ups
// still queued then get one more try, for at most lastCall: a daemon that
// stops right after committing entries (smtpd finishing its sessions at a
// reload) would otherwise leave them to qmgr's timer scan. A daemon waits
// for Run to return before it exits.
func (c *Client) Run(ctx context.Context) {
	c.run(ctx)
}

// Start runs the client in the background and returns the function that
// stops it, which returns once the last wake-ups went out (or lastCall
// passed). A daemon defers it, so that it exits only after that.
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

func (c *Client) run(ctx context.Context) {
	var conn *ipc.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	for {
		f := Frame{Type: Type}
		select {
		case <-ctx.Done():
			c.last(&conn, f)
			return
		case id := <-c.ch:
			f.IDs = append(f.IDs, id)
		case <-c.scan:
			f.Scan = true
		}
		c.fill(&f)
		if !c.send(ctx, &conn, f) {
			c.last(&conn, f)
			return
		}
	}
}

// fill adds queued IDs to f, up to a frame's worth.
func (c *Client) fill(f *Frame) {
	for len(f.IDs) < 512 {
		select {
		case id := <-c.ch:
			f.IDs = append(f.IDs, id)
		default:
			return
		}
	}
}

// send writes f, connecting first if needed, and reports false if ctx
// ended before it could. A connection to a qmgr that has exited since the
// last frame (a reload or a crash restarted it) fails at the first write,
// the socket being a Unix one; f then goes once more on a new connection,
// so that the new qmgr hears of it now rather than at its next scan.
func (c *Client) send(ctx context.Context, conn **ipc.Conn, f Frame) bool {
	backoff := 100 * time.Millisecond
	for attempt := 0; attempt < 2; attempt++ {
		for *conn == nil {
			var err error
			*conn, err = ipc.Dial(ctx, c.path, ipc.Hello{Channel: Channel, Version: Version})
			if err == nil {
				break
			}
			if ctx.Err() != nil {
				return false
			}
			c.log.Debug("qmgr not reachable; wake-ups wait: %v", err)
			select {
			case <-ctx.Done():
				return false
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
		}
		if dl, ok := ctx.Deadline(); ok {
			(*conn).Peer().SetWriteDeadline(dl)
		}
		err := (*conn).SendFlush(f)
		if err == nil {
			return true
		}
		(*conn).Close()
		*conn = nil
		if attempt > 0 {
			// The IDs in f are lost; qmgr's timer scan will find them.
			c.log.Debug("wake-up lost: %v", err)
		}
	}
	return true
}

// last sends f and whatever is still queued, for at most lastCall.
func (c *Client) last(conn **ipc.Conn, f Frame) {
	ctx, cancel := context.WithTimeout(context.Background(), lastCall)
	defer cancel()
	for {
		c.fill(&f)
		if len(f.IDs) == 0 && !f.Scan {
			return
		}
		if !c.send(ctx, conn, f) {
			c.log.Debug("%d wake-up(s) lost at exit", len(f.IDs))
			return
		}
		f = Frame{Type: Type}
	}
}

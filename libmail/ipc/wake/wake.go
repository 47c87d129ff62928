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
	"postern.dev/postern/libmail/maillog"
	"time"

	"postern.dev/postern/libmail/ipc"
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
// queue now (postern flush).
type Frame struct {
	Type string   `json:"type"`
	IDs  []string `json:"ids,omitempty"`
	Scan bool     `json:"scan,omitempty"`
}

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
	return nil
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

// Run delivers wake-ups until ctx ends, reconnecting as needed.
func (c *Client) Run(ctx context.Context) {
	var conn *ipc.Conn
	defer func() {
		if conn != nil {
			conn.Close()
		}
	}()
	backoff := 100 * time.Millisecond
	for {
		f := Frame{Type: Type}
		select {
		case <-ctx.Done():
			return
		case id := <-c.ch:
			f.IDs = append(f.IDs, id)
		case <-c.scan:
			f.Scan = true
		}
	drain:
		for len(f.IDs) < 512 {
			select {
			case id := <-c.ch:
				f.IDs = append(f.IDs, id)
			default:
				break drain
			}
		}
		for conn == nil {
			var err error
			conn, err = ipc.Dial(ctx, c.path, ipc.Hello{Channel: Channel, Version: Version})
			if err == nil {
				backoff = 100 * time.Millisecond
				break
			}
			if ctx.Err() != nil {
				return
			}
			c.log.Debug("qmgr not reachable; wake-ups wait: %v", err)
			select {
			case <-ctx.Done():
				return
			case <-time.After(backoff):
			}
			backoff = min(2*backoff, 5*time.Second)
		}
		if err := conn.SendFlush(f); err != nil {
			// The IDs in f are lost; qmgr's timer scan will find them.
			c.log.Debug("wake-up lost: %v", err)
			conn.Close()
			conn = nil
		}
	}
}

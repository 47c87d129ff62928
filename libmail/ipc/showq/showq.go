// Package showq is the channel on which `postern queue list` (and
// `queue shape`, and through them sendmail -bp and mailq) asks the showq
// daemon for the queue's contents (socket public/showq), as Postfix's
// postqueue asks its showq(8). It is the only way into the queue for a
// user who is not root or mail_owner: the queue directories are private
// to mail_owner, and showq, which runs as mail_owner, reads them on the
// asker's behalf and answers with summaries only (envelope addresses,
// sizes, delay reasons), never a message's contents.
//
// One request per connection: the client names the queues to list; the
// daemon answers with one report per entry and an end frame.
package showq

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"time"

	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/queue"
)

// Channel and Version name this protocol in the hello.
const (
	Channel = "showq"
	Version = 1
)

// Frame types: the receiver, the noun, the verb.
const (
	RequestType = "showq-queue-list"
	ReportType  = "client-entry-report"
	EndType     = "client-list-end"
)

// Request asks for the entries of Queues, a subset of
// queue.ListQueues.
type Request struct {
	Type   string   `json:"type"`
	Queues []string `json:"queues"`
}

// Validate checks a received request.
func (r *Request) Validate() error {
	if r.Type != RequestType {
		return fmt.Errorf("showq request of type %q", r.Type)
	}
	if len(r.Queues) == 0 || len(r.Queues) > len(queue.ListQueues) {
		return fmt.Errorf("showq request for %d queues", len(r.Queues))
	}
	for _, q := range r.Queues {
		if !slices.Contains(queue.ListQueues, q) {
			return fmt.Errorf("showq request for queue %q", q)
		}
	}
	return nil
}

// Reply is one frame of the answer: an entry (ReportType) or the end
// (EndType), which carries the daemon's error, if it had one.
type Reply struct {
	Type  string         `json:"type"`
	Entry *queue.Summary `json:"entry,omitempty"`
	// Omitted counts the recipients left out of Entry to keep the frame
	// under ipc.MaxFrame (a message with thousands of recipients).
	Omitted int    `json:"omitted,omitempty"`
	Error   string `json:"error,omitempty"`
}

// Validate checks a received reply.
func (r *Reply) Validate() error {
	switch r.Type {
	case ReportType:
		if r.Entry == nil {
			return errors.New("showq report without an entry")
		}
		if !queue.Valid(string(r.Entry.ID)) {
			return fmt.Errorf("showq report with bad queue ID %q", r.Entry.ID)
		}
		if !slices.Contains(queue.ListQueues, r.Entry.Queue) {
			return fmt.Errorf("showq report for queue %q", r.Entry.Queue)
		}
		if r.Omitted < 0 || r.Error != "" {
			return errors.New("showq report with an end's fields")
		}
	case EndType:
		if r.Entry != nil || r.Omitted != 0 {
			return errors.New("showq end with an entry")
		}
	default:
		return fmt.Errorf("showq reply of type %q", r.Type)
	}
	return nil
}

// Path returns the showq socket in the spool at root.
func Path(root string) string { return filepath.Join(root, queue.ShowqSocket) }

// List asks the showq daemon of the spool at root for the entries of
// queues and calls fn with each. An error from dialling means the mail
// system is down (or showq is disabled); the caller may then read the
// queue itself if it may.
func List(ctx context.Context, root string, queues []string, fn func(*queue.Summary) error) error {
	conn, err := ipc.Dial(ctx, Path(root), ipc.Hello{Channel: Channel, Version: Version})
	if err != nil {
		return &DialError{err}
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetReadDeadline(dl)
	} else {
		conn.SetReadDeadline(time.Now().Add(time.Minute))
	}
	if err := conn.SendFlush(Request{Type: RequestType, Queues: queues}); err != nil {
		return fmt.Errorf("showq: %w", err)
	}
	for {
		var r Reply
		if err := conn.Recv(&r); err != nil {
			return fmt.Errorf("showq: %w", err)
		}
		if err := r.Validate(); err != nil {
			return fmt.Errorf("showq: %w", err)
		}
		if r.Type == EndType {
			if r.Error != "" {
				return fmt.Errorf("showq: %s", r.Error)
			}
			return nil
		}
		if err := fn(r.Entry); err != nil {
			return err
		}
	}
}

// DialError says the showq socket did not answer.
type DialError struct{ Err error }

func (e *DialError) Error() string { return e.Err.Error() }
func (e *DialError) Unwrap() error { return e.Err }

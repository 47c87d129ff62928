package queue

import (
	"errors"
	"fmt"
	"os"
	"sort"
	"time"
)

// Summary is what a queue listing shows of one entry: Postfix's
// postqueue -j object (the same field names, so that scripts written for
// it read ours), with each recipient's status besides the delay reason.
// The showq daemon sends it to `postern queue list`, which prints it as
// mailq text, as JSON, or counts it in a queue shape.
type Summary struct {
	Queue   string `json:"queue_name"`
	ID      ID     `json:"queue_id"`
	Arrival int64  `json:"arrival_time"` // Unix seconds
	Size    int64  `json:"message_size"`
	// ForcedExpire says `postern queue expire` asked for the message to be
	// returned (Postfix's forced_expire).
	ForcedExpire bool          `json:"forced_expire"`
	Sender       string        `json:"sender"` // "" is the null sender
	Recipients   []RcptSummary `json:"recipients"`
	Attempts     int           `json:"attempts"`
	// NextAttempt is when a deferred entry is due (Unix seconds), 0 when
	// not known or not deferred.
	NextAttempt int64 `json:"next_attempt,omitempty"`
}

// RcptSummary is one recipient of a Summary.
type RcptSummary struct {
	Address string `json:"address"`
	// Status is "pending" (not tried yet), "deferred", "sent" or "failed".
	Status string `json:"status"`
	// Done says nothing is left to do for the recipient: delivered, or
	// failed and reported to the sender. mailq lists only the others.
	Done bool `json:"done"`
	// DelayReason is the last reply for a recipient not done yet
	// (Postfix's delay_reason); DSN and Relay go with the last result.
	DelayReason string `json:"delay_reason,omitempty"`
	DSN         string `json:"dsn,omitempty"`
	Relay       string `json:"relay,omitempty"`
}

// ListQueues are the queues a listing shows by default, in its order:
// Postfix's mailq shows incoming, active, deferred and hold.
var ListQueues = []string{Incoming, Active, DeferredQueue, Hold}

// Summarize makes the Summary of an entry read from queue q.
func (e *Entry) Summarize(q string) *Summary {
	s := &Summary{Queue: q, ID: e.ID, Arrival: e.Arrival.Unix(), Size: e.Size, ForcedExpire: e.Expired,
		Sender: e.Sender, Attempts: e.Attempts, Recipients: make([]RcptSummary, len(e.Recipients))}
	if q == DeferredQueue && !e.NextAttempt.IsZero() {
		s.NextAttempt = e.NextAttempt.Unix()
	}
	for i, r := range e.Recipients {
		st := e.State[i]
		rs := RcptSummary{Address: r.Addr, Status: string(st.Status), Done: st.Done(), DSN: st.DSN, Relay: st.Relay}
		if rs.Status == "" {
			rs.Status = "pending"
		}
		if !rs.Done {
			rs.DelayReason = st.Reply
		}
		s.Recipients[i] = rs
	}
	return s
}

// ReadEntry opens, locks and reads entry id in queue q. The caller closes
// the file.
func (s *Spool) ReadEntry(q string, id ID) (*os.File, *Entry, error) {
	f, err := s.OpenEntry(q, id, false)
	if err != nil {
		return nil, nil, err
	}
	e, err := Read(f, id)
	if err != nil {
		f.Close()
		return nil, nil, err
	}
	return f, e, nil
}

// gone reports whether err says an entry left the queue it was looked
// for in: moved by qmgr or an admin, or finished.
func gone(err error) bool { return errors.Is(err, os.ErrNotExist) || errors.Is(err, ErrMoved) }

// Scan calls fn with the summary of every entry in the queues qs, queue
// by queue, oldest first within each. tmp/ is never read: its entries
// are still being written. An entry that moves while the scan runs (qmgr
// took it from incoming/ into active/, say) is looked for once in the
// other queues, so a listing shows it once where it was found; an entry
// that cannot be parsed is reported through bad and skipped.
func (s *Spool) Scan(qs []string, fn func(*Summary) error, bad func(q string, id ID, err error)) error {
	seen := map[ID]bool{}
	for _, q := range qs {
		ids, err := s.List(q)
		if err != nil {
			return err
		}
		sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
		for _, id := range ids {
			if seen[id] {
				continue
			}
			sum, err := s.summarize(q, id, qs)
			if err != nil {
				if !gone(err) && bad != nil {
					bad(q, id, err)
				}
				continue
			}
			seen[id] = true
			if err := fn(sum); err != nil {
				return err
			}
		}
	}
	return nil
}

// summarize reads entry id from q, or, when it has just left q, from the
// first of qs that holds it.
func (s *Spool) summarize(q string, id ID, qs []string) (*Summary, error) {
	f, e, err := s.ReadEntry(q, id)
	if gone(err) {
		for _, other := range qs {
			if other == q {
				continue
			}
			if f, e, err = s.ReadEntry(other, id); !gone(err) {
				q = other
				break
			}
		}
	}
	if err != nil {
		return nil, err
	}
	f.Close()
	return e.Summarize(q), nil
}

// Find returns the queue among qs that holds entry id now.
func (s *Spool) Find(id ID, qs []string) (string, error) {
	for _, q := range qs {
		if _, err := os.Lstat(s.Path(q, id)); err == nil {
			return q, nil
		}
	}
	return "", fmt.Errorf("%s: %w", id, os.ErrNotExist)
}

// Locate opens and reads entry id wherever it is among qs, looking again
// when it moves between the look and the open (qmgr took it, say). The
// caller closes the file.
func (s *Spool) Locate(id ID, qs []string) (string, *os.File, *Entry, error) {
	for range 5 {
		q, err := s.Find(id, qs)
		if err != nil {
			return "", nil, nil, fmt.Errorf("%s: no such queue entry", id)
		}
		f, e, err := s.ReadEntry(q, id)
		if !gone(err) {
			return q, f, e, err
		}
	}
	return "", nil, nil, fmt.Errorf("%s: moved too often while being read; try again", id)
}

// ArrivalTime returns a summary's arrival as a time.
func (s *Summary) ArrivalTime() time.Time { return time.Unix(s.Arrival, 0) }

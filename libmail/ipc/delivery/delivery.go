// Package delivery is the channel between qmgr and the delivery agents
// (local, and smtp for remote mail): qmgr asks an agent to deliver some
// recipients of a queue entry, the agent answers with one result per
// recipient. Requests are pipelined on one connection and answered in any
// order, matched by Seq.
//
// A request names the entry; the agent reads the message from the queue
// itself. Before it answers, the agent has recorded its results in the
// entry (queue.Append, fsynced), so a crash of qmgr after the answer never
// re-sends to a recipient that was already delivered. When a request
// carries Last and every recipient was delivered, the agent removes the
// entry itself: the removal is the record.
//
// Because the entry is the record, a reply only has to arrive: reply
// texts are bounded (MaxReplyText) and a reply is cut to fit an
// ipc frame rather than lose the connection. An agent that stops answers
// the requests it gives up with Retry; a connection that breaks without
// an answer defers its deliveries with backoff (see qmgr). The agents'
// side of these promises is libmail/agent.
package delivery

import (
	"fmt"

	"postern.dev/postern/libmail/queue"
)

// Channel and Version name this protocol in the hello.
const (
	Channel = "delivery"
	Version = 1
)

// Frame types: the receiver, the noun, the verb.
const (
	RequestType = "agent-delivery-request"
	ReplyType   = "qmgr-delivery-result"
)

// Request asks for the delivery of some recipients of one entry.
type Request struct {
	Type  string `json:"type"`
	Seq   uint64 `json:"seq"`
	ID    string `json:"id"`
	Queue string `json:"queue"` // the queue directory the entry is in (active)
	Rcpts []int  `json:"rcpts"` // recipient indexes in the entry
	// Last says these are all of the entry's unfinished recipients: if all
	// are delivered, the agent removes the entry.
	Last bool `json:"last,omitempty"`
	// Nexthop is where remote mail goes (a domain, or [host]:port); empty
	// for local delivery.
	Nexthop string `json:"nexthop,omitempty"`
	// Activated and Dispatched are when qmgr took the entry and sent this
	// request (Unix nanoseconds), for the delays= field of the log.
	Activated  int64 `json:"activated"`
	Dispatched int64 `json:"dispatched"`
}

// Validate checks a received request against path traversal and nonsense.
func (r *Request) Validate() error {
	if r.Type != RequestType {
		return fmt.Errorf("delivery request of type %q", r.Type)
	}
	if !queue.Valid(r.ID) {
		return fmt.Errorf("delivery request with bad queue ID %q", r.ID)
	}
	if r.Queue != queue.Active {
		return fmt.Errorf("delivery request for queue %q", r.Queue)
	}
	if len(r.Rcpts) == 0 {
		return fmt.Errorf("delivery request without recipients")
	}
	for _, i := range r.Rcpts {
		if i < 0 {
			return fmt.Errorf("delivery request with recipient index %d", i)
		}
	}
	return nil
}

// Result is one recipient's outcome, as on the wire.
type Result struct {
	Rcpt   int    `json:"rcpt"`
	Status string `json:"status"` // sent, failed, deferred
	DSN    string `json:"dsn"`
	Relay  string `json:"relay,omitempty"`
	Reply  string `json:"reply,omitempty"`
}

// Reply answers a Request.
type Reply struct {
	Type    string   `json:"type"`
	Seq     uint64   `json:"seq"`
	Results []Result `json:"results"`
	// Removed says the agent removed the entry (all delivered, Last set).
	Removed bool `json:"removed,omitempty"`
	// Unreachable says the agent could not hold a session with any host
	// of the nexthop (no address, connection refused or timed out, no
	// greeting, TLS required and failed): every result is deferred or
	// failed for that reason, not for the recipients. qmgr counts it
	// against the destination (a failed cohort, as Postfix calls it).
	Unreachable bool `json:"unreachable,omitempty"`
	// Retry says the agent is stopping (a reload restarts it) and gave
	// up the request before it was done; the reply has no results. What
	// the agent finished is recorded in the entry; qmgr sends the rest
	// again at once. A connection that breaks without this answer is a
	// failure, and qmgr defers what was in flight on it with backoff.
	Retry bool `json:"retry,omitempty"`
}

// Validate checks a received reply.
func (r *Reply) Validate() error {
	if r.Type != ReplyType {
		return fmt.Errorf("delivery reply of type %q", r.Type)
	}
	if r.Retry && (len(r.Results) > 0 || r.Removed) {
		return fmt.Errorf("delivery reply to retry with results")
	}
	for _, res := range r.Results {
		if res.Rcpt < 0 {
			return fmt.Errorf("delivery reply for recipient %d", res.Rcpt)
		}
		switch queue.Status(res.Status) {
		case queue.Sent, queue.Failed, queue.Deferred:
		default:
			return fmt.Errorf("delivery reply with status %q", res.Status)
		}
	}
	return nil
}

// FromQueue converts a queue.Result for the wire.
func FromQueue(r queue.Result) Result {
	return Result{Rcpt: r.Rcpt, Status: string(r.Status), DSN: r.DSN, Relay: r.Relay, Reply: r.Reply}
}

// Queue converts a wire result back.
func (r Result) Queue() queue.Result {
	return queue.Result{Rcpt: r.Rcpt, Status: queue.Status(r.Status), DSN: r.DSN, Relay: r.Relay, Reply: r.Reply}
}

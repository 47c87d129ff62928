// Package anvil is the channel between smtpd and anvil (socket
// private/anvil), Postfix's connection and rate counter: every smtpd
// process, whatever service it serves, reports its clients' events to the
// one anvil and hears back how many of them a client (and an
// authenticated user) has made within anvil_rate_time_unit, so that a
// limit holds across processes and listeners. smtpd compares the counts
// with its own limits (a service may override them); anvil only counts.
//
// Each smtpd process keeps one long-lived connection (Client). Events
// are pipelined on it, batched when several sessions report at once, and
// answered in order, matched by Seq. A connection's open client
// connections belong to it: when it closes (smtpd exited or crashed),
// anvil gives them back, so a dead smtpd's clients do not count for ever.
//
// The limits never cost mail: a client that cannot reach anvil, or does
// not hear from it in time, treats the event as allowed (fail open), and
// smtpd refuses only before it has answered 250 to anything it would
// lose.
package anvil

import (
	"fmt"
	"net/netip"
	"path/filepath"

	"postern.dev/postern/libmail/queue"
)

// Channel and Version name this protocol in the hello.
const (
	Channel = "anvil"
	Version = 1
)

// Frame types: the receiver, the noun, the verb.
const (
	RequestType = "anvil-event-count"
	ReplyType   = "smtpd-event-counts"
)

// Events smtpd reports. Every event but Disconnect is answered with the
// counts after it.
const (
	Connect     = "connect"      // a client connected: its connection rate and open connections
	Disconnect  = "disconnect"   // a connection reported by Connect ended (no reply)
	Message     = "message"      // a MAIL FROM about to be accepted
	Recipient   = "recipient"    // a RCPT TO about to be accepted
	Auth        = "auth"         // an AUTH command (Postfix's smtpd_client_auth_rate_limit)
	AuthFailure = "auth-failure" // an AUTH exchange that failed
)

// MaxUser bounds a user name: a login is an address (at most 254 bytes
// in practice) or a short name; more is not a name.
const MaxUser = 512

// Path returns anvil's socket in the spool at root.
func Path(root string) string { return filepath.Join(root, queue.AnvilSocket) }

// Request reports one event of a client (by IP address; anvil counts an
// IPv6 client by its /64) and, for Message and Recipient, of the
// authenticated user, if any.
type Request struct {
	Type   string `json:"type"`
	Seq    uint64 `json:"seq,omitempty"` // 0 only for Disconnect, which has no reply
	Event  string `json:"event"`
	Client string `json:"client,omitempty"` // the address in its canonical text form; empty: a client exempt from the limits
	User   string `json:"user,omitempty"`
}

// Validate checks a received request.
func (r *Request) Validate() error {
	if r.Type != RequestType {
		return fmt.Errorf("anvil request of type %q", r.Type)
	}
	switch r.Event {
	case Connect, Disconnect, Auth, AuthFailure:
		if r.Client == "" || r.User != "" {
			return fmt.Errorf("anvil %s event needs a client and no user", r.Event)
		}
	case Message, Recipient:
		if r.Client == "" && r.User == "" {
			return fmt.Errorf("anvil %s event without client or user", r.Event)
		}
	default:
		return fmt.Errorf("anvil request for event %q", r.Event)
	}
	if (r.Seq == 0) != (r.Event == Disconnect) {
		return fmt.Errorf("anvil %s event with sequence number %d", r.Event, r.Seq)
	}
	if r.Client != "" {
		a, err := netip.ParseAddr(r.Client)
		if err != nil || a.Zone() != "" || a.String() != r.Client {
			return fmt.Errorf("anvil request for client %q: not an address in canonical form", r.Client)
		}
	}
	if len(r.User) > MaxUser {
		return fmt.Errorf("anvil request for a user name of %d bytes", len(r.User))
	}
	for i := 0; i < len(r.User); i++ {
		if r.User[i] < ' ' || r.User[i] == 0x7f {
			return fmt.Errorf("anvil request for user %q: control character", r.User)
		}
	}
	return nil
}

// Counts are what anvil knows of one client or user after an event: the
// connections open now, and the events within the current time unit
// (anvil_rate_time_unit), which starts with the first event after the
// previous one ended, as in Postfix's anvil.
type Counts struct {
	Connections  int `json:"connections,omitempty"`
	ConnectRate  int `json:"connect_rate,omitempty"`
	Messages     int `json:"messages,omitempty"`
	Recipients   int `json:"recipients,omitempty"`
	Auths        int `json:"auths,omitempty"`
	AuthFailures int `json:"auth_failures,omitempty"`
}

func (c Counts) valid() bool {
	return c.Connections >= 0 && c.ConnectRate >= 0 && c.Messages >= 0 && c.Recipients >= 0 && c.Auths >= 0 && c.AuthFailures >= 0
}

// Reply answers a Request with the counts of its client and its user.
type Reply struct {
	Type   string `json:"type"`
	Seq    uint64 `json:"seq"`
	Client Counts `json:"client,omitzero"`
	User   Counts `json:"user,omitzero"`
}

// Validate checks a received reply.
func (r *Reply) Validate() error {
	if r.Type != ReplyType {
		return fmt.Errorf("anvil reply of type %q", r.Type)
	}
	if r.Seq == 0 {
		return fmt.Errorf("anvil reply without sequence number")
	}
	if !r.Client.valid() || !r.User.valid() {
		return fmt.Errorf("anvil reply with a negative count")
	}
	return nil
}

// Package handoff is the channel on which imapd's and pop3d's login
// processes hand a client to their session service (sockets
// private/imap-session and private/pop3-session): the login process,
// which runs as mail_owner and can open no mailbox, passes the client's
// connection (SCM_RIGHTS, libmail/daemon) and the credentials the client
// gave; the session service checks them against the accounts and, if
// they hold, starts the session as the mailbox's owner with the
// connection, as Dovecot's login processes hand clients to its auth and
// mail processes.
//
// One connection carries one login: after the hello, the login process
// sends the descriptor (one byte with SCM_RIGHTS), then a Request frame;
// the service answers one Reply and closes. A refused login leaves the
// client with the login process, which may let it try again.
package handoff

import (
	"fmt"
	"net/netip"
	"unicode/utf8"
)

// Channel and Version name this protocol in the hello.
const (
	Channel = "login-handoff"
	Version = 1
)

// Frame types: the receiver, the noun, the verb.
const (
	RequestType = "session-login-request"
	ReplyType   = "login-session-reply"
)

// Protocols a request may name.
const (
	IMAP = "imap"
	POP3 = "pop3"
)

// Limits on what a request carries. A user name is an address; a
// password of more than 1 KiB is not one anyone types; Buffered holds
// what a client pipelined after its login command, which the login
// process reads at most a buffer of.
const (
	MaxUser     = 512
	MaxPassword = 1024
	MaxTag      = 128
	MaxBuffered = 64 * 1024
)

// Request is one login to check, and the session to start if it holds.
type Request struct {
	Type      string `json:"type"`
	Protocol  string `json:"protocol"`
	Mechanism string `json:"mechanism"` // PLAIN, LOGIN (SASL), or USER (POP3 USER/PASS; IMAP LOGIN says LOGIN)
	User      string `json:"user"`
	Password  string `json:"password"`
	// Tag is the IMAP command's tag, for the tagged OK the session sends
	// once it has opened the mailbox; empty for POP3.
	Tag    string `json:"tag,omitempty"`
	Client string `json:"client"` // the client's address and port
	Local  string `json:"local"`  // the address and port it connected to
	TLS    bool   `json:"tls,omitempty"`
	// Buffered are bytes the client sent after the login command, which
	// the login process had read already: the session reads them first.
	Buffered []byte `json:"buffered,omitempty"`
}

// Validate checks a received request.
func (r *Request) Validate() error {
	if r.Type != RequestType {
		return fmt.Errorf("handoff request of type %q", r.Type)
	}
	switch r.Protocol {
	case IMAP, POP3:
	default:
		return fmt.Errorf("handoff request for protocol %q", r.Protocol)
	}
	switch r.Mechanism {
	case "PLAIN", "LOGIN", "USER":
	default:
		return fmt.Errorf("handoff request with mechanism %q", r.Mechanism)
	}
	if err := text("user", r.User, MaxUser); err != nil {
		return err
	}
	if len(r.Password) > MaxPassword {
		return fmt.Errorf("handoff request with a password of %d bytes", len(r.Password))
	}
	if err := text("tag", r.Tag, MaxTag); err != nil {
		return err
	}
	if r.Protocol == IMAP && r.Tag == "" {
		return fmt.Errorf("handoff request for IMAP without a tag")
	}
	for name, v := range map[string]string{"client": r.Client, "local": r.Local} {
		if _, err := netip.ParseAddrPort(v); err != nil {
			return fmt.Errorf("handoff request with %s %q: %v", name, v, err)
		}
	}
	if len(r.Buffered) > MaxBuffered {
		return fmt.Errorf("handoff request with %d buffered bytes", len(r.Buffered))
	}
	return nil
}

// text checks a field that is logged and echoed: printable UTF-8
// without control characters.
func text(name, v string, limit int) error {
	if len(v) > limit {
		return fmt.Errorf("handoff request with a %s of %d bytes", name, len(v))
	}
	if !utf8.ValidString(v) {
		return fmt.Errorf("handoff request with a %s that is not UTF-8", name)
	}
	for _, c := range v {
		if c < ' ' || c == 0x7f {
			return fmt.Errorf("handoff request with a control character in its %s", name)
		}
	}
	return nil
}

// Reply answers a Request. OK: the session runs (as PID) and has the
// client; the login process lets go of it. Not OK: Temp tells a system
// problem (the client hears a temporary error and its attempt is not
// counted as a failure) from wrong credentials.
type Reply struct {
	Type string `json:"type"`
	OK   bool   `json:"ok,omitempty"`
	Temp bool   `json:"temp,omitempty"`
	// User is the account the login is for, as the accounts file spells
	// it, for the login process's log line.
	User string `json:"user,omitempty"`
	PID  int    `json:"pid,omitempty"`
	Text string `json:"text,omitempty"` // why a login failed, for the log (never told the client)
}

// Validate checks a received reply.
func (r *Reply) Validate() error {
	if r.Type != ReplyType {
		return fmt.Errorf("handoff reply of type %q", r.Type)
	}
	if r.OK && (r.Temp || r.PID <= 0) {
		return fmt.Errorf("handoff reply: ok with temp %v, pid %d", r.Temp, r.PID)
	}
	if r.OK {
		if err := text("user", r.User, MaxUser); err != nil {
			return err
		}
	}
	return nil
}

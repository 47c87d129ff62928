package login

import (
	"context"
	"net"
	"net/netip"
)

// Identity is who logged in, and how: what a session process is told
// besides its mailbox.
type Identity struct {
	// User is the account, as the accounts file spells it.
	User string `json:"user"`
	// Mechanism is how the password came: PLAIN or LOGIN (SASL, or IMAP's
	// LOGIN command), USER (POP3 USER/PASS).
	Mechanism string `json:"mechanism"`
	// Tag is the tag of the IMAP command that logged in, for its tagged
	// OK; empty for POP3.
	Tag    string         `json:"tag,omitempty"`
	Client netip.AddrPort `json:"client"`
	Local  netip.AddrPort `json:"local"`
	// TLS says the client's connection is under TLS (which the login
	// process holds: the session sees plaintext either way).
	TLS bool `json:"tls,omitempty"`
	// UID and GID are what the session runs as: the mailbox's owner.
	UID int `json:"uid"`
	GID int `json:"gid"`
}

// Handoff is a protocol's authenticated session: it runs in the session
// process, as the mailbox's owner, on the client's connection (whose
// first bytes are any the client had pipelined after its login command).
// It opens the mailbox mb describes, and then sends the
// reply to the login command itself: "TAG OK ..." for IMAP (id.Tag),
// "+OK ..." for POP3; if the mailbox cannot be opened it says so ("TAG NO
// [UNAVAILABLE] ..." or "-ERR [SYS/TEMP] ...") and returns. It returns
// when the session is over or ctx ends (the session service stopped).
type Handoff func(ctx context.Context, conn net.Conn, id Identity, mb Mailbox) error

// Mailbox is what the session service resolved about the account's
// mailbox, the way local resolves it for delivery.
type Mailbox struct {
	Root     string `json:"root"`            // the Maildir
	Quota    int64  `json:"quota,omitempty"` // its storage limit in bytes; 0 for none
	Hostname string `json:"hostname"`        // myhostname, for the names of the files the session writes
}

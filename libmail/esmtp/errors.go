package esmtp

import (
	"errors"
	"net"
	"os"
	"syscall"

	"postern.dev/postern/libmail/sasl"
)

// ConnectError is a failed connection to a server. Its text is Postfix's:
// "connect to host[ip]:port: Connection refused".
type ConnectError struct {
	Relay string // host[ip]:port
	Err   error
}

func (e *ConnectError) Unwrap() error { return e.Err }

func (e *ConnectError) Error() string {
	var why string
	var ne net.Error
	switch {
	case errors.Is(e.Err, syscall.ECONNREFUSED):
		why = "Connection refused"
	case errors.Is(e.Err, syscall.ENETUNREACH):
		why = "Network is unreachable"
	case errors.Is(e.Err, syscall.EHOSTUNREACH):
		why = "No route to host"
	case errors.As(e.Err, &ne) && ne.Timeout():
		why = "Connection timed out"
	default:
		why = e.Err.Error()
		var se *os.SyscallError
		if errors.As(e.Err, &se) {
			why = se.Err.Error()
		}
	}
	return "connect to " + e.Relay + ": " + why
}

// IOError is a failure of the connection (or of the server's grammar)
// during a phase of the session: the state of the session is unknown
// afterwards. Its text is Postfix's, for logs and bounces: "lost
// connection with host[ip]:port while sending RCPT TO".
type IOError struct {
	Relay string // host[ip]:port
	Phase string // "receiving the initial server greeting", "sending MAIL FROM", ...
	Err   error
}

func (e *IOError) Unwrap() error { return e.Err }

func (e *IOError) Error() string {
	var ne net.Error
	switch {
	case errors.As(e.Err, &ne) && ne.Timeout(), errors.Is(e.Err, os.ErrDeadlineExceeded):
		return "conversation with " + e.Relay + " timed out while " + e.Phase
	case errors.Is(e.Err, errReplySyntax):
		return "protocol error with " + e.Relay + " while " + e.Phase + ": " + e.Err.Error()
	}
	return "lost connection with " + e.Relay + " while " + e.Phase
}

// RsetFailed reports a session found dead by the RSET that begins a
// transaction on a session used before (RsetFirst): no message data was
// sent, so nothing was decided, and a new session may do.
func (e *IOError) RsetFailed() bool { return e.Phase == phaseRset }

// Refusal is a reply that ends the attempt with this server before any
// transaction: a non-2xx one to the greeting, EHLO/HELO or STARTTLS, or
// a final reply to AUTH other than 235.
type Refusal struct {
	Reply Reply
	In    string // the command it answers ("EHLO"), "" for the greeting
}

func (e *Refusal) Error() string { return e.Reply.String() }

// HandshakeError is a failed TLS handshake after the server agreed to
// STARTTLS. The connection is useless afterwards.
type HandshakeError struct{ Err error }

func (e *HandshakeError) Error() string { return "TLS handshake: " + e.Err.Error() }
func (e *HandshakeError) Unwrap() error { return e.Err }

// AuthLoopError is an AUTH exchange the client cancelled because the
// server sent a challenge after the mechanism's last response (Postfix's
// words: "authentication protocol loop").
type AuthLoopError struct{ Relay string }

func (e *AuthLoopError) Error() string { return "authentication protocol loop with server " + e.Relay }
func (e *AuthLoopError) Unwrap() error { return sasl.ErrSteps }

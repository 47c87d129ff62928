package pop3login

import (
	"context"
	"errors"

	"postern.dev/postern/libmail/ipc/handoff"
	"postern.dev/postern/libmail/login"
	"postern.dev/postern/libmail/sasl"
)

// defaultCapabilities are what the server supports whatever the state
// (RFC 2449 §6); CAPA adds STLS, USER and SASL as the connection allows
// (Protocol.Capabilities replaces them).
var defaultCapabilities = []string{"TOP", "UIDL", "RESP-CODES", "PIPELINING", "AUTH-RESP-CODE"}

// maxBad is how many unknown commands a client may send before login.
const maxBad = 10

// Protocol is POP3's login role for libmail/login.
type Protocol struct {
	// Capabilities replaces the default list when not nil.
	Capabilities []string
}

// Name is the protocol as the handoff channel names it.
func (Protocol) Name() string { return handoff.POP3 }

// Refuse tells a client refused at connect (RFC 2449 §8.1.2: SYS/TEMP).
func (Protocol) Refuse(c *login.Client, text string) { c.Printf("-ERR [SYS/TEMP] %s\r\n", text) }

type session struct {
	p    Protocol
	c    *login.Client
	user string // from USER, for PASS
	bad  int
}

// Serve greets the client and runs its commands until it logs in or
// leaves.
func (p Protocol) Serve(ctx context.Context, c *login.Client) {
	s := &session{p: p, c: c}
	c.Printf("+OK %s ready.\r\n", c.Hostname())
	for {
		if c.Flush() != nil {
			return
		}
		line, err := c.ReadLine()
		if errors.Is(err, login.ErrLineTooLong) {
			c.Printf("-ERR Line too long.\r\n")
			c.Flush()
			return
		}
		if err != nil {
			return
		}
		cmd, ok := parseCommand(line)
		if !ok {
			if s.tooBad() {
				return
			}
			continue
		}
		if !s.run(ctx, cmd) {
			c.Flush()
			return
		}
	}
}

// tooBad answers an unknown command and says goodbye after maxBad.
func (s *session) tooBad() bool {
	s.bad++
	if s.bad >= maxBad {
		s.c.Printf("-ERR Too many bad commands.\r\n")
		s.c.Flush()
		return true
	}
	s.c.Printf("-ERR Unknown command.\r\n")
	return false
}

// run answers one command; false ends the connection.
func (s *session) run(ctx context.Context, cmd command) bool {
	c := s.c
	switch cmd.name {
	case "CAPA":
		c.Printf("+OK Capability list follows\r\n")
		caps := defaultCapabilities
		if s.p.Capabilities != nil {
			caps = s.p.Capabilities
		}
		for _, cp := range caps {
			c.Printf("%s\r\n", cp)
		}
		if c.CanStartTLS() {
			c.Printf("STLS\r\n")
		}
		if c.PasswordsAllowed() {
			c.Printf("USER\r\nSASL %s %s\r\n", sasl.Plain, sasl.Login)
		}
		c.Printf(".\r\n")
	case "NOOP":
		c.Printf("+OK\r\n")
	case "QUIT":
		c.Printf("+OK Logging out.\r\n")
		return false
	case "STLS":
		switch {
		case c.TLS():
			c.Printf("-ERR TLS already active.\r\n")
		case !c.CanStartTLS():
			c.Printf("-ERR TLS support isn't enabled.\r\n")
		default:
			c.Printf("+OK Begin TLS negotiation now.\r\n")
			if c.Flush() != nil {
				return false
			}
			s.user = ""
			return c.StartTLS() == nil
		}
	case "USER":
		if s.noPlaintext() {
			return true
		}
		if f := fields(cmd.arg); len(f) != 1 || f[0] == "" {
			c.Printf("-ERR Invalid arguments.\r\n")
			return true
		}
		s.user = cmd.arg
		c.Printf("+OK\r\n")
	case "PASS":
		if s.noPlaintext() {
			return true
		}
		if s.user == "" {
			c.Printf("-ERR No username given.\r\n")
			return true
		}
		user := s.user
		s.user = ""
		if !c.BeginAuth(ctx) {
			c.Printf("-ERR [AUTH] Too many authentication failures.\r\n")
			return false
		}
		return s.answer(c.Authenticate(ctx, login.Credentials{Mechanism: "USER", User: user, Password: cmd.arg}))
	case "AUTH":
		return s.auth(ctx, cmd)
	case "STAT", "LIST", "RETR", "DELE", "RSET", "TOP", "UIDL", "APOP":
		c.Printf("-ERR Not logged in.\r\n")
	default:
		return !s.tooBad()
	}
	return true
}

// noPlaintext refuses a password before TLS, as Dovecot does.
func (s *session) noPlaintext() bool {
	if s.c.PasswordsAllowed() {
		return false
	}
	s.c.Printf("-ERR [AUTH] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n")
	return true
}

// auth is AUTH [mechanism [initial-response]] (RFC 5034). Without a
// mechanism it lists them, as many clients expect (RFC 1734's form).
func (s *session) auth(ctx context.Context, cmd command) bool {
	c := s.c
	f := fields(cmd.arg)
	if len(f) == 0 {
		if s.noPlaintext() {
			return true
		}
		c.Printf("+OK\r\n%s\r\n%s\r\n.\r\n", sasl.Plain, sasl.Login)
		return true
	}
	if len(f) > 2 {
		c.Printf("-ERR Invalid arguments.\r\n")
		return true
	}
	if s.noPlaintext() {
		return true
	}
	ex, err := sasl.NewServer(f[0])
	if err != nil {
		c.Printf("-ERR Unsupported authentication mechanism.\r\n")
		return true
	}
	if !c.BeginAuth(ctx) {
		c.Printf("-ERR [AUTH] Too many authentication failures.\r\n")
		return false
	}
	initial := ""
	if len(f) == 2 {
		initial = f[1]
	}
	challenge, done, err := ex.Start(initial)
	for err == nil && !done {
		c.Printf("+ %s\r\n", challenge)
		if c.Flush() != nil {
			return false
		}
		line, rerr := c.ReadLine()
		if rerr != nil {
			return false
		}
		challenge, done, err = ex.Next(line)
	}
	switch {
	case errors.Is(err, sasl.ErrAborted):
		c.Printf("-ERR Authentication aborted.\r\n")
		return true
	case err != nil:
		return s.answer(c.Failed(ctx, ex.Mechanism(), err.Error()))
	}
	cred, _ := ex.Credentials()
	return s.answer(c.Authenticate(ctx, login.Credentials{Mechanism: ex.Mechanism(), User: cred.Username, Password: cred.Password}))
}

// answer says what became of a login (RFC 2449 §8.1.2, RFC 3206 §4).
func (s *session) answer(o login.Outcome) bool {
	switch o {
	case login.LoggedIn:
		return false
	case login.TryLater:
		s.c.Printf("-ERR [SYS/TEMP] Temporary authentication failure, try again later.\r\n")
		return true
	case login.Closing:
		s.c.Printf("-ERR [AUTH] Authentication failed. Too many authentication failures.\r\n")
		return false
	}
	s.c.Printf("-ERR [AUTH] Authentication failed.\r\n")
	return true
}

package imaplogin

import (
	"context"
	"errors"
	"strings"

	"postern.dev/postern/libmail/ipc/handoff"
	"postern.dev/postern/libmail/login"
	"postern.dev/postern/libmail/sasl"
)

// defaultCapabilities are what the server supports whatever the state:
// the greeting and CAPABILITY list them, with STARTTLS, LOGINDISABLED
// or AUTH= as the connection allows. The authenticated session may list
// more once logged in (Protocol.Capabilities replaces them).
var defaultCapabilities = []string{"IMAP4rev1", "SASL-IR", "ID", "LITERAL+"}

// maxBad is how many bad commands a client may send before login
// before it is disconnected, as Dovecot does.
const maxBad = 10

// Protocol is IMAP's login role for libmail/login.
type Protocol struct {
	// Capabilities replaces the default list when not nil.
	Capabilities []string
}

// Name is the protocol as the handoff channel names it.
func (Protocol) Name() string { return handoff.IMAP }

// Refuse tells a client refused at connect (RFC 9051 §7.1.5).
func (Protocol) Refuse(c *login.Client, text string) { c.Printf("* BYE [UNAVAILABLE] %s\r\n", text) }

// session is one client before login.
type session struct {
	p   Protocol
	c   *login.Client
	bad int
}

// Serve greets the client and runs its commands until it logs in or
// leaves.
func (p Protocol) Serve(ctx context.Context, c *login.Client) {
	s := &session{p: p, c: c}
	c.Printf("* OK [CAPABILITY %s] %s ready.\r\n", s.capabilities(), c.Hostname())
	for {
		if c.Flush() != nil {
			return
		}
		cmd, err := readCommand(s)
		var se *syntaxError
		switch {
		case errors.As(err, &se):
			tag := se.tag
			if tag == "" {
				tag = "*"
			}
			c.Printf("%s BAD %s\r\n", tag, se.msg)
			if !s.tooBad() {
				continue
			}
			return
		case err == errEmpty:
			continue
		case err == errLiteralTooBig:
			c.Printf("* BYE Literal too big.\r\n")
			c.Flush()
			return
		case err != nil:
			if errors.Is(err, login.ErrLineTooLong) {
				c.Printf("* BYE Line too long.\r\n")
				c.Flush()
			}
			return
		}
		if !s.run(ctx, cmd) {
			c.Flush()
			return
		}
	}
}

// ReadLine, ReadFull and Continue make the client a source of commands.
func (s *session) ReadLine() (string, error)      { return s.c.ReadLine() }
func (s *session) ReadFull(n int) ([]byte, error) { return s.c.ReadFull(n) }
func (s *session) Continue() error {
	s.c.Printf("+ Ready for literal data\r\n")
	return s.c.Flush()
}

// tooBad counts a bad command and says goodbye after maxBad.
func (s *session) tooBad() bool {
	s.bad++
	if s.bad < maxBad {
		return false
	}
	s.c.Printf("* BYE Too many invalid IMAP commands.\r\n")
	s.c.Flush()
	return true
}

// capabilities lists what the connection allows now.
func (s *session) capabilities() string {
	caps := defaultCapabilities
	if s.p.Capabilities != nil {
		caps = s.p.Capabilities
	}
	out := append([]string(nil), caps...)
	if s.c.CanStartTLS() {
		out = append(out, "STARTTLS")
	}
	if s.c.PasswordsAllowed() {
		for _, m := range sasl.Mechanisms() {
			out = append(out, "AUTH="+m)
		}
	} else {
		out = append(out, "LOGINDISABLED")
	}
	return strings.Join(out, " ")
}

// run answers one command; false ends the connection.
func (s *session) run(ctx context.Context, cmd *command) bool {
	c := s.c
	switch cmd.name {
	case "CAPABILITY":
		if len(cmd.args) != 0 {
			return s.badArgs(cmd)
		}
		c.Printf("* CAPABILITY %s\r\n%s OK Capability completed.\r\n", s.capabilities(), cmd.tag)
	case "NOOP":
		if len(cmd.args) != 0 {
			return s.badArgs(cmd)
		}
		c.Printf("%s OK NOOP completed.\r\n", cmd.tag)
	case "LOGOUT":
		c.Printf("* BYE Logging out.\r\n%s OK Logout completed.\r\n", cmd.tag)
		return false
	case "ID":
		// RFC 2971: the client's fields are only for logs; ours are few,
		// and no version (nothing to tell an attacker).
		if !validID(cmd.args) {
			return s.badArgs(cmd)
		}
		c.Printf("* ID (\"name\" \"postern\")\r\n%s OK ID completed.\r\n", cmd.tag)
	case "STARTTLS":
		return s.starttls(cmd)
	case "LOGIN":
		return s.login(ctx, cmd)
	case "AUTHENTICATE":
		return s.authenticate(ctx, cmd)
	case "SELECT", "EXAMINE", "CREATE", "DELETE", "RENAME", "SUBSCRIBE", "UNSUBSCRIBE", "LIST", "LSUB", "STATUS",
		"APPEND", "NAMESPACE", "ENABLE", "IDLE", "CHECK", "CLOSE", "UNSELECT", "EXPUNGE", "SEARCH", "FETCH", "STORE",
		"COPY", "MOVE", "UID", "GETQUOTA", "GETQUOTAROOT", "SETQUOTA", "SORT", "THREAD", "COMPRESS", "ESEARCH":
		c.Printf("%s BAD Command not valid before login.\r\n", cmd.tag)
		return !s.tooBad()
	default:
		c.Printf("%s BAD Unknown command.\r\n", cmd.tag)
		return !s.tooBad()
	}
	return true
}

func (s *session) badArgs(cmd *command) bool {
	s.c.Printf("%s BAD Invalid arguments.\r\n", cmd.tag)
	return !s.tooBad()
}

// validID: NIL, or a parenthesized list of strings and NILs.
func validID(args []arg) bool {
	if len(args) == 1 && args[0].kind == atom && strings.EqualFold(args[0].s, "NIL") {
		return true
	}
	if len(args) < 2 || args[0].kind != open || args[len(args)-1].kind != closed {
		return false
	}
	for _, a := range args[1 : len(args)-1] {
		if a.kind != str && !(a.kind == atom && strings.EqualFold(a.s, "NIL")) {
			return false
		}
	}
	return true
}

// starttls switches to TLS (RFC 2595 §3.1, RFC 9051 §6.2.1).
func (s *session) starttls(cmd *command) bool {
	c := s.c
	switch {
	case len(cmd.args) != 0:
		return s.badArgs(cmd)
	case c.TLS():
		c.Printf("%s BAD TLS is already active.\r\n", cmd.tag)
		return !s.tooBad()
	case !c.CanStartTLS():
		c.Printf("%s BAD TLS support isn't enabled.\r\n", cmd.tag)
		return !s.tooBad()
	}
	c.Printf("%s OK Begin TLS negotiation now.\r\n", cmd.tag)
	if c.Flush() != nil {
		return false
	}
	return c.StartTLS() == nil
}

// noPlaintext refuses a password before TLS (RFC 9051 §7.1:
// PRIVACYREQUIRED).
func (s *session) noPlaintext(cmd *command) bool {
	if s.c.PasswordsAllowed() {
		return false
	}
	s.c.Printf("%s NO [PRIVACYREQUIRED] Plaintext authentication disallowed on non-secure (SSL/TLS) connections.\r\n", cmd.tag)
	return true
}

// login is LOGIN user password.
func (s *session) login(ctx context.Context, cmd *command) bool {
	if len(cmd.args) != 2 {
		return s.badArgs(cmd)
	}
	user, ok1 := cmd.args[0].astring()
	pass, ok2 := cmd.args[1].astring()
	if !ok1 || !ok2 {
		return s.badArgs(cmd)
	}
	if s.noPlaintext(cmd) {
		return true
	}
	if !s.c.BeginAuth(ctx) {
		s.c.Printf("* BYE Too many authentication failures.\r\n")
		return false
	}
	return s.answer(s.c.Authenticate(ctx, login.Credentials{Mechanism: sasl.Login, User: user, Password: pass, Tag: cmd.tag}), cmd)
}

// authenticate is AUTHENTICATE mechanism [initial-response] (RFC 9051
// §6.2.2, RFC 4959).
func (s *session) authenticate(ctx context.Context, cmd *command) bool {
	c := s.c
	if len(cmd.args) < 1 || len(cmd.args) > 2 || cmd.args[0].kind != atom || len(cmd.args) == 2 && cmd.args[1].kind != atom {
		return s.badArgs(cmd)
	}
	if s.noPlaintext(cmd) {
		return true
	}
	ex, err := sasl.NewServer(cmd.args[0].s)
	if err != nil {
		c.Printf("%s NO [CANNOT] Unsupported authentication mechanism.\r\n", cmd.tag)
		return true
	}
	if !c.BeginAuth(ctx) {
		c.Printf("* BYE Too many authentication failures.\r\n")
		return false
	}
	initial := ""
	if len(cmd.args) == 2 {
		initial = cmd.args[1].s
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
		c.Printf("%s BAD Authentication aborted by client.\r\n", cmd.tag)
		return true
	case err != nil:
		return s.answer(c.Failed(ctx, ex.Mechanism(), err.Error()), cmd)
	}
	cred, _ := ex.Credentials()
	return s.answer(c.Authenticate(ctx, login.Credentials{Mechanism: ex.Mechanism(), User: cred.Username, Password: cred.Password, Tag: cmd.tag}), cmd)
}

// answer says what became of a login; false ends the login process's
// part (logged in, or closing).
func (s *session) answer(o login.Outcome, cmd *command) bool {
	c := s.c
	switch o {
	case login.LoggedIn:
		return false
	case login.TryLater:
		c.Printf("%s NO [UNAVAILABLE] Temporary authentication failure, try again later.\r\n", cmd.tag)
		return true
	case login.Closing:
		c.Printf("* BYE Too many authentication failures.\r\n%s NO [AUTHENTICATIONFAILED] Authentication failed.\r\n", cmd.tag)
		return false
	}
	c.Printf("%s NO [AUTHENTICATIONFAILED] Authentication failed.\r\n", cmd.tag)
	return true
}

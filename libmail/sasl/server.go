package sasl

import (
	"encoding/base64"
	"errors"
	"fmt"
	"strings"
)

// The mechanisms' names, as clients send them (in any case) and as
// servers list them (EHLO's AUTH, IMAP's AUTH=, POP3's CAPA SASL).
const (
	Plain = "PLAIN"
	Login = "LOGIN"
)

// Mechanisms lists the mechanisms a server offers, in the order to
// offer them: PLAIN first, the standard one.
func Mechanisms() []string { return []string{Plain, Login} }

// The ways an exchange fails. Each is the cause of the error a Server
// returns, so errors.Is picks the reply.
var (
	// ErrMechanism: the client named a mechanism not offered here.
	ErrMechanism = errors.New("unsupported mechanism")
	// ErrAborted: the client sent "*" (RFC 4954 §4, RFC 9051 §6.2.2,
	// RFC 5034 §4).
	ErrAborted = errors.New("authentication aborted")
	// ErrEncoding: a response that is not base64.
	ErrEncoding = errors.New("response is not base64")
	// ErrMalformed: a response that decodes but is not a message of the
	// mechanism (a PLAIN message without its three fields, say).
	ErrMalformed = errors.New("malformed response")
)

// Credentials are what the client claims, to be checked by the caller.
type Credentials struct {
	Mechanism string // Plain or Login
	Username  string // PLAIN's authcid
	Password  string
}

// Server is one exchange on the server side. It is not safe for
// concurrent use; a session runs one exchange at a time.
type Server struct {
	mech  string
	steps int    // responses taken
	user  string // LOGIN's user name, between its two steps
	cred  *Credentials
	err   error // the exchange failed; it takes nothing more
}

// LOGIN's challenges. They are fixed texts (draft-murchison-sasl-login
// §2.1 says a client must not rely on them, but some do).
const (
	loginUser = "Username:"
	loginPass = "Password:"
)

// NewServer begins an exchange with the mechanism the client named. An
// unknown name gives ErrMechanism.
func NewServer(mech string) (*Server, error) {
	switch m := strings.ToUpper(mech); m {
	case Plain, Login:
		return &Server{mech: m}, nil
	}
	return nil, ErrMechanism
}

// Mechanism is the mechanism's name in upper case.
func (s *Server) Mechanism() string { return s.mech }

// Start takes what followed the mechanism's name on the command line:
// "" when the client sent no initial response, "=" for an empty one
// (RFC 4954 §4, RFC 4959 §3), or base64. It returns the challenge to
// send, base64-encoded, or done once the exchange is complete; then
// Credentials has the result. After an error the exchange is over.
func (s *Server) Start(initial string) (challenge string, done bool, err error) {
	if initial == "" {
		if s.steps > 0 || s.cred != nil || s.err != nil {
			return "", false, s.fail(errors.New("exchange already started"))
		}
		if s.mech == Login {
			return encode(loginUser), false, nil
		}
		// RFC 4616 §2, RFC 4422 §5: PLAIN without an initial response
		// gets an empty challenge.
		return "", false, nil
	}
	return s.Next(initial)
}

// Next takes a line the client sent in answer to a challenge: base64,
// or "*" to abort. "=" is taken as an empty response here too: it can
// mean nothing else, and a client that sends it for an empty response
// to a challenge gets what it meant.
func (s *Server) Next(line string) (challenge string, done bool, err error) {
	if s.err != nil {
		return "", false, s.err
	}
	if s.cred != nil {
		return "", false, s.fail(errors.New("exchange already complete"))
	}
	resp, err := decode(line)
	if err != nil {
		return "", false, s.fail(err)
	}
	s.steps++
	switch {
	case s.mech == Plain:
		cred, err := parsePlain(resp)
		if err != nil {
			return "", false, s.fail(err)
		}
		s.cred = cred
	case s.steps == 1: // LOGIN's user name
		s.user = string(resp)
		return encode(loginPass), false, nil
	default:
		s.cred = &Credentials{Mechanism: Login, Username: s.user, Password: string(resp)}
	}
	return "", true, nil
}

// Credentials returns what the client claimed, once Start or Next said
// done; before that it returns false.
func (s *Server) Credentials() (Credentials, bool) {
	if s.cred == nil {
		return Credentials{}, false
	}
	return *s.cred, true
}

// fail ends the exchange with err. The errors carry no prefix: a caller
// logs them after its own words ("SASL PLAIN authentication failed: ").
func (s *Server) fail(err error) error {
	s.err = err
	return err
}

// decode turns one line of the client's into its response.
func decode(line string) ([]byte, error) {
	switch line {
	case "*":
		return nil, ErrAborted
	case "=":
		return []byte{}, nil
	}
	b, err := base64.StdEncoding.DecodeString(line)
	if err != nil {
		// The decoder's message quotes no input, only an offset.
		return nil, fmt.Errorf("%w: %v", ErrEncoding, err)
	}
	return b, nil
}

func encode(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }

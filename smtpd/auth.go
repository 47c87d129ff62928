package smtpd

import (
	"bytes"
	"errors"

	"github.com/emersion/go-sasl"
	"github.com/emersion/go-smtp"
)

// AuthMechanisms implements smtp.AuthSession. AUTH is offered only where
// the service enables it and, with smtpd_tls_auth_only, only under TLS
// (go-smtp itself hides AUTH on plaintext unless insecure auth is allowed).
func (s *session) AuthMechanisms() []string {
	if !s.srv.cfg.Auth {
		return nil
	}
	return []string{sasl.Plain, sasl.Login}
}

// Auth implements smtp.AuthSession.
func (s *session) Auth(mech string) (sasl.Server, error) {
	if !s.srv.cfg.Auth {
		return nil, smtp.ErrAuthUnsupported
	}
	switch mech {
	case sasl.Plain:
		return sasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				return s.authFailed(mech, user, "authorization identity differs")
			}
			return s.authenticate(mech, user, pass)
		}), nil
	case sasl.Login:
		return &loginServer{done: func(user, pass string) error { return s.authenticate(mech, user, pass) }}, nil
	}
	return nil, smtp.ErrAuthUnknownMechanism
}

func (s *session) authenticate(mech, user, pass string) error {
	acct, ok := s.srv.dir.Account(user)
	if !ok || !acct.Verify(pass) {
		return s.authFailed(mech, user, "bad username or password")
	}
	s.authUser = acct.Address
	s.client.count("auth", true)
	return nil
}

// authFailed logs in the form fail2ban's postfix-sasl filter expects.
func (s *session) authFailed(mech, user, why string) error {
	s.client.count("auth", false)
	s.srv.log.Warn("%s: SASL %s authentication failed: %s (user %q)", s.client.label(), mech, why, user)
	return smtp.ErrAuthFailed
}

// loginServer is the server side of the LOGIN mechanism, which go-sasl
// only has as a client: two prompts, user name then password.
type loginServer struct {
	user string
	step int
	done func(user, pass string) error
}

func (l *loginServer) Next(response []byte) (challenge []byte, done bool, err error) {
	switch l.step {
	case 0:
		l.step++
		if len(response) > 0 { // initial response carries the user name
			l.user = string(response)
			l.step++
			return []byte("Password:"), false, nil
		}
		return []byte("Username:"), false, nil
	case 1:
		l.user = string(response)
		l.step++
		return []byte("Password:"), false, nil
	case 2:
		l.step++
		if bytes.IndexByte(response, 0) >= 0 {
			return nil, true, errors.New("NUL in password")
		}
		return nil, true, l.done(l.user, string(response))
	}
	return nil, true, errors.New("unexpected LOGIN response")
}

package login

import (
	"crypto/tls"
	"fmt"
	"net/netip"
	"time"

	"postern.dev/postern/libmail/config"
)

// Config is what a login process needs from the parameters.
type Config struct {
	Service  string      // the service name, for log lines
	Hostname string      // myhostname, in greetings
	TLS      *tls.Config // nil: no TLS (and so no password logins, unless PlaintextAuth)
	Wrapper  bool        // implicit TLS (imaps, pop3s)
	// PlaintextAuth allows password logins without TLS.
	PlaintextAuth bool
	Timeout       time.Duration // idle time before login, and the TLS handshake
	// SessionSocket is the session service's socket.
	SessionSocket string
	Limits        Limits
}

// Limits are the per-client limits; 0 means no limit.
type Limits struct {
	Exceptions   []netip.Prefix
	ConnCount    int
	ConnRate     int
	AuthFailures int
	AuthDelay    time.Duration
	AuthMaxDelay time.Duration
}

// NewConfig reads a login service's parameters. sessionSocket is the
// path of its session service's socket.
func NewConfig(service string, p *config.Params, sessionSocket string) (Config, error) {
	exc, err := config.ParseNetworks(p.LoginClientEventLimitExceptions)
	if err != nil {
		return Config{}, fmt.Errorf("login_client_event_limit_exceptions: %w", err)
	}
	c := Config{Service: service, Hostname: p.MyHostname, Wrapper: p.LoginTLSWrapperMode, PlaintextAuth: p.LoginPlaintextAuth,
		Timeout: p.LoginTimeout.D(), SessionSocket: sessionSocket,
		Limits: Limits{Exceptions: exc, ConnCount: p.LoginClientConnectionCountLimit, ConnRate: p.LoginClientConnectionRateLimit,
			AuthFailures: p.LoginAuthFailureLimit, AuthDelay: p.LoginAuthFailureDelay.D(), AuthMaxDelay: p.LoginAuthFailureMaxDelay.D()}}
	if p.LoginTLSCertFile != "" {
		cert, err := tls.LoadX509KeyPair(p.LoginTLSCertFile, p.LoginTLSKeyFile)
		if err != nil {
			return Config{}, fmt.Errorf("login_tls_cert_file: %w", err)
		}
		c.TLS = &tls.Config{Certificates: []tls.Certificate{cert}, MinVersion: tls.VersionTLS12, SessionTicketsDisabled: true}
	}
	if c.Wrapper && c.TLS == nil {
		return Config{}, fmt.Errorf("service %s: login_tls_wrappermode needs login_tls_cert_file", service)
	}
	return c, nil
}

// exempt reports whether no per-client limit applies to a.
func (l *Limits) exempt(a netip.Addr) bool {
	a = a.Unmap()
	for _, n := range l.Exceptions {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

package config

import (
	"fmt"
	"path/filepath"
)

// Login is about the login processes of imapd and pop3d: what they ask
// of a client before it has logged in, and the limits on clients that
// have not (counted by anvil, as smtpd's are).
type Login struct {
	LoginTLSCertFile                string   `toml:"login_tls_cert_file" default:"$smtpd_tls_cert_file" doc:"PEM certificate chain for IMAP and POP3 (STARTTLS, STLS, and the implicit TLS of ports 993 and 995); empty disables TLS, and with it password logins unless login_plaintext_auth is set."`
	LoginTLSKeyFile                 string   `toml:"login_tls_key_file" default:"$smtpd_tls_key_file" doc:"PEM private key for login_tls_cert_file."`
	LoginTLSWrapperMode             bool     `toml:"login_tls_wrappermode" default:"false" doc:"Speak TLS from the first byte (imaps on port 993, pop3s on port 995, RFC 8314); the built-in imaps and pop3s services set it."`
	LoginPlaintextAuth              bool     `toml:"login_plaintext_auth" default:"false" doc:"Allow password logins (IMAP LOGIN and AUTHENTICATE, POP3 USER/PASS and AUTH) on connections without TLS (Dovecot's disable_plaintext_auth = no). Off, IMAP says LOGINDISABLED and POP3 lists no USER and SASL before TLS, and a login attempt is refused before the password is looked at."`
	LoginTimeout                    Duration `toml:"login_timeout" default:"60s" doc:"How long a client that has not logged in may stay idle (or take for a TLS handshake) before it is disconnected."`
	LoginClientEventLimitExceptions []string `toml:"login_client_event_limit_exceptions" default:"$mynetworks" doc:"Clients (networks in CIDR or addresses) to which no per-client login limit applies: connections, login failures and the failure delay (a webmail on loopback logs many users in)."`
	LoginClientConnectionCountLimit int      `toml:"login_client_connection_count_limit" default:"20" doc:"The most connections one client may have open at once with the IMAP and POP3 login processes, before they log in (over all their services); the next is told so and closed. 0 means no limit."`
	LoginClientConnectionRateLimit  int      `toml:"login_client_connection_rate_limit" default:"0" doc:"The most IMAP and POP3 connections one client may make per anvil_rate_time_unit; the next is told so and closed. 0 means no limit."`
	LoginAuthFailureLimit           int      `toml:"login_auth_failure_limit" default:"10" doc:"The number of failed IMAP and POP3 logins from one client per anvil_rate_time_unit (counted with smtpd's failed AUTHs, in anvil) that ends its session: that failure, and every login from the client until the time unit is over, get a refusal and the connection is closed, with a log line for fail2ban. 0 means no limit."`
	LoginAuthFailureDelay           Duration `toml:"login_auth_failure_delay" default:"1s" doc:"How long the login process waits before it answers a failed login; the wait doubles with each further failure of the client within anvil_rate_time_unit (or of the session, if more), up to login_auth_failure_max_delay. 0 means no wait."`
	LoginAuthFailureMaxDelay        Duration `toml:"login_auth_failure_max_delay" default:"16s" doc:"The longest wait before the answer to a failed login (see login_auth_failure_delay); never more than login_timeout."`
}

// validateLogin checks the login limits as validateLimits checks smtpd's.
func (p *Params) validateLogin() error {
	if _, err := ParseNetworks(p.LoginClientEventLimitExceptions); err != nil {
		return &paramError{"login_client_event_limit_exceptions", err}
	}
	for name, n := range map[string]int{
		"login_client_connection_count_limit": p.LoginClientConnectionCountLimit,
		"login_client_connection_rate_limit":  p.LoginClientConnectionRateLimit,
		"login_auth_failure_limit":            p.LoginAuthFailureLimit,
	} {
		if n < 0 {
			return &paramError{name, fmt.Errorf("%d: want 0 (no limit) or more", n)}
		}
	}
	for name, d := range map[string]Duration{"login_auth_failure_delay": p.LoginAuthFailureDelay, "login_auth_failure_max_delay": p.LoginAuthFailureMaxDelay} {
		if d < 0 {
			return &paramError{name, fmt.Errorf("%s: must not be negative", d.D())}
		}
	}
	if (p.LoginTLSCertFile == "") != (p.LoginTLSKeyFile == "") {
		return &paramError{"login_tls_key_file", fmt.Errorf("login_tls_cert_file and login_tls_key_file go together")}
	}
	if p.LoginTLSWrapperMode && p.LoginTLSCertFile == "" {
		return &paramError{"login_tls_wrappermode", fmt.Errorf("needs login_tls_cert_file")}
	}
	if p.LoginTimeout <= 0 {
		return &paramError{"login_timeout", fmt.Errorf("%s: must be positive", p.LoginTimeout.D())}
	}
	return nil
}

// checkLoginSessions: an enabled login service of imapd or pop3d (one
// without the "session" argument) hands its clients to the session
// service PROTOCOL-session, which must be enabled too; otherwise nobody
// could log in, and the login process would refuse to start.
func (c *Config) checkLoginSessions() error {
	for _, s := range c.Services {
		var session string
		switch filepath.Base(s.Command) {
		case "imapd":
			session = "imap-session"
		case "pop3d":
			session = "pop3-session"
		default:
			continue
		}
		if !s.Enabled || len(s.Args) > 0 {
			continue
		}
		if ss := c.Service(session); ss == nil || !ss.Enabled {
			return fmt.Errorf("service %s needs the service %s: enable it too ([services.%s] enabled = true)", s.Name, session, session)
		}
	}
	return nil
}

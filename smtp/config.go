package smtp

import (
	"fmt"
	"slices"
	"strings"
	"time"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/esmtp"
)

// Config is what the agent needs from the parameters.
type Config struct {
	HeloName    string         // smtp_helo_name
	Port        int            // smtp_tcp_port: for MX and A lookups without :port
	Concurrency int            // smtp_delivery_concurrency: requests in progress at once
	Timeouts    esmtp.Timeouts // smtp_*_timeout

	TLSLevel    string             // smtp_tls_security_level
	TLSPolicies []config.TLSPolicy // smtp_tls_policy_maps
	CAFile      string             // smtp_tls_CAfile
	MTASTS      bool               // smtp_mta_sts_enable

	CacheTime time.Duration // smtp_connection_cache_time_limit: idle time in the cache
	ReuseTime time.Duration // smtp_connection_reuse_time_limit: age of a connection

	Content Content
	SASL    SASL
}

// SASL says how the agent authenticates to servers (RFC 4954).
type SASL struct {
	PasswordFile string   // smtp_sasl_password_maps; "" when smtp_sasl_auth_enable is off
	Mechanisms   []string // smtp_sasl_mechanism_filter in upper case, in order of preference
	Plaintext    bool     // PLAIN and LOGIN may go over a session without TLS (smtp_sasl_security_options)
}

// Content says how message data is adapted to what a server takes.
type Content struct {
	LineLimit int  // smtp_line_length_limit: longer lines are broken; 0: no limit
	Downgrade bool // not disable_mime_output_conversion: 8-bit MIME to quoted-printable for servers without 8BITMIME
}

// NewConfig converts the parameters, checking those whose syntax the
// parameter table cannot.
func NewConfig(p *config.Params) (Config, error) {
	pol, err := config.ParseTLSPolicies(p.SMTPTLSPolicyMaps)
	if err != nil {
		return Config{}, fmt.Errorf("smtp_tls_policy_maps: %w", err)
	}
	level := p.SMTPTLSSecurityLevel
	if _, ok := tlsModes[level]; !ok {
		return Config{}, fmt.Errorf("smtp_tls_security_level: unknown level %q", level)
	}
	c := Config{
		HeloName: p.SMTPHeloName, Port: p.SMTPTCPPort, Concurrency: max(p.SMTPDeliveryConcurrency, 1),
		Timeouts: esmtp.Timeouts{
			Connect: p.SMTPConnectTimeout.D(), Helo: p.SMTPHeloTimeout.D(), Mail: p.SMTPMailTimeout.D(),
			Rcpt: p.SMTPRcptTimeout.D(), DataInit: p.SMTPDataInitTimeout.D(), DataXfer: p.SMTPDataXferTimeout.D(),
			DataDone: p.SMTPDataDoneTimeout.D(), Quit: p.SMTPQuitTimeout.D(),
		},
		TLSLevel: level, TLSPolicies: pol, CAFile: p.SMTPTLSCAFile, MTASTS: p.SMTPMTASTSEnable,
		CacheTime: p.SMTPConnectionCacheTimeLimit.D(), ReuseTime: p.SMTPConnectionReuseTimeLimit.D(),
		Content: Content{LineLimit: p.SMTPLineLengthLimit, Downgrade: !p.DisableMIMEOutputConversion},
	}
	if p.SMTPSASLAuthEnable {
		if p.SMTPSASLPasswordMaps == "" {
			return Config{}, fmt.Errorf("smtp_sasl_auth_enable: needs smtp_sasl_password_maps")
		}
		c.SASL = newSASL(p)
	}
	if n := c.Content.LineLimit; n < 0 || n > 0 && n < 80 {
		// RFC 5321 §4.5.3.1.6 servers take 998; a limit far below it
		// would break every line of quoted-printable text too.
		return Config{}, fmt.Errorf("smtp_line_length_limit: %d is neither 0 (no limit) nor at least 80", n)
	}
	if c.HeloName == "" {
		c.HeloName = p.MyHostname
	}
	if c.Port <= 0 || c.Port > 65535 {
		return Config{}, fmt.Errorf("smtp_tcp_port: %d is not a port", c.Port)
	}
	return c, nil
}

// newSASL reads the smtp_sasl_* parameters, which config checked.
func newSASL(p *config.Params) SASL {
	s := SASL{PasswordFile: p.SMTPSASLPasswordMaps, Plaintext: true}
	filter := p.SMTPSASLMechanismFilter
	if len(filter) == 0 {
		filter = config.SASLMechanisms
	}
	for _, m := range filter {
		// config refused other names; a caller that did not load
		// the parameters could still pass one.
		if !slices.Contains(config.SASLMechanisms, strings.ToLower(m)) {
			continue
		}
		if m = strings.ToUpper(m); !slices.Contains(s.Mechanisms, m) {
			s.Mechanisms = append(s.Mechanisms, m)
		}
	}
	for _, o := range p.SMTPSASLSecurityOptions {
		// Cyrus SASL's properties, as Postfix passes them on: PLAIN and
		// LOGIN send the password as it is, once, with nothing that
		// authenticates the server, so each of these rules them out.
		switch strings.ToLower(o) {
		case "noplaintext", "noactive", "nodictionary", "mutual_auth":
			s.Plaintext = false
		}
	}
	return s
}

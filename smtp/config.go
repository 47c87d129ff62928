package smtp

import (
	"fmt"
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

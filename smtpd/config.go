package smtpd

import (
	"crypto/tls"
	"fmt"
	"net/netip"
	"time"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/dkim"
)

// Config is what smtpd needs from the parameters, checked and converted.
// Its fields are named for smtpd's reading; each says the parameter it
// holds.
type Config struct {
	Service     string         // the row of the service table served, for log lines; "smtp" by default
	Hostname    string         // myhostname
	MailName    string         // mail_name
	Networks    []netip.Prefix // mynetworks
	SizeLimit   int64          // message_size_limit
	HeaderLimit int            // header_size_limit: the rest of a longer header is body
	// AlwaysAddMissing adds Date: and Message-ID: to messages that lack
	// them from any client, not only from authenticated ones
	// (always_add_missing_headers).
	AlwaysAddMissing bool
	RcptLimit        int           // smtpd_recipient_limit
	Timeout          time.Duration // smtpd_timeout
	HardErrorLimit   int           // smtpd_hard_error_limit
	// Under stress (connections at ProcessConnLimit) these replace
	// Timeout and HardErrorLimit: smtpd_stress_timeout,
	// smtpd_stress_hard_error_limit.
	StressTimeout        time.Duration
	StressHardErrorLimit int
	ClientConnLimit      int         // smtpd_client_connection_count_limit: per client address, 0: none
	ProcessConnLimit     int         // smtpd_process_connection_limit
	LineLimit            int         // smtpd_line_length_limit
	TLS                  *tls.Config // smtpd_tls_cert_file and _key_file; nil: no TLS
	RequireTLS           bool        // smtpd_tls_security_level = encrypt
	WrapperMode          bool        // smtpd_tls_wrappermode: implicit TLS (port 465)
	Auth                 bool        // smtpd_sasl_auth_enable
	AuthTLSOnly          bool        // smtpd_tls_auth_only
	AuthRequired         bool        // smtpd_sasl_auth_required: no MAIL before AUTH
	SenderLoginCheck     bool        // smtpd_sender_login_check: authenticated senders use only addresses they own
	PeernameLookup       bool        // smtpd_peername_lookup
	SMTPUTF8             bool        // smtputf8_enable
	Limits               Limits      // the client limits (limits.go)
	// SenderAuthentication checks SPF, DKIM and DMARC of unauthenticated
	// clients outside mynetworks (smtpd_sender_authentication), writing
	// Authentication-Results: as AuthServID (authentication_results_id)
	// and acting on failed DMARC policies as DMARCRejectAction and
	// DMARCQuarantineAction say (dmarc_reject_action,
	// dmarc_quarantine_action).
	SenderAuthentication                     bool
	AuthServID                               string
	DMARCRejectAction, DMARCQuarantineAction string
	// FirstLocalDomain completes RCPT TO:<postmaster>, which RFC 5321
	// §4.5.1 requires without a domain (the first of mydestination).
	FirstLocalDomain string
	// DKIM signs the mail of authenticated clients and of clients in
	// Networks (dkim_signing_keys); nil: no keys.
	DKIM *dkim.Keys
}

// NewConfig converts parameters, loading the certificate if there is one.
func NewConfig(p *config.Params) (Config, error) {
	nets, err := config.ParseNetworks(p.MyNetworks)
	if err != nil {
		return Config{}, fmt.Errorf("mynetworks: %w", err)
	}
	c := Config{
		Hostname: p.MyHostname, MailName: p.MailName, Networks: nets,
		SizeLimit: p.MessageSizeLimit, HeaderLimit: p.HeaderSizeLimit, RcptLimit: p.SMTPDRecipientLimit, Timeout: p.SMTPDTimeout.D(),
		HardErrorLimit: p.SMTPDHardErrorLimit, StressTimeout: p.SMTPDStressTimeout.D(), StressHardErrorLimit: p.SMTPDStressHardErrorLimit,
		ClientConnLimit: p.SMTPDClientConnectionCountLimit, ProcessConnLimit: p.SMTPDProcessConnectionLimit, LineLimit: p.SMTPDLineLengthLimit,
		WrapperMode: p.SMTPDTLSWrapperMode, Auth: p.SMTPDSASLAuthEnable, AuthTLSOnly: p.SMTPDTLSAuthOnly,
		AuthRequired: p.SMTPDSASLAuthRequired, SenderLoginCheck: p.SMTPDSenderLoginCheck,
		SenderAuthentication: p.SMTPDSenderAuthentication, AuthServID: p.AuthenticationResultsID,
		DMARCRejectAction: p.DMARCRejectAction, DMARCQuarantineAction: p.DMARCQuarantineAction,
		PeernameLookup: p.SMTPDPeernameLookup, SMTPUTF8: p.SMTPUTF8Enable, AlwaysAddMissing: p.AlwaysAddMissingHeaders,
	}
	if len(p.MyDestination) > 0 {
		c.FirstLocalDomain = p.MyDestination[0]
	}
	c.Service = "smtp"
	exc, err := config.ParseNetworks(p.SMTPDClientEventLimitExceptions)
	if err != nil {
		return Config{}, fmt.Errorf("smtpd_client_event_limit_exceptions: %w", err)
	}
	c.Limits = Limits{Exceptions: exc, ConnRate: p.SMTPDClientConnectionRateLimit,
		MessageRate: p.SMTPDClientMessageRateLimit, RcptRate: p.SMTPDClientRecipientRateLimit, AuthRate: p.SMTPDClientAuthRateLimit,
		UserMessageRate: p.SMTPDUserMessageRateLimit, UserRcptRate: p.SMTPDUserRecipientRateLimit,
		AuthFailures: p.SMTPDAuthFailureLimit, AuthDelay: p.SMTPDAuthFailureDelay.D(), AuthMaxDelay: p.SMTPDAuthFailureMaxDelay.D()}
	if c.DKIM, err = dkim.LoadConfigured(p.DKIMSigningKeys); err != nil {
		return Config{}, err
	}
	if p.SMTPDTLSCertFile != "" && p.SMTPDTLSSecurityLevel != "none" {
		cert, err := tls.LoadX509KeyPair(p.SMTPDTLSCertFile, p.SMTPDTLSKeyFile)
		if err != nil {
			return Config{}, fmt.Errorf("smtpd_tls_cert_file: %w", err)
		}
		c.TLS = &tls.Config{
			Certificates: []tls.Certificate{cert},
			MinVersion:   tls.VersionTLS12,
			// Session tickets would let a ticket key compromise decrypt
			// recorded sessions; SMTP sessions are short and rarely resumed.
			SessionTicketsDisabled: true,
		}
		c.RequireTLS = p.SMTPDTLSSecurityLevel == "encrypt"
	} else if p.SMTPDTLSSecurityLevel == "encrypt" || p.SMTPDTLSWrapperMode {
		return Config{}, fmt.Errorf("TLS is required by the configuration but no certificate is set (smtpd_tls_cert_file)")
	}
	return c, nil
}

// trusted reports whether a client address is in mynetworks.
func (c *Config) trusted(a netip.Addr) bool {
	a = a.Unmap()
	for _, n := range c.Networks {
		if n.Contains(a) {
			return true
		}
	}
	return false
}

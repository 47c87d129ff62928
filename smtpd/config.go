package smtpd

import (
	"crypto/tls"
	"fmt"
	"net/netip"
	"time"

	"postern.dev/postern/libmail/config"
)

// Config is what smtpd needs from the parameters, checked and converted.
type Config struct {
	Hostname    string
	MailName    string
	Networks    []netip.Prefix
	SizeLimit   int64
	HeaderLimit int // header_size_limit: the rest of a longer header is body
	// AlwaysAddMissing adds Date: and Message-ID: to messages that lack
	// them from any client, not only from authenticated ones
	// (always_add_missing_headers).
	AlwaysAddMissing bool
	RcptLimit        int
	Timeout          time.Duration
	HardErrorLimit   int
	// Under stress (connections at ProcessConnLimit) these replace
	// Timeout and HardErrorLimit.
	StressTimeout        time.Duration
	StressHardErrorLimit int
	ClientConnLimit      int // per client address, 0: none
	ProcessConnLimit     int
	LineLimit            int
	TLS                  *tls.Config // nil: no TLS
	RequireTLS           bool        // smtpd_tls_security_level = encrypt
	WrapperMode          bool        // implicit TLS (port 465)
	Auth                 bool
	AuthTLSOnly          bool
	PeernameLookup       bool
	SMTPUTF8             bool
	// FirstLocalDomain completes RCPT TO:<postmaster>, which RFC 5321
	// §4.5.1 requires without a domain.
	FirstLocalDomain string
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
		HardErrorLimit: p.SMTPDHardErrorLimit, StressTimeout: p.SMTPDStressTimeout.D(), StressHardErrorLimit: p.SMTPDStressErrorLimit,
		ClientConnLimit: p.SMTPDConnCountLimit, ProcessConnLimit: p.SMTPDProcessConnLimit, LineLimit: p.SMTPDLineLimit,
		WrapperMode: p.SMTPDTLSWrapperMode, Auth: p.SMTPDAuthEnable, AuthTLSOnly: p.SMTPDTLSAuthOnly,
		PeernameLookup: p.SMTPDPeernameLookup, SMTPUTF8: p.SMTPUTF8Enable, AlwaysAddMissing: p.AlwaysAddMissingHeaders,
	}
	if len(p.MyDestination) > 0 {
		c.FirstLocalDomain = p.MyDestination[0]
	}
	if p.SMTPDTLSCertFile != "" && p.SMTPDTLSSecLevel != "none" {
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
		c.RequireTLS = p.SMTPDTLSSecLevel == "encrypt"
	} else if p.SMTPDTLSSecLevel == "encrypt" || p.SMTPDTLSWrapperMode {
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

package config

import (
	"fmt"
	"net/netip"
	"path/filepath"
	"strings"

	"postern.dev/postern/libmail/authres"
)

// validate checks values that decode but make no sense, so that a daemon
// never starts with them and `postern config check` can say which is wrong.
func (p *Params) validate() error {
	if _, err := ParseNetworks(p.MyNetworks); err != nil {
		return &paramError{"mynetworks", err}
	}
	if err := authres.CheckID(p.AuthenticationResultsID); err != nil {
		return &paramError{"authentication_results_id", err}
	}
	for name, v := range map[string]string{"dmarc_reject_action": p.DMARCRejectAction, "dmarc_quarantine_action": p.DMARCQuarantineAction} {
		if !oneOf(v, DMARCActions) {
			return &paramError{name, fmt.Errorf("%q: want reject, quarantine or none", v)}
		}
	}
	if err := p.validateLimits(); err != nil {
		return err
	}
	if err := p.validateLogin(); err != nil {
		return err
	}
	if err := p.validatePostscreen(); err != nil {
		return err
	}
	switch p.SMTPDTLSSecurityLevel {
	case "may", "encrypt", "none":
	default:
		return &paramError{"smtpd_tls_security_level", fmt.Errorf("%q: want may, encrypt or none", p.SMTPDTLSSecurityLevel)}
	}
	switch p.SyncMethod {
	case "fsync", "syncfs", "none":
	default:
		return &paramError{"sync_method", fmt.Errorf("%q: want fsync, syncfs or none", p.SyncMethod)}
	}
	if !oneOf(p.SMTPTLSSecurityLevel, TLSLevels) {
		return &paramError{"smtp_tls_security_level", fmt.Errorf("%q: want one of %s", p.SMTPTLSSecurityLevel, strings.Join(TLSLevels, ", "))}
	}
	if _, err := ParseTLSPolicies(p.SMTPTLSPolicyMaps); err != nil {
		return &paramError{"smtp_tls_policy_maps", err}
	}
	if _, err := ParseTransportMaps(p.TransportMaps); err != nil {
		return &paramError{"transport_maps", err}
	}
	if _, err := ParseDKIMSigningKeys(p.DKIMSigningKeys); err != nil {
		return &paramError{"dkim_signing_keys", err}
	}
	if _, err := ParseDNSServers(p.DNSServers); err != nil {
		return &paramError{"dns_servers", err}
	}
	if p.RelayHost != "" {
		if _, _, err := SplitNexthop(p.RelayHost); err != nil {
			return &paramError{"relayhost", err}
		}
	}
	if err := validateSMTPSASL(p); err != nil {
		return err
	}
	if err := validateMetrics(p); err != nil {
		return err
	}
	if (p.SMTPDTLSCertFile == "") != (p.SMTPDTLSKeyFile == "") {
		return &paramError{"smtpd_tls_key_file", fmt.Errorf("smtpd_tls_cert_file and smtpd_tls_key_file go together")}
	}
	if p.SMTPDSASLAuthRequired && !p.SMTPDSASLAuthEnable {
		// No client could ever send mail.
		return &paramError{"smtpd_sasl_auth_required", fmt.Errorf("needs smtpd_sasl_auth_enable")}
	}
	for _, f := range p.SMTPDSenderLoginMaps {
		if !filepath.IsAbs(f) {
			return &paramError{"smtpd_sender_login_maps", fmt.Errorf("%q is not an absolute path", f)}
		}
	}
	if p.SMTPDTLSWrapperMode && p.SMTPDTLSCertFile == "" {
		return &paramError{"smtpd_tls_wrappermode", fmt.Errorf("needs smtpd_tls_cert_file")}
	}
	for name, list := range map[string][]string{"allow_mail_to_commands": p.AllowMailToCommands, "allow_mail_to_files": p.AllowMailToFiles} {
		for _, v := range list {
			if v != "alias" && v != "forward" && v != "include" {
				return &paramError{name, fmt.Errorf("%q: want alias, forward or include", v)}
			}
		}
	}
	if !strings.HasSuffix(p.HomeMailbox, "/") {
		return &paramError{"home_mailbox", fmt.Errorf("%q: only Maildir delivery is supported, so it must end in /", p.HomeMailbox)}
	}
	for name, dir := range map[string]string{"queue_directory": p.QueueDirectory, "daemon_directory": p.DaemonDirectory} {
		if !filepath.IsAbs(dir) {
			return &paramError{name, fmt.Errorf("%q is not an absolute path", dir)}
		}
	}
	if p.MailboxQuota < 0 {
		return &paramError{"mailbox_quota", fmt.Errorf("%d: must not be negative", p.MailboxQuota)}
	}
	for name, n := range map[string]int64{"message_size_limit": p.MessageSizeLimit, "smtpd_recipient_limit": int64(p.SMTPDRecipientLimit),
		"smtpd_process_connection_limit": int64(p.SMTPDProcessConnectionLimit), "qmgr_message_active_limit": int64(p.QmgrMessageActiveLimit),
		"local_delivery_concurrency":      int64(p.LocalDeliveryConcurrency),
		"initial_destination_concurrency": int64(p.InitialDestinationConcurrency), "default_destination_concurrency_limit": int64(p.DefaultDestinationConcurrencyLimit),
		"default_destination_recipient_limit": int64(p.DefaultDestinationRecipientLimit), "default_destination_concurrency_failed_cohort_limit": int64(p.DefaultDestinationConcurrencyFailedCohortLimit),
		"smtp_delivery_concurrency": int64(p.SMTPDeliveryConcurrency), "smtp_tcp_port": int64(p.SMTPTCPPort), "smtpd_line_length_limit": int64(p.SMTPDLineLengthLimit),
		"header_size_limit": int64(p.HeaderSizeLimit), "smtpd_hard_error_limit": int64(p.SMTPDHardErrorLimit),
		"smtpd_stress_hard_error_limit": int64(p.SMTPDStressHardErrorLimit), "smtpd_stress_timeout": int64(p.SMTPDStressTimeout)} {
		if n <= 0 {
			return &paramError{name, fmt.Errorf("%d: must be positive", n)}
		}
	}
	if p.SMTPDLineLengthLimit > 16382 {
		// smtpd reads command lines into a 16 KiB buffer.
		return &paramError{"smtpd_line_length_limit", fmt.Errorf("%d: at most 16382", p.SMTPDLineLengthLimit)}
	}
	if p.MinimalBackoffTime > p.MaximalBackoffTime {
		return &paramError{"minimal_backoff_time", fmt.Errorf("is larger than maximal_backoff_time")}
	}
	if p.MailOwner == "" || p.MailOwner == "root" {
		return &paramError{"mail_owner", fmt.Errorf("%q: must be an unprivileged user", p.MailOwner)}
	}
	if p.VmailUser == "" || p.VmailUser == "root" {
		return &paramError{"vmail_user", fmt.Errorf("%q: must be an unprivileged user", p.VmailUser)}
	}
	return nil
}

// ParseNetworks parses mynetworks-style entries: CIDR prefixes or single
// addresses, IPv6 ones optionally in Postfix's [addr]/len form.
func ParseNetworks(list []string) ([]netip.Prefix, error) {
	var out []netip.Prefix
	for _, s := range list {
		s = strings.Replace(strings.Replace(s, "[", "", 1), "]", "", 1)
		if !strings.Contains(s, "/") {
			a, err := netip.ParseAddr(s)
			if err != nil {
				return nil, fmt.Errorf("%q is not an address or network", s)
			}
			out = append(out, netip.PrefixFrom(a, a.BitLen()))
			continue
		}
		pfx, err := netip.ParsePrefix(s)
		if err != nil {
			return nil, fmt.Errorf("%q is not a network: %w", s, err)
		}
		out = append(out, pfx.Masked())
	}
	return out, nil
}

package config

import "fmt"

// validateLimits checks the client limits (Limits and
// smtpd_client_connection_count_limit): a count is 0 (no limit) or
// positive, the time unit is positive, and the exceptions parse.
func (p *Params) validateLimits() error {
	if _, err := ParseNetworks(p.SMTPDClientEventLimitExceptions); err != nil {
		return &paramError{"smtpd_client_event_limit_exceptions", err}
	}
	if p.AnvilRateTimeUnit <= 0 {
		return &paramError{"anvil_rate_time_unit", fmt.Errorf("%s: must be positive", p.AnvilRateTimeUnit.D())}
	}
	for name, n := range map[string]int{
		"smtpd_client_connection_count_limit": p.SMTPDClientConnectionCountLimit,
		"smtpd_client_connection_rate_limit":  p.SMTPDClientConnectionRateLimit,
		"smtpd_client_message_rate_limit":     p.SMTPDClientMessageRateLimit,
		"smtpd_client_recipient_rate_limit":   p.SMTPDClientRecipientRateLimit,
		"smtpd_client_auth_rate_limit":        p.SMTPDClientAuthRateLimit,
		"smtpd_user_message_rate_limit":       p.SMTPDUserMessageRateLimit,
		"smtpd_user_recipient_rate_limit":     p.SMTPDUserRecipientRateLimit,
		"smtpd_auth_failure_limit":            p.SMTPDAuthFailureLimit,
	} {
		if n < 0 {
			return &paramError{name, fmt.Errorf("%d: want 0 (no limit) or more", n)}
		}
	}
	for name, d := range map[string]Duration{"smtpd_auth_failure_delay": p.SMTPDAuthFailureDelay, "smtpd_auth_failure_max_delay": p.SMTPDAuthFailureMaxDelay} {
		if d < 0 {
			return &paramError{name, fmt.Errorf("%s: must not be negative", d.D())}
		}
	}
	return nil
}

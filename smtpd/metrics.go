package smtpd

import (
	"crypto/tls"
	"strings"

	"postern.dev/postern/libmail/intake"
	"postern.dev/postern/libmail/metrics"
)

// UseMetrics makes the server count connections, TLS sessions, messages
// received and refusals in set (the master's /metrics).
func (s *Server) UseMetrics(set *metrics.Set) { s.metrics = set }

// countTLS counts a TLS session by how it began and its version.
func (c *conn) countTLS(st *tls.ConnectionState) {
	mode := "starttls"
	if c.srv.cfg.WrapperMode {
		mode = "wrapper"
	}
	c.srv.metrics.Inc(metrics.TLS, c.srv.cfg.Service, mode, intake.TLSVersion(st.Version))
}

// rejectClass names what refused a command, for the rejected counter's
// class label: from the reply, since every refusal has its own words
// and enhanced code, and logReject, the one place that logs refusals,
// is the one place that counts them too (so the counter and pflogsumm's
// "rejected" agree).
func rejectClass(cmd string, r *Reply) string {
	t, e := r.Text, r.Enhanced
	switch {
	case strings.Contains(t, "Relay access denied"):
		return "relay"
	case strings.HasPrefix(t, "Message rejected:"):
		return "dmarc"
	case strings.Contains(t, "Recipient address rejected"), cmd == "RCPT" && strings.HasPrefix(e, "5.1."):
		return "recipient"
	case strings.Contains(t, "Sender address rejected"), strings.Contains(t, "not owned by user"),
		strings.HasPrefix(t, "From: header"), e == "5.1.7":
		return "sender"
	case e == "4.7.0", e == "4.7.1", e == "4.5.3":
		return "limit"
	case e == "5.7.0":
		return "auth"
	case e == "5.3.4":
		return "size"
	case strings.HasPrefix(e, "5.5."), strings.HasPrefix(e, "5.6."):
		return "protocol"
	case r.Code/100 == 4:
		return "temporary"
	case cmd == "DATA", cmd == "END-OF-MESSAGE":
		return "data"
	}
	return "other"
}

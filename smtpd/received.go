package smtpd

import (
	"crypto/tls"
	"io"
	"net/netip"
	"strings"
	"time"

	"postern.dev/postern/libmail/address"
	"postern.dev/postern/libmail/message"
)

// writeReceived prepends the trace field (RFC 5321 §4.4), in Postfix's
// layout so that tools reading Received: chains recognize it:
//
//	Received: from helo (name [addr])
//		(using TLSv1.3 with cipher TLS_AES_128_GCM_SHA256)
//		by myhostname (postern) with ESMTPS id ID
//		for <rcpt>; Mon, 23 Nov 2026 14:32:01 +0000
func (c *conn) writeReceived(w io.Writer, now time.Time) {
	var b strings.Builder
	b.Grow(256)
	b.WriteString("Received: from ")
	b.WriteString(sanitize(c.helo))
	b.WriteString(" (")
	b.WriteString(c.client.name)
	b.WriteString(" [")
	if a, err := netip.ParseAddr(c.client.host); err == nil && a.Is6() && !a.Is4In6() {
		b.WriteString("IPv6:")
	}
	b.WriteString(c.client.host)
	b.WriteString("])\r\n")
	if st := c.tlsState; st != nil {
		b.WriteString("\t(using ")
		b.WriteString(versionName(st.Version))
		b.WriteString(" with cipher ")
		b.WriteString(tls.CipherSuiteName(st.CipherSuite))
		b.WriteString(")\r\n")
	}
	b.WriteString("\tby ")
	b.WriteString(c.srv.cfg.Hostname)
	b.WriteString(" (")
	b.WriteString(c.srv.cfg.MailName)
	b.WriteString(") with ")
	b.WriteString(c.withProtocol())
	b.WriteString(" id ")
	b.WriteString(string(c.tx.id))
	if len(c.tx.rcpts) == 1 {
		// Only a single recipient is named: listing several would tell each
		// of them who else got the message.
		b.WriteString("\r\n\tfor <")
		b.WriteString(address.Quote(c.tx.rcpts[0].Addr))
		b.WriteString(">")
	}
	b.WriteString("; ")
	b.WriteString(message.Date(now))
	b.WriteString("\r\n")
	io.WriteString(w, b.String())
}

// withProtocol is the WITH keyword of the Received: line, from the IANA
// mail transmission types: the session's protocol (RFC 3848: ESMTP,
// ESMTPS, ESMTPA, ESMTPSA), or for a transaction that used SMTPUTF8 its
// RFC 6531 §3.7.3 form (UTF8SMTP, UTF8SMTPS, UTF8SMTPA, UTF8SMTPSA). Logs
// and the envelope keep the session's protocol, as Postfix's proto= does.
func (c *conn) withProtocol() string {
	p := c.proto()
	if c.tx == nil || !c.tx.params.utf8 {
		return p
	}
	// SMTPUTF8 is an ESMTP parameter, so "SMTP" (HELO) cannot carry it;
	// either way the name is UTF8SMTP with the session's S and A.
	return "UTF8SMTP" + strings.TrimPrefix(strings.TrimPrefix(p, "E"), "SMTP")
}

// sanitize keeps a client-chosen HELO name from breaking the header: it
// may contain anything go-smtp accepted, but not parentheses or line
// breaks in a comment position.
func sanitize(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r == '(' || r == ')' {
			return '?'
		}
		return r
	}, s)
}

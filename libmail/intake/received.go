package intake

import (
	"crypto/tls"
	"net/netip"
	"strconv"
	"strings"

	"postern.dev/postern/libmail/address"
	"postern.dev/postern/libmail/message"
	"postern.dev/postern/libmail/queue"
)

// appendReceived appends the trace field (RFC 5321 §4.4) in Postfix's
// layout, so that tools reading Received: chains recognize it. From a
// network client:
//
//	Received: from helo (name [addr])
//		(using TLSv1.3 with cipher TLS_AES_128_GCM_SHA256)
//		by myhostname (postern) with ESMTPS id ID
//		for <rcpt>; Mon, 23 Nov 2026 14:32:01 +0000
//
// and for a local submission (no client address), as Postfix's pickup:
//
//	Received: by myhostname (postern, from userid 1000)
//		id ID; Mon, 23 Nov 2026 14:32:01 +0000
//
// Only a single recipient is named: listing several would tell each of
// them who else got the message.
func appendReceived(b []byte, cfg *Config, env *queue.Envelope, id queue.ID, src *Source) []byte {
	b = append(b, "Received: "...)
	if env.ClientAddr == "" {
		b = append(b, "by "...)
		b = append(b, cfg.Hostname...)
		b = append(b, " ("...)
		b = append(b, cfg.MailName...)
		b = append(b, ", from userid "...)
		b = strconv.AppendInt(b, int64(src.UID), 10)
		b = append(b, ")\r\n\tid "...)
		b = append(b, id...)
	} else {
		b = append(b, "from "...)
		b = appendClean(b, env.Helo, true)
		b = append(b, " ("...)
		b = appendClean(b, env.ClientName, true)
		b = append(b, " ["...)
		if a, err := netip.ParseAddr(env.ClientAddr); err == nil && a.Is6() && !a.Is4In6() {
			b = append(b, "IPv6:"...)
		}
		b = appendClean(b, env.ClientAddr, true)
		b = append(b, "])\r\n"...)
		if st := src.TLS; st != nil {
			b = append(b, "\t(using "...)
			b = append(b, TLSVersion(st.Version)...)
			b = append(b, " with cipher "...)
			b = append(b, tls.CipherSuiteName(st.CipherSuite)...)
			b = append(b, ")\r\n"...)
		}
		b = append(b, "\tby "...)
		b = append(b, cfg.Hostname...)
		b = append(b, " ("...)
		b = append(b, cfg.MailName...)
		b = append(b, ") with "...)
		b = append(b, With(env.Proto, env.SMTPUTF8)...)
		b = append(b, " id "...)
		b = append(b, id...)
		if len(env.Recipients) == 1 {
			b = append(b, "\r\n\tfor <"...)
			b = appendClean(b, address.Quote(env.Recipients[0].Addr), false)
			b = append(b, '>')
		}
	}
	b = append(b, "; "...)
	b = message.AppendDate(b, env.Arrival)
	return append(b, "\r\n"...)
}

// With is the WITH keyword of a Received: field, from the IANA mail
// transmission types: the session's protocol (SMTP, ESMTP, and RFC
// 3848's ESMTPS, ESMTPA, ESMTPSA), or for a transaction that used
// SMTPUTF8 its RFC 6531 §3.7.3 form (UTF8SMTP, UTF8SMTPS, UTF8SMTPA,
// UTF8SMTPSA). Logs and the envelope keep the session's protocol, as
// Postfix's proto= does.
func With(proto string, utf8 bool) string {
	if proto == "" {
		proto = "SMTP"
	}
	if !utf8 {
		return proto
	}
	// SMTPUTF8 is an ESMTP parameter, so "SMTP" (HELO) cannot carry it;
	// either way the name is UTF8SMTP with the session's S and A.
	return "UTF8SMTP" + strings.TrimPrefix(strings.TrimPrefix(proto, "E"), "SMTP")
}

// TLSVersion names a TLS version as OpenSSL, and so Postfix, does in
// Received: fields and logs ("TLSv1.3" rather than Go's "TLS 1.3"), the
// form log tools and people grepping for it expect.
func TLSVersion(v uint16) string {
	return strings.Replace(tls.VersionName(v), "TLS ", "TLSv", 1)
}

// appendClean appends s so that it cannot break the field: control
// characters become '?', and in a comment (the HELO name, the client's
// name and address) so do parentheses. The name a client gives in HELO
// may hold anything the protocol layer accepted.
func appendClean(b []byte, s string, comment bool) []byte {
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' || c == 0x7f || comment && (c == '(' || c == ')') {
			c = '?'
		}
		b = append(b, c)
	}
	return b
}

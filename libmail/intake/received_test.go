package intake

import (
	"crypto/tls"
	"testing"

	"postern.dev/postern/libmail/queue"
)

// TestWith: the Received: line names the protocol in the terms of the
// IANA mail transmission types: RFC 3848 for ESMTP, ESMTPS, ESMTPA,
// ESMTPSA, and RFC 6531 §3.7.3 for a transaction that used SMTPUTF8,
// UTF8SMTP and its S, A and SA forms.
func TestWith(t *testing.T) {
	for _, c := range []struct {
		proto string
		utf8  bool
		want  string
	}{
		{"SMTP", false, "SMTP"},
		{"ESMTP", false, "ESMTP"},
		{"ESMTPS", false, "ESMTPS"},
		{"ESMTPA", false, "ESMTPA"},
		{"ESMTPSA", false, "ESMTPSA"},
		{"ESMTP", true, "UTF8SMTP"},
		{"ESMTPS", true, "UTF8SMTPS"},
		{"ESMTPA", true, "UTF8SMTPA"},
		{"ESMTPSA", true, "UTF8SMTPSA"},
		{"", false, "SMTP"},
	} {
		if got := With(c.proto, c.utf8); got != c.want {
			t.Errorf("With(%q, %v) = %q, want %q", c.proto, c.utf8, got, c.want)
		}
	}
}

// TestReceived: the field's layout, Postfix's, for the cases that change
// it: TLS, an IPv6 client, one recipient or several, SMTPUTF8, a HELO
// name that would break it, and a local submission.
func TestReceived(t *testing.T) {
	const date = "Mon, 23 Nov 2026 14:32:01 +0000"
	two := []queue.Recipient{{Addr: "a@example.test"}, {Addr: "b@example.test"}}
	for _, c := range []struct {
		name string
		env  func(*queue.Envelope)
		src  Source
		want string
	}{
		{"plain", func(*queue.Envelope) {}, Source{},
			"Received: from client.example (client.example [192.0.2.7])\r\n\tby mail.example.test (postern) with ESMTP id 1J2ABCDEFGHIJKLM\r\n\tfor <demo@example.test>; " + date + "\r\n"},
		{"tls, authenticated, utf8, two recipients", func(e *queue.Envelope) { e.Proto, e.SMTPUTF8, e.Recipients = "ESMTPSA", true, two },
			Source{TLS: &tls.ConnectionState{Version: tls.VersionTLS13, CipherSuite: tls.TLS_AES_128_GCM_SHA256}},
			"Received: from client.example (client.example [192.0.2.7])\r\n\t(using TLSv1.3 with cipher TLS_AES_128_GCM_SHA256)\r\n\tby mail.example.test (postern) with UTF8SMTPSA id 1J2ABCDEFGHIJKLM; " + date + "\r\n"},
		{"ipv6, unknown, bad helo", func(e *queue.Envelope) {
			e.ClientAddr, e.ClientName, e.Helo = "2001:db8::7", "unknown", "evil (x)\r\nX-Injected: 1"
		}, Source{},
			"Received: from evil ?x???X-Injected: 1 (unknown [IPv6:2001:db8::7])\r\n\tby mail.example.test (postern) with ESMTP id 1J2ABCDEFGHIJKLM\r\n\tfor <demo@example.test>; " + date + "\r\n"},
		{"quoted recipient", func(e *queue.Envelope) { e.Recipients = []queue.Recipient{{Addr: "john doe@example.test"}} }, Source{},
			"Received: from client.example (client.example [192.0.2.7])\r\n\tby mail.example.test (postern) with ESMTP id 1J2ABCDEFGHIJKLM\r\n\tfor <\"john doe\"@example.test>; " + date + "\r\n"},
		{"local", func(e *queue.Envelope) { e.ClientAddr, e.ClientName, e.Helo, e.Proto = "", "localhost", "", "local" }, Source{UID: 1000},
			"Received: by mail.example.test (postern, from userid 1000)\r\n\tid 1J2ABCDEFGHIJKLM; " + date + "\r\n"},
	} {
		env := testEnvelope()
		c.env(env)
		m := &memEntry{}
		newWriter(m, testID, env, testConfig(102400), &c.src)
		if got := m.msg.String(); got != c.want {
			t.Errorf("%s:\n got %q\nwant %q", c.name, got, c.want)
		}
	}
}

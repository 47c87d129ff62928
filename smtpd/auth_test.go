package smtpd

import (
	"strings"
	"testing"
)

// TestAuthFailuresLogged: every failed exchange but an abort is logged
// the way Postfix logs it, so that fail2ban counts a client sending
// malformed PLAIN messages or bad base64 as it counts wrong passwords.
func TestAuthFailuresLogged(t *testing.T) {
	srv, _ := testServer(t, "smtpd_sasl_auth_enable = true\nsmtpd_tls_auth_only = false\n")
	log := captureLog(t, srv)
	d := dial(t, serveTest(t, srv))
	d.send("EHLO x\r\n")
	d.expect("250-")
	for _, step := range []struct{ send, reply, logged string }{
		{"AUTH PLAIN =\r\n", "535 5.7.8 ", "SASL PLAIN authentication failed: malformed response: 1 NUL-separated fields, not 3"},
		{"AUTH LOGIN !!\r\n", "501 5.5.2 ", "SASL LOGIN authentication failed: response is not base64"},
		{"AUTH PLAIN AGRlbW9AZXhhbXBsZS50ZXN0AHdyb25n\r\n", "535 5.7.8 ", "SASL PLAIN authentication failed: authentication failure, sasl_username=demo@example.test"},
	} {
		d.send(step.send)
		d.expect(step.reply)
		if want := "warning: localhost[127.0.0.1]: " + step.logged; !strings.Contains(log.String(), want) {
			t.Errorf("after %q the log lacks %q", step.send, want)
		}
	}
	d.send("AUTH LOGIN\r\n*\r\n")
	d.expect("334 ")
	d.expect("501 5.7.0 ")
	if n := strings.Count(log.String(), "authentication failed"); n != 3 {
		t.Errorf("%d failures logged, want 3 (an abort is not one)", n)
	}
}

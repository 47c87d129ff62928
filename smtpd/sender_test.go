package smtpd

import (
	"errors"
	"strings"
	"testing"
)

// failingOwners is a directory whose sender login maps cannot be read.
type failingOwners struct{ Directory }

func (failingOwners) OwnsSender(login, addr string) (bool, error) {
	return false, errors.New("senders: permission denied")
}

// TestSenderCheckLookupFailure: when the files that say who owns an
// address cannot be read, MAIL FROM and From: get 451 4.3.0 (try
// again), never 553, and the reason is logged.
func TestSenderCheckLookupFailure(t *testing.T) {
	srv, spool := testServer(t, "smtpd_sasl_auth_enable = true\nsmtpd_tls_auth_only = false\n")
	srv.dir = failingOwners{srv.dir}
	log := captureLog(t, srv)
	d := dial(t, serveTest(t, srv))
	d.send("EHLO client.example\r\nAUTH PLAIN AGRlbW9AZXhhbXBsZS50ZXN0AGRlbW8=\r\n")
	d.expect("250-")
	d.expect("235 ")
	d.send("MAIL FROM:<other@example.test>\r\n")
	d.expect("451 4.3.0 <other@example.test>: Sender address rejected: Temporary lookup failure")
	if !strings.Contains(log.String(), "sender login check of <other@example.test> for demo@example.test: senders: permission denied") {
		t.Errorf("the failure is not logged:\n%s", log)
	}
	// The null sender needs no lookup; From: does.
	d.send("MAIL FROM:<>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\n")
	d.expect("250 ")
	d.expect("250 ")
	d.expect("354 ")
	d.send("From: other@example.test\r\n\r\nhi\r\n.\r\n")
	d.expect("451 4.3.0 <other@example.test>: From: header address rejected: Temporary lookup failure")
	if n := len(queuedMessages(t, spool)); n != 0 {
		t.Errorf("%d messages queued", n)
	}
}

// TestSenderLoginCheckOff: smtpd_sender_login_check = false lets an
// authenticated client use any sender, as before the check existed.
func TestSenderLoginCheckOff(t *testing.T) {
	srv, spool := testServer(t, "smtpd_sasl_auth_enable = true\nsmtpd_tls_auth_only = false\nsmtpd_sender_login_check = false\n")
	d := dial(t, serveTest(t, srv))
	d.send("EHLO client.example\r\nAUTH PLAIN AGRlbW9AZXhhbXBsZS50ZXN0AGRlbW8=\r\n")
	d.expect("250-")
	d.expect("235 ")
	d.send("MAIL FROM:<someone@example.org>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\n")
	d.expect("250 ")
	d.expect("250 ")
	d.expect("354 ")
	d.send("From: someone@example.org\r\n\r\nhi\r\n.\r\n")
	d.expect("250 2.0.0 Ok: queued as ")
	if n := len(queuedMessages(t, spool)); n != 1 {
		t.Errorf("%d messages queued, want 1", n)
	}
}

package smtpd

import "testing"

// TestRejectClass: each refusal smtpd logs gets the class its check
// names.
func TestRejectClass(t *testing.T) {
	for _, tc := range []struct {
		cmd  string
		r    *Reply
		want string
	}{
		{"RCPT", reply(554, "5.7.1", "<a@b.test>: Relay access denied"), "relay"},
		{"RCPT", reply(550, "5.1.1", "<a@b.test>: Recipient address rejected: User unknown in local recipient table"), "recipient"},
		{"RCPT", reply(501, "5.1.3", "<a@>: Bad recipient address syntax"), "recipient"},
		{"RCPT", reply(451, "4.3.0", "<a@b.test>: Temporary lookup failure"), "temporary"},
		{"RCPT", reply(450, "4.7.1", "Error: too many recipients from 192.0.2.1"), "limit"},
		{"RCPT", replyTooMany, "limit"},
		{"MAIL", reply(553, "5.7.1", "<a@b.test>: Sender address rejected: not owned by user demo"), "sender"},
		{"MAIL", reply(501, "5.1.7", "<a@>: Bad sender address syntax"), "sender"},
		{"MAIL", reply(530, "5.7.0", "Authentication required"), "auth"},
		{"MAIL", replyNeedTLS, "auth"},
		{"MAIL", reply(450, "4.7.1", "Error: too much mail from 192.0.2.1"), "limit"},
		{"MAIL", reply(501, "5.5.4", "Syntax: MAIL FROM:<address>"), "protocol"},
		{"MAIL", replyTooBig, "size"},
		{"END-OF-MESSAGE", reply(550, "5.7.1", "Message rejected: DMARC policy of example.org is reject"), "dmarc"},
		{"END-OF-MESSAGE", reply(553, "5.7.1", "<a@b.test>: From: header address rejected: not owned by user demo"), "sender"},
		{"END-OF-MESSAGE", replyBareLF, "protocol"},
		{"END-OF-MESSAGE", replyWriteError, "temporary"},
		{"DATA", reply(554, "5.5.1", "Error: no valid recipients"), "protocol"},
		{"END-OF-MESSAGE", reply(554, "5.7.0", "something else"), "auth"},
		{"END-OF-MESSAGE", reply(554, "5.4.6", "Too many hops"), "data"},
		{"RCPT", reply(550, "5.7.2", "something new"), "other"},
	} {
		if got := rejectClass(tc.cmd, tc.r); got != tc.want {
			t.Errorf("%s %v: class %q, want %q", tc.cmd, tc.r, got, tc.want)
		}
	}
}

package smtpd

import (
	"regexp"
	"strings"
	"testing"
)

// TestMissingHeaders: a message submitted in an authenticated session
// (RFC 6409) without Date: and Message-ID: is queued with both, at the
// end of its header, the Message-ID: naming the queue ID at myhostname;
// one that has them keeps its own; a message from an unauthenticated
// session (relay or MX traffic, RFC 5321 §6.4) gets nothing, unless
// always_add_missing_headers says so, as in Postfix.
func TestMissingHeaders(t *testing.T) {
	const date = "Date: Mon, 23 Nov 2026 14:32:01 +0000\r\n"
	midRE := regexp.MustCompile(`Message-ID: <([0-9A-V]{16})@mail\.example\.test>\r\n\r\nhi\r\n$`)
	for _, c := range []struct {
		name   string
		config string
		auth   bool
		header string
		added  bool
	}{
		{"submission", "", true, "Subject: s\r\n", true},
		{"submission with both", "", true, "Subject: s\r\nDate: Sun, 1 Nov 2026 00:00:00 +0000\r\nMessage-ID: <own@client.example>\r\n", false},
		{"relay", "", false, "Subject: s\r\n", false},
		{"always_add_missing_headers", "always_add_missing_headers = true\n", false, "Subject: s\r\n", true},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, spool := testServer(t, "smtpd_sasl_auth_enable = true\nsmtpd_tls_auth_only = false\n"+c.config)
			d := dial(t, serveTest(t, srv))
			d.send("EHLO client.example\r\n")
			d.expect("250-")
			if c.auth {
				d.send("AUTH PLAIN AGRlbW9AZXhhbXBsZS50ZXN0AGRlbW8=\r\n")
				d.expect("235 ")
			}
			d.send("MAIL FROM:<demo@example.test>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\n")
			d.expect("250 ")
			d.expect("250 ")
			d.expect("354 ")
			d.send(c.header + "\r\nhi\r\n.\r\n")
			queued := d.expect("250 2.0.0 Ok: queued as ")
			msgs := queuedMessages(t, spool)
			if len(msgs) != 1 {
				t.Fatalf("%d messages queued", len(msgs))
			}
			_, rest := splitQueued(t, msgs[0])
			if !c.added {
				if string(rest) != c.header+"\r\nhi\r\n" {
					t.Errorf("queued %q, want the message as sent", rest)
				}
				return
			}
			m := midRE.FindSubmatch(rest)
			if !strings.HasPrefix(string(rest), c.header+date+"Message-ID: <") || m == nil || !strings.HasSuffix(queued, string(m[1])) {
				t.Errorf("queued %q (%s), want Date: and Message-ID: <ID@mail.example.test> added", rest, queued)
			}
		})
	}
}

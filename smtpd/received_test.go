package smtpd

import (
	"bufio"
	"io"
	"net"
	"os"
	"regexp"
	"testing"

	"postern.dev/postern/libmail/queue"
)

// queuedMessages returns the message of every entry in the incoming
// queue, as agents will read it.
func queuedMessages(t *testing.T, spool *queue.Spool) [][]byte {
	t.Helper()
	ids, err := spool.List(queue.Incoming)
	if err != nil {
		t.Fatal(err)
	}
	var out [][]byte
	for _, id := range ids {
		f, err := os.Open(spool.Path(queue.Incoming, id))
		if err != nil {
			t.Fatal(err)
		}
		e, err := queue.Read(f, id)
		if err != nil {
			f.Close()
			t.Fatal(err)
		}
		b, err := io.ReadAll(e.Message(f))
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		out = append(out, b)
	}
	return out
}

// serveTest starts srv on a loopback listener and returns its address.
func serveTest(t *testing.T, srv *Server) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { l.Close() })
	return l.Addr().String()
}

// dial connects a dialogue to addr and reads the greeting.
func dial(t *testing.T, addr string) *dialogue {
	t.Helper()
	c, err := net.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	d := &dialogue{t: t, c: c, r: bufio.NewReader(c)}
	d.expect("220 ")
	return d
}

var withRE = regexp.MustCompile(`\) with ([A-Z0-9]+) id `)

// TestReceivedWith: the Received: line names the protocol in the terms
// of the IANA mail transmission types: RFC 3848 for ESMTP, ESMTPS,
// ESMTPA, ESMTPSA, and RFC 6531 §3.7.3 for a transaction that used
// SMTPUTF8, UTF8SMTP and its S, A and SA forms.
func TestReceivedWith(t *testing.T) {
	for _, c := range []struct {
		name      string
		tls, auth bool
		utf8      bool
		want      string
	}{
		{"esmtp", false, false, false, "ESMTP"},
		{"utf8", false, false, true, "UTF8SMTP"},
		{"esmtps", true, false, false, "ESMTPS"},
		{"utf8s", true, false, true, "UTF8SMTPS"},
		{"utf8a", false, true, true, "UTF8SMTPA"},
		{"utf8sa", true, true, true, "UTF8SMTPSA"},
		{"esmtpsa", true, true, false, "ESMTPSA"},
	} {
		t.Run(c.name, func(t *testing.T) {
			srv, spool := testServer(t, selfSigned(t)+"smtpd_sasl_auth_enable = true\nsmtpd_tls_auth_only = false\n")
			d := dial(t, serveTest(t, srv))
			if c.tls {
				d.send("EHLO client.example\r\nSTARTTLS\r\n")
				d.expect("250-")
				d.expect("220 ")
				d.handshake()
			}
			d.send("EHLO client.example\r\n")
			d.expect("250-")
			if c.auth {
				d.send("AUTH PLAIN AGRlbW9AZXhhbXBsZS50ZXN0AGRlbW8=\r\n")
				d.expect("235 ")
			}
			mail := "MAIL FROM:<alice@example.org>"
			if c.auth {
				mail = "MAIL FROM:<demo@example.test>" // an address the account owns
			}
			if c.utf8 {
				mail += " SMTPUTF8"
			}
			d.send(mail + "\r\nRCPT TO:<demo@example.test>\r\nDATA\r\n")
			d.expect("250 ")
			d.expect("250 ")
			d.expect("354 ")
			d.send("Subject: with\r\n\r\nhi\r\n.\r\n")
			d.expect("250 ")
			msgs := queuedMessages(t, spool)
			if len(msgs) != 1 {
				t.Fatalf("%d messages queued", len(msgs))
			}
			m := withRE.FindSubmatch(msgs[0])
			if m == nil || string(m[1]) != c.want {
				t.Errorf("Received: says %q, want with %s\n%s", m, c.want, msgs[0])
			}
		})
	}
}

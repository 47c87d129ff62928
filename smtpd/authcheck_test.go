package smtpd

import (
	"io"
	"os"
	"strings"
	"testing"

	"postern.dev/postern/libmail/queue"
	"postern.dev/postern/libmail/testkit"
)

// authResolver answers SPF and DMARC for the test domains: pass.example
// authorizes the client's network and asks for p=reject; fail.example and
// quar.example authorize nobody, with p=reject and p=quarantine;
// none.example has no DMARC record; temp.example's lookups time out.
func authResolver() *testkit.Resolver {
	r := testkit.NewResolver()
	r.SetTXT("pass.example", "v=spf1 ip4:192.0.2.0/24 -all")
	r.SetTXT("_dmarc.pass.example", "v=DMARC1; p=reject")
	r.SetTXT("fail.example", "v=spf1 -all")
	r.SetTXT("_dmarc.fail.example", "v=DMARC1; p=reject")
	r.SetTXT("quar.example", "v=spf1 -all")
	r.SetTXT("_dmarc.quar.example", "v=DMARC1; p=quarantine")
	r.SetTXT("none.example", "v=spf1 -all")
	r.SetTemporaryFailure("temp.example", true)
	r.SetTemporaryFailure("_dmarc.temp.example", true)
	return r
}

// storedEntries returns the queued messages, as every reader sees them,
// and their quarantine reasons.
func storedEntries(t *testing.T, spool *queue.Spool) (msgs, quarantined []string) {
	t.Helper()
	ids, err := spool.List(queue.Incoming)
	if err != nil {
		t.Fatal(err)
	}
	for _, id := range ids {
		f, err := os.Open(spool.Path(queue.Incoming, id))
		if err != nil {
			t.Fatal(err)
		}
		e, err := queue.Read(f, id)
		if err != nil {
			t.Fatal(err)
		}
		b, err := io.ReadAll(e.Message(f))
		f.Close()
		if err != nil {
			t.Fatal(err)
		}
		msgs = append(msgs, string(b))
		quarantined = append(quarantined, e.Quarantine)
	}
	return msgs, quarantined
}

// TestSenderAuthentication: mail from a client outside mynetworks gets
// SPF at MAIL FROM and DMARC at the end of DATA, one
// Authentication-Results: field on top, and the DMARC policy acted on:
// p=reject refused with 550 5.7.1, p=quarantine queued for the Junk
// folders, a DNS timeout accepted with temperror; a forged
// Authentication-Results: claiming this server is not stored.
func TestSenderAuthentication(t *testing.T) {
	for _, tc := range []struct {
		domain, reply   string
		ar              []string // parts of the Authentication-Results: field
		quarantine      string
		forgedRemoved   bool
		checksDisabled  bool
		wantNoAuthField bool
	}{
		{domain: "pass.example", reply: "250 2.0.0 Ok: queued",
			ar: []string{"Authentication-Results: mail.example.test;", "spf=pass smtp.mailfrom=pass.example", "dkim=none", "dmarc=pass (p=reject dis=none) header.from=pass.example"}},
		{domain: "fail.example", reply: "550 5.7.1 Message rejected: "},
		{domain: "quar.example", reply: "250 2.0.0 Ok: queued",
			ar:         []string{"spf=fail smtp.mailfrom=quar.example", "dmarc=fail (p=quarantine dis=quarantine) header.from=quar.example"},
			quarantine: "dmarc=fail (p=quarantine) header.from=quar.example"},
		{domain: "none.example", reply: "250 2.0.0 Ok: queued", ar: []string{"spf=fail", "dmarc=none"}},
		{domain: "temp.example", reply: "250 2.0.0 Ok: queued", ar: []string{"spf=temperror smtp.mailfrom=temp.example", "dmarc=temperror"}},
		{domain: "fail.example", reply: "250 2.0.0 Ok: queued", checksDisabled: true, wantNoAuthField: true},
	} {
		name := tc.domain
		if tc.checksDisabled {
			name += " unchecked"
		}
		t.Run(name, func(t *testing.T) {
			cfg := ""
			if tc.checksDisabled {
				cfg = "smtpd_sender_authentication = false\n"
			}
			srv, spool := testServer(t, cfg)
			srv.UseAuthentication(authResolver(), 1)
			d := dial(t, serveFrom(t, srv, "192.0.2.7"))
			d.send("EHLO client.example\r\nMAIL FROM:<a@" + tc.domain + ">\r\nRCPT TO:<demo@example.test>\r\nDATA\r\n")
			d.expect("250-")
			d.expect("250 ")
			d.expect("250 ")
			d.expect("354 ")
			d.send("Authentication-Results: mail.example.test; dmarc=pass header.from=" + tc.domain + "\r\n" +
				"From: A <a@" + tc.domain + ">\r\nSubject: s\r\n\r\nbody\r\n.\r\n")
			d.expect(tc.reply)
			msgs, quar := storedEntries(t, spool)
			if !strings.HasPrefix(tc.reply, "250") {
				if len(msgs) != 0 {
					t.Fatalf("a refused message was queued: %q", msgs)
				}
				return
			}
			if len(msgs) != 1 {
				t.Fatalf("%d messages queued, want 1", len(msgs))
			}
			msg := msgs[0]
			if tc.wantNoAuthField {
				if strings.HasPrefix(msg, "Authentication-Results") {
					t.Errorf("unchecked mail got a field:\n%s", msg)
				}
			} else {
				if !strings.HasPrefix(msg, "Authentication-Results: mail.example.test;") {
					t.Errorf("message does not start with our field:\n%s", msg)
				}
				for _, want := range tc.ar {
					if !strings.Contains(msg, want) {
						t.Errorf("field lacks %q:\n%s", want, msg)
					}
				}
			}
			if n := strings.Count(msg, "mail.example.test; dmarc=pass header.from="); n != 0 {
				t.Errorf("the forged field was stored:\n%s", msg)
			}
			if quar[0] != tc.quarantine {
				t.Errorf("quarantine %q, want %q", quar[0], tc.quarantine)
			}
		})
	}
}

// TestSenderAuthenticationSkipped: authenticated clients and clients in
// mynetworks are not checked (their mail is signed instead), but a
// forged Authentication-Results: is removed from their mail too.
func TestSenderAuthenticationSkipped(t *testing.T) {
	srv, spool := testServer(t, "mynetworks = [\"127.0.0.0/8\"]\n")
	srv.UseAuthentication(authResolver(), 1)
	d := dial(t, serveTest(t, srv))
	d.send("EHLO client.example\r\nMAIL FROM:<a@fail.example>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\n")
	d.expect("250-")
	d.expect("250 ")
	d.expect("250 ")
	d.expect("354 ")
	d.send("Authentication-Results: mail.example.test; dmarc=pass\r\nFrom: a@fail.example\r\n\r\nbody\r\n.\r\n")
	d.expect("250 2.0.0 Ok: queued")
	msgs, _ := storedEntries(t, spool)
	if len(msgs) != 1 || strings.Contains(msgs[0], "Authentication-Results") {
		t.Errorf("stored %q", msgs)
	}
}

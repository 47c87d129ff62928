package e2e

import (
	"slices"
	"strings"
	"testing"
	"time"
)

const quoteZone = remoteZone + `
$ORIGIN evil.test.
@        MX 10 mx.evil.test.
mx       A 127.0.0.1
`

// TestOutboundQuotedPaths: smtpd keeps <"x> RET=FULL ENVID=Y"@evil.test>
// unquoted in the queue; the SMTP client must quote it again (RFC 5321
// §4.1.2), on the relayed message's MAIL FROM and on the RCPT TO of the
// bounce that goes back to it, so that an independent server (aiosmtpd)
// sees one path and no parameters the sender slipped in. A recipient
// whose local part has a space arrives whole.
func TestOutboundQuotedPaths(t *testing.T) {
	const sender = `"x> RET=FULL ENVID=Y"@evil.test`
	peer := NewAioPeer(t, "--reject", "nobody@remote.test")
	s, _ := outbound(t, quoteZone, peer.Port)
	submit(t, s, sender, []string{`"john doe"@remote.test`, "nobody@remote.test"}, "quoted-paths")
	msgs := peer.Wait(2, 30*time.Second)
	var relayed, bounce *AioMsg
	for i := range msgs {
		if msgs[i].MailFrom == "<>" { // aiosmtpd's null sender
			bounce = &msgs[i]
		} else {
			relayed = &msgs[i]
		}
	}
	if relayed == nil || bounce == nil {
		for _, m := range msgs {
			t.Logf("peer received %q -> %q", m.MailFrom, m.RcptTos)
		}
		t.Fatal("want the relayed message and its bounce")
	}
	if relayed.MailFrom != sender || !slices.Equal(relayed.RcptTos, []string{`"john doe"@remote.test`}) {
		t.Errorf("relayed envelope %q -> %q, want %q -> %q", relayed.MailFrom, relayed.RcptTos, sender, `"john doe"@remote.test`)
	}
	for _, o := range relayed.MailOptions {
		if !strings.HasPrefix(o, "SIZE=") && o != "BODY=8BITMIME" {
			t.Errorf("MAIL FROM carried parameter %q: %q", o, relayed.MailOptions)
		}
	}
	if !slices.Equal(bounce.RcptTos, []string{sender}) {
		t.Errorf("bounce went to %q, want %q", bounce.RcptTos, sender)
	}
	if !strings.Contains(string(bounce.Data), "nobody@remote.test") {
		t.Errorf("bounce does not name the failed recipient:\n%s", bounce.Data)
	}
	s.WaitQueueEmpty(10 * time.Second)
}

// TestOutboundQuotedPathsGoSMTP is TestOutboundQuotedPaths against the
// go-smtp sink, which needs no Python and so runs wherever the tests do.
// go-smtp's parser takes a quoted local part whole and hands it over
// unquoted; a path that an unquoted local part ended early
// (<x> RET=FULL ENVID=Y@evil.test>) is a 501 there, and the message
// would bounce instead of arriving.
func TestOutboundQuotedPathsGoSMTP(t *testing.T) {
	const sender = `"x> RET=FULL ENVID=Y"@evil.test`
	const unquoted = `x> RET=FULL ENVID=Y@evil.test` // as go-smtp hands it over
	sink := NewSink(t)
	sink.Rcpt = func(addr string) string {
		if addr == "nobody@remote.test" {
			return "550 5.1.1 no such user here"
		}
		return "250 2.1.5 ok"
	}
	s, _ := outbound(t, quoteZone, sink.Port)
	submit(t, s, sender, []string{`"john doe"@remote.test`, "nobody@remote.test"}, "quoted-paths")
	var relayed, bounce *SinkTx
	for _, tx := range sink.Wait(2, 30*time.Second) {
		if tx.From == "" {
			bounce = tx
		} else {
			relayed = tx
		}
	}
	if relayed == nil || bounce == nil {
		for _, tx := range sink.Txs() {
			t.Logf("sink received %q -> %q", tx.From, tx.Rcpts)
		}
		t.Fatal("want the relayed message and its bounce")
	}
	if relayed.From != unquoted || !slices.Equal(relayed.Rcpts, []string{"john doe@remote.test"}) {
		t.Errorf("relayed envelope %q -> %q, want %q -> %q", relayed.From, relayed.Rcpts, unquoted, "john doe@remote.test")
	}
	if o := relayed.MailOpts; o.Return != "" || o.EnvelopeID != "" {
		t.Errorf("MAIL FROM carried RET=%q ENVID=%q", o.Return, o.EnvelopeID)
	}
	if !slices.Equal(bounce.Rcpts, []string{unquoted}) {
		t.Errorf("bounce went to %q, want %q", bounce.Rcpts, unquoted)
	}
	if !strings.Contains(string(bounce.Data), "nobody@remote.test") {
		t.Errorf("bounce does not name the failed recipient:\n%s", bounce.Data)
	}
	s.WaitQueueEmpty(10 * time.Second)
}

package smtp

import (
	"fmt"
	"slices"
	"testing"

	gosmtp "github.com/emersion/go-smtp"

	"postern.dev/postern/libmail/queue"
)

// TestQuotedPathsAtPeer: the queue keeps addresses unquoted (smtpd
// unquotes <"john doe"@example.net>), so the client must quote them
// again (RFC 5321 §4.1.2). A sender whose local part is `x> RET=FULL
// ENVID=Y` must reach an independent server (go-smtp) as one path with
// the envelope's own parameters and no others, and local parts with
// spaces, quotes and backslashes must arrive as they were given.
func TestQuotedPathsAtPeer(t *testing.T) {
	p := newPeer(t)
	e := newTestEnv(t, envOptions{})
	const sender = "x> RET=FULL ENVID=Y@evil.test"
	env := queue.Envelope{Sender: sender, Ret: "HDRS", EnvID: "orig-id",
		Recipients: []queue.Recipient{
			{Addr: "john doe@example.net", ORcpt: `rfc822;"john doe"@example.net`},
			{Addr: `a"b\c@example.net`},
			{Addr: "plain@example.net"},
		}}
	id := e.enqueue(env, testMessage)
	rep := e.handle(id, p.nexthop(), true, 0, 1, 2)
	ok := want{"sent", "2.0.0", "250 2.0.0"}
	checkResults(t, rep, ok, ok, ok)

	size := len(testMessage)
	wantMail := []string{fmt.Sprintf(`MAIL FROM:<"x> RET=FULL ENVID=Y"@evil.test> SIZE=%d RET=HDRS ENVID=orig-id`, size)}
	if got := p.Commands("MAIL FROM:"); !slices.Equal(got, wantMail) {
		t.Errorf("MAIL commands on the wire:\n got %q\nwant %q", got, wantMail)
	}
	wantRcpt := []string{
		`RCPT TO:<"john doe"@example.net> ORCPT=rfc822;"john+20doe"@example.net`,
		`RCPT TO:<"a\"b\\c"@example.net>`,
		`RCPT TO:<plain@example.net>`,
	}
	if got := p.Commands("RCPT TO:"); !slices.Equal(got, wantRcpt) {
		t.Errorf("RCPT commands on the wire:\n got %q\nwant %q", got, wantRcpt)
	}
	txs := p.Txs()
	if len(txs) != 1 {
		t.Fatalf("peer saw %d transactions", len(txs))
	}
	tx := txs[0]
	if tx.from != sender {
		t.Errorf("peer's sender %q, want %q", tx.from, sender)
	}
	if tx.mailOpts.Return != gosmtp.DSNReturnHeaders || tx.mailOpts.EnvelopeID != "orig-id" || tx.mailOpts.Size != int64(size) {
		t.Errorf("peer's MAIL parameters %+v: RET=HDRS ENVID=orig-id SIZE=%d were sent, nothing else", tx.mailOpts, size)
	}
	if want := []string{"john doe@example.net", `a"b\c@example.net`, "plain@example.net"}; !slices.Equal(tx.rcpts, want) {
		t.Errorf("peer's recipients %q, want %q", tx.rcpts, want)
	}
	if o := tx.rcptOpts[0]; o.OriginalRecipientType != gosmtp.DSNAddressTypeRFC822 || o.OriginalRecipient != `"john doe"@example.net` {
		t.Errorf("peer's ORCPT %q;%q", o.OriginalRecipientType, o.OriginalRecipient)
	}
	if string(tx.data) != testMessage {
		t.Errorf("peer's message %q", tx.data)
	}
}

// TestBounceToQuotedSenderAtPeer: a notice from the null sender goes
// back to the sender as the queue keeps it; its RCPT TO must be quoted
// like any other.
func TestBounceToQuotedSenderAtPeer(t *testing.T) {
	p := newPeer(t)
	e := newTestEnv(t, envOptions{})
	id := e.enqueue(queue.Envelope{Sender: "", Bounce: true}, testMessage, "x> NOTIFY=NEVER@evil.test")
	rep := e.handle(id, p.nexthop(), true, 0)
	checkResults(t, rep, want{"sent", "2.0.0", "250 2.0.0"})
	if got, want := p.Commands("MAIL FROM:"), []string{fmt.Sprintf("MAIL FROM:<> SIZE=%d", len(testMessage))}; !slices.Equal(got, want) {
		t.Errorf("MAIL on the wire %q, want %q", got, want)
	}
	if got, want := p.Commands("RCPT TO:"), []string{`RCPT TO:<"x> NOTIFY=NEVER"@evil.test>`}; !slices.Equal(got, want) {
		t.Errorf("RCPT on the wire %q, want %q", got, want)
	}
	txs := p.Txs()
	if len(txs) != 1 || txs[0].from != "" || !slices.Equal(txs[0].rcpts, []string{"x> NOTIFY=NEVER@evil.test"}) ||
		txs[0].rcptOpts[0].Notify != nil {
		t.Fatalf("peer saw %+v", txs)
	}
}

package smtp

import (
	"bytes"
	"fmt"
	"slices"
	"strings"
	"testing"

	"postern.dev/postern/libmail/testkit"

	"postern.dev/postern/libmail/queue"
	"postern.dev/postern/smtp/downgrade"
)

const prependedFields = "Authentication-Results: mail.example.test;\r\n\tspf=pass smtp.mailfrom=example.org\r\n" +
	"DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=sel;\r\n\tb=AAAA\r\n"

// enqueuePrepended is enqueue with header fields prepended to the entry
// (queue.Writer.Prepend), as a queue writer does with fields decided at
// the end of DATA.
func (e *testEnv) enqueuePrepended(env queue.Envelope, msg, fields string, rcpts ...string) queue.ID {
	e.t.Helper()
	env.Recipients = append(env.Recipients, testkit.Recipients(rcpts...)...)
	return testkit.Enqueue(e.t, e.spool, queue.Active, env, msg, fields)
}

// TestPrependedHeaderAtPeer: an entry with prepended header fields reaches
// an independent receiver (go-smtp's server) as the complete message,
// byte for byte, the fields on top, dot-stuffing undone, with SIZE
// counting them; also when the message is longer than the read buffer.
func TestPrependedHeaderAtPeer(t *testing.T) {
	long := testMessage + strings.Repeat(".a line that starts with a dot and must be stuffed on the wire\r\n", 2000)
	for _, msg := range []string{testMessage, long} {
		p := newPeer(t)
		e := newTestEnv(t, envOptions{})
		id := e.enqueuePrepended(queue.Envelope{Sender: "s@example.org"}, msg, prependedFields, "r@example.net")
		checkResults(t, e.handle(id, p.nexthop(), true, 0), want{"sent", "2.0.0", "250 2.0.0"})
		complete := prependedFields + msg
		txs := p.Txs()
		if len(txs) != 1 || txs[0].dataErr != nil {
			t.Fatalf("peer: %+v", txs)
		}
		if string(txs[0].data) != complete {
			t.Errorf("peer received %d bytes, not the complete message of %d", len(txs[0].data), len(complete))
		}
		if got, want := p.Commands("MAIL FROM:"), []string{fmt.Sprintf("MAIL FROM:<s@example.org> SIZE=%d", len(complete))}; !slices.Equal(got, want) {
			t.Errorf("MAIL on the wire %q, want %q", got, want)
		}
	}
}

// TestPrependedHeaderDowngraded: to a server without 8BITMIME, the 7-bit
// conversion's two passes (plan, then write) read the same complete
// message: what arrives is the conversion of the prepended fields and
// the stored message together.
func TestPrependedHeaderDowngraded(t *testing.T) {
	s := newFakeServer(t, "PIPELINING", "SIZE 10000000")
	e := newTestEnv(t, envOptions{})
	id := e.enqueuePrepended(queue.Envelope{Sender: "s@example.org", Body: "8BITMIME"}, eightBitMessage, prependedFields, "r@example.net")
	checkResults(t, e.handle(id, nexthopOf(s), true, 0), want{"sent", "2.0.0", "250"})
	complete := prependedFields + eightBitMessage
	plan, err := downgrade.Scan(strings.NewReader(complete))
	if err != nil {
		t.Fatal(err)
	}
	var want bytes.Buffer
	if err := downgrade.Write(&want, strings.NewReader(complete), plan); err != nil {
		t.Fatal(err)
	}
	msgs := s.Msgs()
	if len(msgs) != 1 || !bytes.Equal(msgs[0], want.Bytes()) || !bytes.HasPrefix(msgs[0], []byte(prependedFields)) {
		t.Errorf("received %d messages, the first not the conversion of the complete message:\n%.400s", len(msgs), first(msgs))
	}
}

func first(b [][]byte) []byte {
	if len(b) == 0 {
		return nil
	}
	return b[0]
}

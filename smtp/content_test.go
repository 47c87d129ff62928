package smtp

import (
	"strings"
	"testing"

	"postern.dev/postern/libmail/queue"
)

// TestLongLinesFoldedAtPeer: a message with a header field and a body
// line over 998 octets reaches a strict server (go-smtp refusing lines
// over RFC 5321 §4.5.3.1.6's 1000 octets with CRLF) broken with CRLF
// SPACE at smtp_line_length_limit, as Postfix sends it, and the log says
// so once.
func TestLongLinesFoldedAtPeer(t *testing.T) {
	p := newPeer(t)
	e := newTestEnv(t, envOptions{})
	long := strings.Repeat("0123456789", 250) // 2500 octets
	msg := "From: s@example.org\r\nX-Long: " + long + "\r\n\r\nshort\r\n" + long + "\r\n" + strings.Repeat("y", 998) + "\r\n"
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, msg, "r@example.net")
	rep := e.handle(id, p.nexthop(), true, 0)
	checkResults(t, rep, want{"sent", "2.0.0", "250 2.0.0"})
	txs := p.Txs()
	if len(txs) != 1 || txs[0].dataErr != nil {
		t.Fatalf("peer: %+v", txs)
	}
	got := string(txs[0].data)
	want := "From: s@example.org\r\nX-Long: " + long[:990] + "\r\n " + long[990:1987] + "\r\n " + long[1987:] +
		"\r\n\r\nshort\r\n" + long[:998] + "\r\n " + long[998:1995] + "\r\n " + long[1995:] + "\r\n" + strings.Repeat("y", 998) + "\r\n"
	if got != want {
		t.Errorf("peer received\n%q\nwant\n%q", got, want)
	}
	for _, l := range strings.Split(got, "\r\n") {
		if len(l) > 998 {
			t.Errorf("a line of %d octets arrived", len(l))
		}
	}
	if n := strings.Count(e.log.String(), "breaking line > 998 bytes with <CR><LF>SPACE"); n != 1 {
		t.Errorf("%d log lines about breaking lines:\n%s", n, e.log.String())
	}
}

package smtp

import (
	"bytes"
	"fmt"
	"strings"
	"testing"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/queue"
	"postern.dev/postern/smtp/downgrade"
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

// eightBitMessage is a MIME message with an 8-bit text part, a 7-bit
// part labelled 8bit and a base64 attachment.
var eightBitMessage = "From: s@example.org\r\nMIME-Version: 1.0\r\nContent-Type: multipart/mixed; boundary=b\r\n" +
	"Content-Transfer-Encoding: 8bit\r\n\r\n--b\r\nContent-Type: text/plain; charset=utf-8\r\nContent-Transfer-Encoding: 8bit\r\n\r\n" +
	"Grüße aus Köln.\r\n.Punkt am Anfang, und eine sehr lange Zeile mit Umlauten: äöü " + strings.Repeat("äöü ", 100) + "\r\n" +
	"--b\r\nContent-Type: text/plain\r\nContent-Transfer-Encoding: 8bit\r\n\r\nascii\r\n" +
	"--b\r\nContent-Type: application/octet-stream\r\nContent-Transfer-Encoding: base64\r\n\r\nAAECAwQF\r\n--b--\r\n"

func mailLine(s *fakeServer) string {
	for _, l := range s.Dialogue() {
		if strings.HasPrefix(l, "C: MAIL FROM:") {
			return l
		}
	}
	return ""
}

// TestDowngradeWithout8BITMIME: to a server that does not announce
// 8BITMIME, an 8-bit message goes converted to 7-bit MIME (RFC 6152 §3),
// without SIZE, which the conversion makes wrong, and with the long
// quoted-printable line broken by soft line breaks, not by folding.
func TestDowngradeWithout8BITMIME(t *testing.T) {
	s := newFakeServer(t, "PIPELINING", "SIZE 10000000")
	e := newTestEnv(t, envOptions{})
	id := e.enqueue(queue.Envelope{Sender: "s@example.org", Body: "8BITMIME"}, eightBitMessage, "r@example.net")
	rep := e.handle(id, nexthopOf(s), true, 0)
	checkResults(t, rep, want{"sent", "2.0.0", "250"})
	if l := mailLine(s); l != "C: MAIL FROM:<s@example.org>" {
		t.Errorf("MAIL: %q", l)
	}
	msgs := s.Msgs()
	if len(msgs) != 1 {
		t.Fatalf("%d messages", len(msgs))
	}
	var want bytes.Buffer
	p, err := downgrade.Scan(strings.NewReader(eightBitMessage))
	if err != nil {
		t.Fatal(err)
	}
	if err := downgrade.Write(&want, strings.NewReader(eightBitMessage), p); err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(msgs[0], want.Bytes()) {
		t.Errorf("received\n%s\nwant\n%s", msgs[0], want.Bytes())
	}
	for i, c := range msgs[0] {
		if c >= 0x80 {
			t.Fatalf("8-bit octet at %d", i)
		}
	}
	if !strings.Contains(string(msgs[0]), "Content-Transfer-Encoding: quoted-printable\r\n\r\nGr=C3=BC=C3=9Fe aus K=C3=B6ln.\r\n") ||
		strings.Contains(e.log.String(), "breaking line") {
		t.Errorf("received\n%s\nlog:\n%s", msgs[0], e.log.String())
	}
}

// TestDowngradeNotNeeded: a message without 8-bit octets goes as it is,
// with SIZE, though it was declared 8BITMIME; a server with 8BITMIME
// gets 8-bit content as it is, with BODY=8BITMIME.
func TestDowngradeNotNeeded(t *testing.T) {
	for _, tc := range []struct {
		name, msg, mail string
		ext             []string
	}{
		{"7-bit", testMessage, fmt.Sprintf("C: MAIL FROM:<s@example.org> SIZE=%d", len(testMessage)), []string{"SIZE"}},
		{"8BITMIME", eightBitMessage, "C: MAIL FROM:<s@example.org> BODY=8BITMIME", []string{"8BITMIME"}},
	} {
		s := newFakeServer(t, tc.ext...)
		e := newTestEnv(t, envOptions{})
		id := e.enqueue(queue.Envelope{Sender: "s@example.org", Body: "8BITMIME"}, tc.msg, "r@example.net")
		checkResults(t, e.handle(id, nexthopOf(s), true, 0), want{"sent", "2.0.0", "250"})
		if l := mailLine(s); l != tc.mail {
			t.Errorf("%s: MAIL %q, want %q", tc.name, l, tc.mail)
		}
		if m := s.Msgs(); len(m) != 1 || string(m[0]) != tc.msg {
			t.Errorf("%s: received %q", tc.name, m)
		}
	}
}

// TestDowngradeImpossible: 8-bit octets in a header cannot be made 7-bit:
// the recipients are returned with 5.6.3 and no transaction is begun.
// With disable_mime_output_conversion the message goes as it is, as
// Postfix sends it.
func TestDowngradeImpossible(t *testing.T) {
	msg := "From: s@example.org\r\nSubject: Grüße\r\n\r\nä\r\n"
	s := newFakeServer(t, "PIPELINING")
	e := newTestEnv(t, envOptions{})
	id := e.enqueue(queue.Envelope{Sender: "s@example.org"}, msg, "r@example.net")
	rep := e.handle(id, nexthopOf(s), true, 0)
	checkResults(t, rep, want{"failed", "5.6.3", "does not announce 8BITMIME, and the message cannot be converted to 7-bit MIME: 8-bit octets in a message header"})
	if l := mailLine(s); l != "" {
		t.Errorf("a transaction began: %q", l)
	}

	s = newFakeServer(t, "PIPELINING")
	e = newTestEnv(t, envOptions{params: func(p *config.Params) { p.DisableMIMEOutputConversion = true }})
	id = e.enqueue(queue.Envelope{Sender: "s@example.org"}, eightBitMessage, "r@example.net")
	checkResults(t, e.handle(id, nexthopOf(s), true, 0), want{"sent", "2.0.0", "250"})
	if m := s.Msgs(); len(m) != 1 || string(m[0]) != eightBitMessage {
		t.Errorf("received %q", m)
	}
}

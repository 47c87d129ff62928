package e2e

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"strings"
	"testing"
	"time"
)

// submitRaw sends msg as it is with send.
func submitRaw(t *testing.T, s *System, from, to string, msg string) {
	t.Helper()
	send(t, s.Addr(25), from, []string{to}, []byte(msg))
}

// TestOutboundTo7BitServer: a server without 8BITMIME that refuses any
// octet over 127 and any line over 1001 octets (aiosmtpd in strict ASCII
// mode) receives an 8-bit MIME message converted to quoted-printable,
// which Go's MIME readers decode to the original text, and a 7-bit
// message with a 2500-octet line broken with CRLF SPACE at 998.
func TestOutboundTo7BitServer(t *testing.T) {
	peer := NewAioPeer(t, "--strict-7bit")
	s, _ := outbound(t, remoteZone, peer.Port)

	text := "Grüße aus Köln, ça va? " + strings.Repeat("Ünïcödé ", 200) + "\r\n.Zeile mit Punkt\r\nEnde \r\n"
	mimeMsg := "From: <alice@example.org>\r\nTo: <bob@remote.test>\r\nSubject: eight-bit\r\nMIME-Version: 1.0\r\n" +
		"Content-Type: multipart/mixed; boundary=\"b1\"\r\n\r\n--b1\r\nContent-Type: text/plain; charset=utf-8\r\n" +
		"Content-Transfer-Encoding: 8bit\r\n\r\n" + text + "--b1\r\nContent-Type: text/plain\r\n\r\nascii part\r\n--b1--\r\n"
	submitRaw(t, s, "alice@example.org", "bob@remote.test", mimeMsg)

	long := strings.Repeat("0123456789", 250)
	longMsg := "From: <alice@example.org>\r\nTo: <bob@remote.test>\r\nSubject: long-line\r\n\r\n" + long + "\r\n"
	submitRaw(t, s, "alice@example.org", "bob@remote.test", longMsg)

	msgs := peer.Wait(2, 30*time.Second)
	for _, m := range msgs {
		for i, c := range m.Data {
			if c >= 0x80 {
				t.Fatalf("octet %#x at %d reached the 7-bit server:\n%s", c, i, m.Data)
			}
		}
		for _, l := range strings.Split(string(m.Data), "\r\n") {
			if len(l) > 998 {
				t.Fatalf("a line of %d octets reached the server", len(l))
			}
		}
		for _, o := range m.MailOptions {
			if strings.HasPrefix(o, "BODY=") {
				t.Errorf("BODY= sent to a server without 8BITMIME: %q", m.MailOptions)
			}
		}
	}
	byType := map[string][]byte{}
	for _, m := range msgs {
		pm, err := mail.ReadMessage(bytes.NewReader(m.Data))
		if err != nil {
			t.Fatal(err)
		}
		byType[pm.Header.Get("Subject")] = m.Data
	}

	// The converted message decodes, with Go's readers, to what was sent.
	pm, err := mail.ReadMessage(bytes.NewReader(byType["eight-bit"]))
	if err != nil {
		t.Fatal(err)
	}
	_, params, err := mime.ParseMediaType(pm.Header.Get("Content-Type"))
	if err != nil {
		t.Fatal(err)
	}
	var parts []string
	r := multipart.NewReader(pm.Body, params["boundary"])
	for {
		p, err := r.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatal(err)
		}
		var body io.Reader = p
		if cte := p.Header.Get("Content-Transfer-Encoding"); cte == "quoted-printable" {
			body = quotedprintable.NewReader(p)
		} else if cte != "" && cte != "7bit" {
			t.Errorf("part labelled %q", cte)
		}
		b, err := io.ReadAll(body)
		if err != nil {
			t.Fatal(err)
		}
		parts = append(parts, string(b))
	}
	// The part's last CRLF belongs to the boundary (RFC 2046 §5.1.1).
	if want := []string{strings.TrimSuffix(text, "\r\n"), "ascii part"}; len(parts) != 2 || parts[0] != want[0] || parts[1] != want[1] {
		t.Errorf("decoded parts\n%q\nwant\n%q", parts, want)
	}

	// The long line arrives broken as Postfix breaks it.
	wantBody := long[:998] + "\r\n " + long[998:1995] + "\r\n " + long[1995:] + "\r\n"
	if got := string(byType["long-line"]); !strings.HasSuffix(got, "\r\n\r\n"+wantBody) {
		t.Errorf("long-line message arrived as\n%q", got)
	}
	s.WaitQueueEmpty(10 * time.Second)
}

package smtpd

import (
	"bufio"
	"bytes"
	"fmt"
	"strings"
	"testing"

	"postern.dev/postern/libmail/message"
)

// hugeHeader is a header section of n fields of about 100 bytes each.
func hugeHeader(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "X-Filler-%06d: %s\r\n", i, strings.Repeat("h", 80))
	}
	return b.String()
}

// splitQueued cuts a queued message into smtpd's Received: field and the
// rest, the message as the client sent it (with the cut, if any).
func splitQueued(t *testing.T, msg []byte) (received, rest []byte) {
	t.Helper()
	i := 0
	for {
		j := bytes.Index(msg[i:], []byte("\r\n"))
		if j < 0 {
			t.Fatalf("no end of the Received: field in %.200q", msg)
		}
		i += j + 2
		if i >= len(msg) || (msg[i] != ' ' && msg[i] != '\t') {
			return msg[:i], msg[i:]
		}
	}
}

// TestHeaderSizeLimitSession: a header section longer than
// header_size_limit (Postfix: 102400) is accepted, and queued with an
// empty line after the last whole header line within the limit, so the
// rest is body to every agent: the header each of them scans is within
// the limit, and nothing the client sent is lost. Over DATA and BDAT.
func TestHeaderSizeLimitSession(t *testing.T) {
	const limit = 102400 // the default
	header := hugeHeader(20000)
	sent := "Subject: first\r\n" + header + "Message-ID: <huge@client.example>\r\n\r\nbody line\r\n"
	for _, verb := range []string{"DATA", "BDAT"} {
		t.Run(verb, func(t *testing.T) {
			srv, spool := testServer(t, "")
			d := dial(t, serveTest(t, srv))
			d.send("EHLO client.example\r\nMAIL FROM:<alice@example.org>\r\nRCPT TO:<demo@example.test>\r\n")
			d.expect("250-")
			d.expect("250 ")
			d.expect("250 ")
			if verb == "DATA" {
				d.send("DATA\r\n")
				d.expect("354 ")
				d.send(sent + ".\r\n")
			} else {
				d.send(fmt.Sprintf("BDAT %d LAST\r\n%s", len(sent), sent))
			}
			d.expect("250 2.0.0 Ok: queued as ")
			msgs := queuedMessages(t, spool)
			if len(msgs) != 1 {
				t.Fatalf("%d messages queued", len(msgs))
			}
			_, rest := splitQueued(t, msgs[0])
			end := bytes.Index(rest, []byte("\r\n\r\n"))
			if end < 0 || end+2 > limit {
				t.Fatalf("header section of %d bytes queued, want at most %d", end+2, limit)
			}
			// The cut is at a line end, and only an empty line was added.
			if got := string(rest[:end+4]) + string(rest[end+4:]); !strings.HasPrefix(sent, string(rest[:end+2])) ||
				string(rest[:end+2])+string(rest[end+4:]) != sent {
				t.Errorf("queued message is not the sent one with an empty line inserted (%d bytes, sent %d)", len(got), len(sent))
			}
			if end+2 < limit-200 {
				t.Errorf("header cut at %d bytes, well before the limit %d", end+2, limit)
			}
			// Every agent's header scan now ends within the limit.
			n := 0
			err := message.ScanHeader(bufio.NewReader(bytes.NewReader(msgs[0])), limit+4096, func(name, value []byte) bool {
				n++
				return true
			})
			if err != nil || n < 900 {
				t.Errorf("scanning the queued header: %d fields, %v", n, err)
			}
		})
	}
}

// TestHopsAfterWhiteSpaceLine: a message whose first line begins with
// white space continued smtpd's Received: field, so the 60 Received:
// fields after it were header to every agent but were not counted
// against the hop limit, which saw one. intake puts an empty line before
// such a line, so what the agents read is what was counted.
func TestHopsAfterWhiteSpaceLine(t *testing.T) {
	srv, spool := testServer(t, "")
	d := dial(t, serveTest(t, srv))
	d.send("EHLO client.example\r\nMAIL FROM:<a@example.org>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\n")
	d.expect("250-")
	d.expect("250 ")
	d.expect("250 ")
	d.expect("354 ")
	d.send(" x\r\n" + strings.Repeat("Received: from x by y; date\r\n", 60) + "\r\nb\r\n.\r\n")
	d.expect("250 ")
	msgs := queuedMessages(t, spool)
	if len(msgs) != 1 {
		t.Fatalf("%d messages queued", len(msgs))
	}
	n := 0
	message.ScanHeader(bufio.NewReader(bytes.NewReader(msgs[0])), 1<<20, func(name, _ []byte) bool {
		if bytes.EqualFold(name, []byte("Received")) {
			n++
		}
		return true
	})
	if n != 1 {
		t.Errorf("the queued header holds %d Received: fields, the hop count saw 1", n)
	}
}

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

// TestCopierHeaderCut: the header section ends at its empty line when
// that comes within header_size_limit, and otherwise at the last line end
// within the limit (or at the limit, for one longer line) with an empty
// line inserted; however the client's bytes are split into chunks (DATA
// lines, BDAT chunks of any size) the result is the same.
func TestCopierHeaderCut(t *testing.T) {
	const limit = 40
	a36 := strings.Repeat("a", 36)
	six := strings.Repeat("A: 1\r\n", 10)
	for _, c := range []struct {
		name, in, want string
	}{
		{"short", "A: 1\r\nB: 2\r\n\r\nbody\r\n", "A: 1\r\nB: 2\r\n\r\nbody\r\n"},
		{"no header", "\r\nbody\r\n", "\r\nbody\r\n"},
		{"empty", "", ""},
		{"header only", "A: 1\r\nB: 2\r\n", "A: 1\r\nB: 2\r\n"},
		{"exactly the limit", "X: " + a36[:35] + "\r\n\r\nbody\r\n", "X: " + a36[:35] + "\r\n\r\nbody\r\n"},
		{"many lines", six + "\r\nbody\r\n", six[:36] + "\r\n" + six[36:] + "\r\nbody\r\n"},
		{"many lines, no body", six, six[:36] + "\r\n" + six[36:]},
		{"one line too long by its CRLF", "X: " + a36 + "\r\n\r\nb\r\n", "X: " + a36[1:] + "\r\n\r\n" + "a\r\n\r\nb\r\n"},
		{"header only, one byte over", "X: " + a36 + "\r\n", "X: " + a36[1:] + "\r\n\r\n" + "a\r\n"},
		{"one long line", "X: " + a36 + a36 + "\r\n\r\nb\r\n", "X: " + a36[1:] + "\r\n\r\n" + "a" + a36 + "\r\n\r\nb\r\n"},
		{"empty line just within the limit", "X: " + a36[2:] + "\r\n" + "\r\nb\r\n", "X: " + a36[2:] + "\r\n\r\nb\r\n"},
		{"line end at the limit", "X: " + a36[1:] + "\r\nY: 2\r\n", "X: " + a36[1:] + "\r\n\r\nY: 2\r\n"},
		{"folded field", "X: 1\r\n" + strings.Repeat(" folded\r\n", 6) + "\r\nb\r\n",
			"X: 1\r\n" + strings.Repeat(" folded\r\n", 3) + "\r\n" + strings.Repeat(" folded\r\n", 3) + "\r\nb\r\n"},
	} {
		for _, chunk := range []int{1, 2, 3, 5, 7, 41, 42, 43, 1 << 20} {
			var out bytes.Buffer
			cp := newCopier(&out, &Config{SizeLimit: 1 << 20, HeaderLimit: limit})
			for in := []byte(c.in); len(in) > 0; {
				n := min(chunk, len(in))
				cp.Write(in[:n])
				in = in[n:]
			}
			cp.end()
			if cp.bad != nil {
				t.Fatalf("%s, chunks of %d: %v", c.name, chunk, cp.bad)
			}
			if out.String() != c.want {
				t.Errorf("%s, chunks of %d:\n got %q\nwant %q", c.name, chunk, out.String(), c.want)
			}
			if len(cp.header) > limit {
				t.Errorf("%s, chunks of %d: %d bytes of header kept", c.name, chunk, len(cp.header))
			}
		}
	}
}

package smtpd

import (
	"bufio"
	"bytes"
	"net"
	"regexp"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/address"
)

// FuzzParsePath: parsePath never panics, and an address it accepts comes
// back unchanged when written in wire form (address.Quote) and parsed
// again, which is what smtpd's replies and the outbound client rely on.
func FuzzParsePath(f *testing.F) {
	for _, s := range []string{
		"FROM:<alice@example.org>", "FROM:<> SIZE=10", `TO:<"john doe"@example.test>`,
		`TO:<"a\"b"@example.test> NOTIFY=NEVER`, "TO:<@r1,@r2:u@d>", "FROM:a@b BODY=8BITMIME",
		"TO:<a@[192.0.2.1]>", "TO:<δοκιμή@example.org> ORCPT=rfc822;x+2B1@y",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, arg string) {
		for _, prefix := range []string{"FROM:", "TO:"} {
			p, ok := parsePath(arg, prefix)
			if !ok || address.Check(p.addr, true) != nil {
				continue // the policy refuses it before it goes anywhere
			}
			again, ok := parsePath(prefix+"<"+address.Quote(p.addr)+">", prefix)
			if !ok || again.addr != p.addr {
				t.Fatalf("%q parses to %q, whose wire form %q parses to %q (ok %v)", arg, p.addr, address.Quote(p.addr), again.addr, ok)
			}
		}
	})
}

var replyLineRE = regexp.MustCompile(`^[2-5][0-9][0-9][ -][^\r\n]*\r\n$`)

// FuzzSession feeds arbitrary client bytes to a real server on loopback:
// it must not panic or hang, and everything it writes back must be
// well-formed reply lines.
func FuzzSession(f *testing.F) {
	for _, s := range []string{
		"EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\nSubject: s\r\n\r\nbody\r\n.\r\nQUIT\r\n",
		"EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<demo@example.test>\r\nBDAT 5 LAST\r\nhello",
		"HELO x\r\nAUTH PLAIN AGRlbW9AZXhhbXBsZS50ZXN0AGRlbW8=\r\n",
		"EHLO x\r\nAUTH LOGIN\r\nZGVtbw==\r\n*\r\n",
		"EHLO x\r\nMAIL FROM:<a@b>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\nx\n.\r\nRSET\r\n",
		"EHLO x\r\nSTARTTLS\r\nRSET\r\n",
		"\x00\xff\r\n\n\r",
	} {
		f.Add([]byte(s))
	}
	// A small header_size_limit lets short inputs reach the header cut.
	srv, _ := testServer(f, "smtpd_sasl_auth_enable = true\nsmtpd_tls_auth_only = false\nsmtpd_timeout = \"2s\"\nheader_size_limit = 1024\n")
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		f.Fatal(err)
	}
	go srv.Serve(l)
	f.Cleanup(func() { l.Close() })
	f.Fuzz(func(t *testing.T, in []byte) {
		c, err := net.Dial("tcp", l.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		defer c.Close()
		c.SetDeadline(time.Now().Add(10 * time.Second))
		go func() {
			c.Write(in)
			c.(*net.TCPConn).CloseWrite()
		}()
		r := bufio.NewReader(c)
		for {
			line, err := r.ReadString('\n')
			if err != nil {
				if line != "" {
					t.Fatalf("partial reply line %q", line)
				}
				if ne, ok := err.(net.Error); ok && ne.Timeout() {
					t.Fatalf("session hangs after input %q", in)
				}
				return
			}
			if !replyLineRE.MatchString(line) {
				t.Fatalf("malformed reply line %q", line)
			}
		}
	})
}

// FuzzCopierHeader: however a message is cut into chunks, the copier
// writes the same bytes; its header section (up to the first empty line,
// or all of it) is at most header_size_limit; and what it writes is the
// message with at most one empty line (or a line end and an empty line)
// inserted, so nothing is lost.
func FuzzCopierHeader(f *testing.F) {
	for _, s := range []string{
		"A: 1\r\nB: 2\r\n\r\nbody\r\n",
		strings.Repeat("A: 1\r\n", 20) + "\r\nbody\r\n",
		"X: " + strings.Repeat("a", 100) + "\r\n\r\nb\r\n",
		"X: " + strings.Repeat("a", 61) + "\r\n",
		"X: 1\r\n" + strings.Repeat(" folded\r\n", 10) + "\r\n",
		"\r\nno header\r\n",
	} {
		f.Add([]byte(s), uint16(1))
		f.Add([]byte(s), uint16(7))
	}
	const limit = 64
	f.Fuzz(func(t *testing.T, in []byte, chunk uint16) {
		run := func(chunk int) (string, *copier) {
			var out bytes.Buffer
			cp := newCopier(&out, &Config{SizeLimit: 1 << 20, HeaderLimit: limit})
			for p := in; len(p) > 0; {
				n := min(chunk, len(p))
				cp.Write(p[:n])
				p = p[n:]
			}
			cp.end()
			return out.String(), cp
		}
		whole, cp := run(len(in) + 1)
		if cp.bad != nil {
			return // refused: nothing is kept
		}
		if got, _ := run(max(1, int(chunk))); got != whole {
			t.Fatalf("chunks of %d give %q, whole %q", chunk, got, whole)
		}
		head := len(whole)
		if strings.HasPrefix(whole, "\r\n") {
			head = 0
		} else if i := strings.Index(whole, "\r\n\r\n"); i >= 0 {
			head = i + 2
		}
		if head > limit {
			t.Fatalf("header section of %d bytes in %q", head, whole)
		}
		if whole != string(in) {
			ok := false
			for _, sep := range []string{"\r\n", "\r\n\r\n"} {
				at := head
				if sep == "\r\n\r\n" {
					at = head - 2
				}
				if at >= 0 && at+len(sep) <= len(whole) && whole[at:at+len(sep)] == sep && whole[:at]+whole[at+len(sep):] == string(in) {
					ok = true
				}
			}
			if !ok {
				t.Fatalf("%q became %q", in, whole)
			}
		}
	})
}

package smtpd

import (
	"bufio"
	"net"
	"regexp"
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

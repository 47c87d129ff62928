package smtpd

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"net"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/testkit"
)

// selfSigned writes a certificate and key for mail.example.test and
// returns the config lines that use them.
func selfSigned(t *testing.T) string {
	t.Helper()
	cert, key := testkit.NewPKI(t, "mail.example.test").WriteServer(t, t.TempDir())
	return fmt.Sprintf("smtpd_tls_cert_file = %q\nsmtpd_tls_key_file = %q\n", cert, key)
}

// dialogue is a minimal SMTP client for tests that need more than a
// transcript: TLS, in this file.
type dialogue struct {
	t *testing.T
	c net.Conn
	r *bufio.Reader
}

func (d *dialogue) send(s string) {
	d.t.Helper()
	d.c.SetWriteDeadline(time.Now().Add(5 * time.Second))
	if _, err := d.c.Write([]byte(s)); err != nil {
		d.t.Fatal(err)
	}
}

// reply reads one reply and returns its lines joined by "|".
func (d *dialogue) reply() string {
	d.t.Helper()
	d.c.SetReadDeadline(time.Now().Add(5 * time.Second))
	var lines []string
	for {
		line, err := d.r.ReadString('\n')
		if err != nil {
			d.t.Fatalf("reading reply after %q: %v", lines, err)
		}
		lines = append(lines, strings.TrimRight(line, "\r\n"))
		if len(line) < 4 || line[3] != '-' {
			return strings.Join(lines, "|")
		}
	}
}

func (d *dialogue) expect(prefix string) string {
	d.t.Helper()
	r := d.reply()
	if !strings.HasPrefix(r, prefix) {
		d.t.Fatalf("reply %q, want %q...", r, prefix)
	}
	return r
}

func startTLSServer(t *testing.T, extra string) *dialogue {
	srv, _ := testServer(t, selfSigned(t)+extra)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go srv.Serve(l)
	t.Cleanup(func() { l.Close() })
	c, err := net.Dial("tcp", l.Addr().String())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	d := &dialogue{t: t, c: c, r: bufio.NewReader(c)}
	d.expect("220 ")
	return d
}

func (d *dialogue) handshake() *tls.ConnectionState {
	d.t.Helper()
	tc := tls.Client(d.c, &tls.Config{ServerName: "mail.example.test", InsecureSkipVerify: true})
	tc.SetDeadline(time.Now().Add(5 * time.Second))
	if err := tc.Handshake(); err != nil {
		d.t.Fatal(err)
	}
	d.c, d.r = tc, bufio.NewReader(tc)
	st := tc.ConnectionState()
	return &st
}

// TestStartTLSInjection: commands pipelined in plaintext behind STARTTLS
// must not be executed inside the TLS session (CVE-2011-0411).
func TestStartTLSInjection(t *testing.T) {
	d := startTLSServer(t, "")
	d.send("EHLO client.example\r\n")
	if caps := d.expect("250-"); !strings.Contains(caps, "STARTTLS") {
		t.Fatalf("EHLO does not offer STARTTLS: %s", caps)
	}
	d.send("STARTTLS\r\nMAIL FROM:<injected@example.org>\r\n")
	d.expect("220 2.0.0 ")
	st := d.handshake()
	if st.Version < tls.VersionTLS12 {
		t.Errorf("TLS version %x", st.Version)
	}
	// The injected MAIL must be gone: RCPT has no transaction.
	d.send("RCPT TO:<demo@example.test>\r\n")
	d.expect("503 5.5.1 ")
	// And the session started over: EHLO again, without STARTTLS.
	d.send("EHLO client.example\r\n")
	if caps := d.expect("250-"); strings.Contains(caps, "STARTTLS") {
		t.Errorf("EHLO under TLS still offers STARTTLS: %s", caps)
	}
	d.send("STARTTLS\r\n")
	d.expect("554 5.5.1 ")
	d.send("MAIL FROM:<alice@example.org>\r\nRCPT TO:<demo@example.test>\r\nDATA\r\n")
	d.expect("250 ")
	d.expect("250 ")
	d.expect("354 ")
	d.send("Subject: over tls\r\n\r\nhi\r\n.\r\nQUIT\r\n")
	d.expect("250 2.0.0 Ok: queued as ")
	d.expect("221 ")
}

// TestAuthNeedsTLS: with smtpd_tls_auth_only, AUTH is neither offered
// nor accepted before STARTTLS (538 5.7.11, RFC 4954 §6), and works
// after it.
func TestAuthNeedsTLS(t *testing.T) {
	d := startTLSServer(t, "smtpd_sasl_auth_enable = true\nsmtpd_tls_auth_only = true\n")
	d.send("EHLO client.example\r\n")
	if caps := d.expect("250-"); strings.Contains(caps, "AUTH") {
		t.Errorf("AUTH offered before TLS: %s", caps)
	}
	d.send("AUTH PLAIN AGRlbW9AZXhhbXBsZS50ZXN0AGRlbW8=\r\n")
	d.expect("538 5.7.11 Encryption required for requested authentication mechanism")
	d.send("STARTTLS\r\n")
	d.expect("220 ")
	d.handshake()
	d.send("EHLO client.example\r\n")
	if caps := d.expect("250-"); !strings.Contains(caps, "AUTH PLAIN LOGIN") {
		t.Errorf("AUTH not offered under TLS: %s", caps)
	}
	d.send("AUTH PLAIN AGRlbW9AZXhhbXBsZS50ZXN0AGRlbW8=\r\n")
	d.expect("235 2.7.0 ")
	d.send("AUTH PLAIN AGRlbW9AZXhhbXBsZS50ZXN0AGRlbW8=\r\n")
	d.expect("503 5.5.1 ")
}

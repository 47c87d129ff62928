package esmtp

import (
	"bytes"
	"encoding/base64"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/sasl"
)

// scriptConn is a connection whose peer has already said everything:
// reads come from in, then EOF; writes are kept.
type scriptConn struct {
	in  io.Reader
	out bytes.Buffer
}

func (c *scriptConn) Read(b []byte) (int, error)       { return c.in.Read(b) }
func (c *scriptConn) Write(b []byte) (int, error)      { return c.out.Write(b) }
func (c *scriptConn) Close() error                     { return nil }
func (c *scriptConn) LocalAddr() net.Addr              { return &net.TCPAddr{} }
func (c *scriptConn) RemoteAddr() net.Addr             { return &net.TCPAddr{} }
func (c *scriptConn) SetDeadline(time.Time) error      { return nil }
func (c *scriptConn) SetReadDeadline(time.Time) error  { return nil }
func (c *scriptConn) SetWriteDeadline(time.Time) error { return nil }

// FuzzAuth runs AUTH against whatever a server answers: the exchange
// ends, sends at most AUTH, the mechanism's responses and "*", sends the
// password at most once, and succeeds only on a 235.
func FuzzAuth(f *testing.F) {
	for _, s := range [][2]string{
		{"PLAIN", "235 2.7.0 Authentication successful\r\n"},
		{"PLAIN", "535 5.7.8 Error: authentication failed\r\n"},
		{"PLAIN", "334 \r\n334 \r\n334 \r\n501 cancelled\r\n"},
		{"LOGIN", "334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n235 ok\r\n"},
		{"LOGIN", "334 VXNlcm5hbWU6\r\n334 UGFzc3dvcmQ6\r\n334 again\r\n334 again\r\n"},
		{"LOGIN", "334-a\r\n334 b\r\n421 4.3.2 bye\r\n"},
		{"LOGIN", "334 x\r\n235"},
	} {
		f.Add(s[0], s[1])
	}
	f.Fuzz(func(t *testing.T, mech, replies string) {
		const user, pass = "user@example.org", "pa:ss word"
		sc, err := sasl.NewClient(mech, user, pass)
		if err != nil {
			return
		}
		conn := &scriptConn{in: strings.NewReader(replies)}
		c := NewClient(conn, "mx.example.test", netip.MustParseAddrPort("192.0.2.1:25"),
			&Config{Helo: "client.example", Timeouts: testTimeouts}, time.Now())
		err = c.Auth(sc)
		sent := strings.Split(strings.TrimSuffix(conn.out.String(), "\r\n"), "\r\n")
		steps := map[string]int{sasl.Plain: 1, sasl.Login: 2}[sc.Mechanism()]
		if len(sent) > 1+steps+1 {
			t.Fatalf("%d lines sent: %q", len(sent), sent)
		}
		b64 := func(s string) string { return base64.StdEncoding.EncodeToString([]byte(s)) }
		secret := b64(pass)
		if sc.Mechanism() == sasl.Plain {
			secret = b64("\x00" + user + "\x00" + pass)
		}
		if n := strings.Count(conn.out.String(), secret); n > 1 {
			t.Fatalf("the password went out %d times: %q", n, sent)
		}
		var loop *AuthLoopError
		if errors.As(err, &loop) && sent[len(sent)-1] != "*" {
			t.Fatalf("a loop not cancelled: %q", sent)
		}
		if err == nil && !strings.Contains(replies, "235") {
			t.Fatalf("success without 235 in %q", replies)
		}
	})
}

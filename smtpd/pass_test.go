package smtpd

import (
	"context"
	"net"
	"path/filepath"
	"testing"
	"time"

	"postern.dev/postern/libmail/daemon"
	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/ipc/pass"
	"postern.dev/postern/libmail/maillog"
)

// sendPass does postscreen's side of a pass: the descriptor of c, then
// the request naming client.
func sendPass(t *testing.T, path string, c *net.TCPConn, client string) {
	t.Helper()
	conn, err := ipc.Dial(context.Background(), path, ipc.Hello{Channel: pass.Channel, Version: pass.Version})
	if err != nil {
		t.Fatal(err)
	}
	defer conn.Close()
	f, err := c.File()
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := daemon.SendFile(conn.Peer().(*net.UnixConn), f); err != nil {
		t.Fatal(err)
	}
	if err := conn.SendFlush(pass.Request{Type: pass.RequestType, Client: client, Local: c.LocalAddr().String(), Verdict: pass.PassNew}); err != nil {
		t.Fatal(err)
	}
}

// TestPassListener: a passed client arrives with its own address, and a
// pass whose request names another client is refused.
func TestPassListener(t *testing.T) {
	path := filepath.Join(t.TempDir(), "smtpd")
	ul, err := net.Listen("unix", path)
	if err != nil {
		t.Fatal(err)
	}
	pl := newPassListener(ul, maillog.Discard())
	defer pl.Close()
	tl, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer tl.Close()

	for _, tc := range []struct {
		name  string
		src   string
		claim func(real string) string
		ok    bool
	}{
		{"honest", "127.0.0.2", func(real string) string { return real }, true},
		{"other client", "127.0.0.3", func(string) string { return "127.0.0.9:1234" }, false},
	} {
		d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(tc.src)}}
		client, err := d.Dial("tcp", tl.Addr().String())
		if err != nil {
			t.Fatal(err)
		}
		held, err := tl.Accept()
		if err != nil {
			t.Fatal(err)
		}
		sendPass(t, path, held.(*net.TCPConn), tc.claim(held.RemoteAddr().String()))
		held.Close()

		got := make(chan net.Conn, 1)
		go func() {
			if nc, err := pl.Accept(); err == nil {
				got <- nc
			}
		}()
		select {
		case nc := <-got:
			if !tc.ok {
				t.Fatalf("%s: accepted", tc.name)
			}
			if nc.RemoteAddr().String() != client.LocalAddr().String() {
				t.Errorf("%s: passed connection from %s, client is %s", tc.name, nc.RemoteAddr(), client.LocalAddr())
			}
			nc.Write([]byte("220 hi\r\n"))
			buf := make([]byte, 8)
			client.SetReadDeadline(time.Now().Add(2 * time.Second))
			if n, _ := client.Read(buf); string(buf[:n]) != "220 hi\r\n" {
				t.Errorf("%s: client read %q through the passed socket", tc.name, buf[:n])
			}
			nc.Close()
		case <-time.After(500 * time.Millisecond):
			if tc.ok {
				t.Fatalf("%s: nothing accepted", tc.name)
			}
			client.SetReadDeadline(time.Now().Add(2 * time.Second))
			if _, err := client.Read(make([]byte, 1)); err == nil {
				t.Errorf("%s: refused pass left the client connected", tc.name)
			}
		}
		client.Close()
	}
	pl.Close()
	if _, err := pl.Accept(); err == nil {
		t.Error("Accept after Close")
	}
}

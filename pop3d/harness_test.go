package pop3d

import (
	"bufio"
	"context"
	"net"
	"strings"
	"sync"
	"testing"

	"postern.dev/postern/libmail/mailbox"
)

// serveTest is a minimal stand-in for the login front: it greets, takes
// USER and PASS for one fixed user over plain TCP (loopback only, tests
// only), opens that user's store with open and hands the connection to
// Serve, which answers PASS. It returns the listener's address.
func serveTest(t *testing.T, open func() mailbox.Store) string {
	t.Helper()
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() { ln.Close(); wg.Wait() })
	wg.Add(1)
	go func() {
		defer wg.Done()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			wg.Add(1)
			go func() {
				defer wg.Done()
				defer c.Close()
				if testLogin(c) {
					s := open()
					defer s.Close()
					Serve(context.Background(), c, s, Options{})
				}
			}()
		}
	}()
	return ln.Addr().String()
}

func testLogin(c net.Conn) bool {
	r := bufio.NewReader(c)
	c.Write([]byte("+OK test POP3 ready.\r\n"))
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return false
		}
		f := strings.Fields(line)
		switch {
		case len(f) == 2 && strings.EqualFold(f[0], "USER") && f[1] == "user":
			c.Write([]byte("+OK\r\n"))
		case len(f) == 2 && strings.EqualFold(f[0], "PASS") && f[1] == "pw":
			if r.Buffered() > 0 {
				return false // a pipelining test client is not expected here
			}
			return true
		case len(f) == 1 && strings.EqualFold(f[0], "CAPA"):
			c.Write([]byte("+OK\r\nUSER\r\n.\r\n"))
		default:
			c.Write([]byte("-ERR test login\r\n"))
		}
	}
}

package e2e

import (
	"bufio"
	"net"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/dns/dnstest"
)

// postscreenZone lists 127.0.0.2 in the DNS list bl.test, as a real list
// publishes its test address.
const postscreenZone = `
$ORIGIN bl.test.
2.0.0.127  A    127.0.0.2
2.0.0.127  TXT  "listed for the test"
`

// psDial connects to addr from the loopback address src and returns
// the connection and a reader on it.
func psDial(t *testing.T, src, addr string) (net.Conn, *bufio.Reader) {
	t.Helper()
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: net.ParseIP(src)}, Timeout: 5 * time.Second}
	c, err := d.Dial("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { c.Close() })
	c.SetDeadline(time.Now().Add(30 * time.Second))
	return c, bufio.NewReader(c)
}

func readLine(t *testing.T, r *bufio.Reader) string {
	t.Helper()
	line, err := r.ReadString('\n')
	if err != nil {
		t.Fatalf("read: %v (after %q)", err, line)
	}
	return strings.TrimRight(line, "\r\n")
}

// TestPostscreen runs a sandbox with postscreen turned on (as the
// package ships it) in front of port 25: a client listed in a DNS list
// and a client that talks before its turn hear 421; a clean client gets
// to smtpd, which sees its real address, and its mail is delivered; its
// next connection passes on the cache.
func TestPostscreen(t *testing.T) {
	d := dnstest.New(t, postscreenZone)
	s := NewSystem(t, Options{Set: []string{"postscreen_enable=true", "dns_servers=" + d.Addr(),
		"postscreen_dnsbl_sites=bl.test*2", "postscreen_dnsbl_threshold=2", "postscreen_greet_wait=1s",
		// Loopback is mynetworks, which the default access list lets
		// through untested.
		"postscreen_access_list="}})
	if pids := s.PIDs("smtp"); len(pids) == 0 {
		t.Fatalf("no process on the smtp service")
	}
	addr := s.Addr(25)

	// Listed: 421 after the greet wait, never reaching smtpd.
	_, r := psDial(t, "127.0.0.2", addr)
	if l := readLine(t, r); !strings.HasPrefix(l, "220-") {
		t.Fatalf("listed client: first line %q", l)
	}
	if l := readLine(t, r); l != "421 4.7.1 Service unavailable; client [127.0.0.2] blocked using bl.test" {
		t.Fatalf("listed client: %q", l)
	}
	s.WaitLog("DNSBL rank 2 for [127.0.0.2]:", 5*time.Second)
	s.WaitLog("DISCONNECT [127.0.0.2]:", 5*time.Second)

	// Pregreet: talks right after the 220- line.
	c, r := psDial(t, "127.0.0.3", addr)
	if l := readLine(t, r); !strings.HasPrefix(l, "220-") {
		t.Fatalf("pregreeting client: first line %q", l)
	}
	c.Write([]byte("EHLO bot.example\r\n"))
	if l := readLine(t, r); !strings.HasPrefix(l, "421 4.7.1 Service unavailable") {
		t.Fatalf("pregreeting client: %q", l)
	}
	s.WaitLog(`PREGREET 18 after `, 5*time.Second)
	s.WaitLog(`from [127.0.0.3]:`, 5*time.Second)

	// A clean client from 127.0.0.4 passes to smtpd, which names it by
	// its own address: the descriptor is the client's socket.
	c, r = psDial(t, "127.0.0.4", addr)
	if l := readLine(t, r); !strings.HasPrefix(l, "220-") {
		t.Fatalf("clean client: first line %q", l)
	}
	if l := readLine(t, r); !strings.HasPrefix(l, "220 mail.example.test ESMTP") {
		t.Fatalf("clean client: smtpd's greeting %q", l)
	}
	c.Write([]byte("EHLO client.example\r\n"))
	for l := readLine(t, r); strings.HasPrefix(l, "250-"); l = readLine(t, r) {
	}
	c.Write([]byte("QUIT\r\n"))
	readLine(t, r)
	s.WaitLog("PASS NEW [127.0.0.4]:", 5*time.Second)
	s.WaitLog("[127.0.0.4] ehlo=1 quit=1", 5*time.Second) // smtpd's disconnect line

	// Mail from a clean client is delivered, and its second connection
	// passes on the cache without a greet wait.
	if res := sendPython(t, s, "sender@example.org", "demo@example.test", 1, 1, "ps-new"); len(res.Accepted) != 1 {
		t.Fatalf("first send: %+v", res)
	}
	s.WaitLog("PASS NEW [127.0.0.1]:", 5*time.Second)
	if res := sendPython(t, s, "sender@example.org", "demo@example.test", 1, 1, "ps-old"); len(res.Accepted) != 1 {
		t.Fatalf("second send: %+v", res)
	}
	s.WaitLog("PASS OLD [127.0.0.1]:", 5*time.Second)
	msgs := s.WaitMessages("demo@example.test", 2, 30*time.Second)
	if len(msgs) != 2 {
		t.Fatalf("delivered %d", len(msgs))
	}
	for _, m := range readMaildir(t, s, "demo@example.test") {
		if len(m.Received) == 0 || !strings.Contains(m.Received[0], "[127.0.0.1]") {
			t.Errorf("Received: %q does not name the client 127.0.0.1", m.Received)
		}
	}
	if strings.Contains(s.Log(), "PASS NEW [127.0.0.2]") || strings.Contains(s.Log(), "PASS NEW [127.0.0.3]") {
		t.Errorf("a refused client passed:\n%s", tail(s.Log(), 40))
	}
}

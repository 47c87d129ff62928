package esmtp

import (
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

var testTimeouts = Timeouts{Connect: 5 * time.Second, Helo: 5 * time.Second, Mail: 5 * time.Second,
	Rcpt: 5 * time.Second, DataInit: 5 * time.Second, DataXfer: 5 * time.Second, DataDone: 5 * time.Second,
	Quit: 5 * time.Second}

// peerTx is one transaction as go-smtp's server, a receiver written
// apart from this client, saw it.
type peerTx struct {
	from  string
	opts  gosmtp.MailOptions
	rcpts []string
	data  string
}

type peerSession struct {
	mu  *sync.Mutex
	txs *[]peerTx
	tx  peerTx
}

func (s *peerSession) Reset()        { s.tx = peerTx{} }
func (s *peerSession) Logout() error { return nil }

func (s *peerSession) Mail(from string, opts *gosmtp.MailOptions) error {
	s.tx.from, s.tx.opts = from, *opts
	return nil
}

func (s *peerSession) Rcpt(to string, opts *gosmtp.RcptOptions) error {
	if strings.HasPrefix(to, "unknown@") {
		return &gosmtp.SMTPError{Code: 550, EnhancedCode: gosmtp.EnhancedCode{5, 1, 1}, Message: "No such user"}
	}
	s.tx.rcpts = append(s.tx.rcpts, to)
	return nil
}

func (s *peerSession) Data(r io.Reader) error {
	b, err := io.ReadAll(r)
	s.tx.data = string(b)
	s.mu.Lock()
	*s.txs = append(*s.txs, s.tx)
	s.mu.Unlock()
	return err
}

// newPeer starts go-smtp's server on loopback and returns its address
// and the transactions it received.
func newPeer(t *testing.T) (netip.AddrPort, func() []peerTx) {
	t.Helper()
	var mu sync.Mutex
	var txs []peerTx
	s := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) {
		return &peerSession{mu: &mu, txs: &txs}, nil
	}))
	s.Domain = "peer.example.test"
	s.EnableDSN = true
	s.MaxLineLength = 1000
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return netip.MustParseAddrPort(l.Addr().String()), func() []peerTx {
		mu.Lock()
		defer mu.Unlock()
		return append([]peerTx(nil), txs...)
	}
}

// TestSendToGoSMTP: a pipelined transaction as an independent server
// reads it: the quoted sender path with its parameters, a refused and an
// accepted recipient, the data unstuffed and with its long line broken.
func TestSendToGoSMTP(t *testing.T) {
	addr, txs := newPeer(t)
	var dial net.Dialer
	c, err := Dial(context.Background(), dial.DialContext, "peer.example.test", addr,
		&Config{Helo: "client.example", Timeouts: testTimeouts, LineLimit: 998}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	defer c.Quit()
	if err := c.Greet(); err != nil {
		t.Fatal(err)
	}
	if x := c.Ext(); !x.Pipelining || !x.DSN || !x.EightBitMIME || !x.Enhanced {
		t.Fatalf("extensions %+v", x)
	}
	long := strings.Repeat("x", 1500)
	msg := "Subject: test\r\n\r\n.leading dot\r\n" + long + "\r\n"
	tx := Transaction{
		Mail:  Mail{From: `"x> RET=FULL"@example.org`, Size: int64(len(msg)), Body: "8BITMIME", Ret: "HDRS", EnvID: "id+1"},
		Rcpts: []Rcpt{{To: "unknown@example.net"}, {To: "user@example.net", Notify: "FAILURE"}},
		Data:  func(w io.Writer) error { _, err := io.WriteString(w, msg); return err },
	}
	if err := c.Send(&tx); err != nil {
		t.Fatal(err)
	}
	a0, a1 := tx.Answers[0], tx.Answers[1]
	if a0.In != "RCPT TO" || a0.Reply.Code != 550 || a0.Reply.DSN() != "5.1.1" || a0.Reply.String() != "550 5.1.1 No such user" {
		t.Errorf("refused recipient: %+v", a0)
	}
	if a1.In != "end of DATA" || a1.Reply.Class() != 2 || !tx.Folded {
		t.Errorf("accepted recipient: %+v, folded %v", a1, tx.Folded)
	}
	got := txs()
	if len(got) != 1 {
		t.Fatalf("peer saw %d transactions", len(got))
	}
	p := got[0]
	if p.from != `"x> RET=FULL"@example.org` || p.opts.Return != gosmtp.DSNReturnHeaders || p.opts.EnvelopeID != "id+1" ||
		p.opts.Size != int64(len(msg)) || p.opts.Body != gosmtp.Body8BitMIME {
		t.Errorf("MAIL FROM as the peer read it: %q %+v", p.from, p.opts)
	}
	if len(p.rcpts) != 1 || p.rcpts[0] != "user@example.net" {
		t.Errorf("recipients %q", p.rcpts)
	}
	want := "Subject: test\r\n\r\n.leading dot\r\n" + long[:998] + "\r\n " + long[998:] + "\r\n"
	if p.data != want {
		t.Errorf("data as the peer read it: %.80q", p.data)
	}
	// The session can carry another transaction.
	if err := c.Send(&tx); err != nil || tx.Answers[1].Reply.Class() != 2 || c.Broken() {
		t.Errorf("second transaction: %v, %+v", err, tx.Answers)
	}
}

// scripted is a server that sends each of its lines in answer to a
// command line, in one write, and records what it read.
func scripted(t *testing.T, greeting string, replies ...string) netip.AddrPort {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { l.Close() })
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		io.WriteString(conn, greeting)
		buf := make([]byte, 4096)
		for _, r := range replies {
			if _, err := conn.Read(buf); err != nil {
				return
			}
			io.WriteString(conn, r)
		}
		io.Copy(io.Discard, conn)
	}()
	return netip.MustParseAddrPort(l.Addr().String())
}

func dialScripted(t *testing.T, addr netip.AddrPort) *Client {
	t.Helper()
	var dial net.Dialer
	c, err := Dial(context.Background(), dial.DialContext, "mx.example.test", addr,
		&Config{Helo: "client.example", Timeouts: testTimeouts}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	return c
}

// TestStartTLSInjection: what a server sends in plaintext after its 220
// to STARTTLS would be read as if it had come through TLS (the client
// side of CVE-2011-0411): the session ends before the handshake.
func TestStartTLSInjection(t *testing.T) {
	addr := scripted(t, "220 mx.example.test ESMTP\r\n",
		"250-mx.example.test\r\n250 STARTTLS\r\n",
		"220 2.0.0 Ready\r\n250 2.1.0 injected\r\n")
	c := dialScripted(t, addr)
	if err := c.Greet(); err != nil {
		t.Fatal(err)
	}
	err := c.StartTLS(context.Background(), &tls.Config{InsecureSkipVerify: true})
	var ioe *IOError
	if !errors.As(err, &ioe) || ioe.Phase != "starting TLS" || !c.Broken() {
		t.Fatalf("StartTLS: %v (broken %v)", err, c.Broken())
	}
	if want := "lost connection with mx.example.test[" + addr.Addr().String() + "]:"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q", err)
	}
}

// TestGreetRefusals: a 5xx to EHLO falls back to HELO, without
// extensions; a refused greeting or HELO is a *Refusal naming the
// command.
func TestGreetRefusals(t *testing.T) {
	c := dialScripted(t, scripted(t, "220 old.example.test\r\n", "502 5.5.2 What?\r\n", "250 old.example.test\r\n"))
	if err := c.Greet(); err != nil || c.Ext() != (Extensions{}) {
		t.Errorf("HELO fallback: %v, %+v", err, c.Ext())
	}
	c = dialScripted(t, scripted(t, "554 5.7.1 go away\r\n"))
	var ref *Refusal
	if err := c.Greet(); !errors.As(err, &ref) || ref.In != "" || ref.Reply.DSN() != "5.7.1" {
		t.Errorf("greeting refused: %v", err)
	}
	c = dialScripted(t, scripted(t, "220 old.example.test\r\n", "500 no\r\n", "421 4.3.2 closing\r\n"))
	if err := c.Greet(); !errors.As(err, &ref) || ref.In != "HELO" || !c.Broken() {
		t.Errorf("HELO refused: %v, broken %v", err, c.Broken())
	}
}

// TestAbort: Abort from another goroutine ends a wait for a server that
// says nothing, and the session is broken afterwards.
func TestAbort(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	go func() {
		if conn, err := l.Accept(); err == nil {
			defer conn.Close()
			io.Copy(io.Discard, conn)
		}
	}()
	c := dialScripted(t, netip.MustParseAddrPort(l.Addr().String()))
	time.AfterFunc(50*time.Millisecond, c.Abort)
	start := time.Now()
	err = c.Greet()
	var ioe *IOError
	if !errors.As(err, &ioe) || !c.Broken() || time.Since(start) > 4*time.Second {
		t.Errorf("Greet after Abort: %v after %v", err, time.Since(start))
	}
}

// TestConnectError renders a refused connection in Postfix's words.
func TestConnectError(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := netip.MustParseAddrPort(l.Addr().String())
	l.Close()
	var dial net.Dialer
	_, err = Dial(context.Background(), dial.DialContext, "mx.example.test", addr, &Config{Timeouts: testTimeouts}, time.Now())
	if want := "connect to mx.example.test[127.0.0.1]:" + strconv.Itoa(int(addr.Port())) + ": Connection refused"; err == nil || err.Error() != want {
		t.Errorf("error %v, want %s", err, want)
	}
}

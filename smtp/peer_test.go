package smtp

import (
	"bytes"
	"fmt"
	"io"
	"net"
	"strings"
	"sync"
	"testing"

	gosmtp "github.com/emersion/go-smtp"
)

// peer is github.com/emersion/go-smtp's server on loopback: a receiver
// written apart from this client, so that a test checks what an
// independent SMTP parser makes of what the agent sends, not what a
// fake written beside the client (with the same misreadings) makes of
// it. It records each transaction as go-smtp's backend sees it, and the
// raw bytes the client wrote.
type peer struct {
	srv  *gosmtp.Server
	port int

	mu   sync.Mutex
	txs  []*peerTx
	wire bytes.Buffer // everything the client wrote (and the server's replies)
}

// peerTx is one transaction as the peer's backend saw it.
type peerTx struct {
	from     string
	mailOpts gosmtp.MailOptions
	rcpts    []string
	rcptOpts []gosmtp.RcptOptions
	data     []byte // dot-unstuffed
	dataErr  error  // go-smtp's verdict on the data, such as a line too long
}

type peerSession struct {
	p  *peer
	tx *peerTx
}

func (s *peerSession) Reset()        { s.tx = nil }
func (s *peerSession) Logout() error { return nil }

func (s *peerSession) Mail(from string, opts *gosmtp.MailOptions) error {
	s.tx = &peerTx{from: from}
	if opts != nil {
		s.tx.mailOpts = *opts
	}
	return nil
}

func (s *peerSession) Rcpt(to string, opts *gosmtp.RcptOptions) error {
	s.tx.rcpts = append(s.tx.rcpts, to)
	var o gosmtp.RcptOptions
	if opts != nil {
		o = *opts
	}
	s.tx.rcptOpts = append(s.tx.rcptOpts, o)
	return nil
}

func (s *peerSession) Data(r io.Reader) error {
	s.tx.data, s.tx.dataErr = io.ReadAll(r)
	s.p.mu.Lock()
	s.p.txs = append(s.p.txs, s.tx)
	s.p.mu.Unlock()
	return s.tx.dataErr
}

// peerWire is the server's Debug sink, under the peer's lock.
type peerWire struct{ p *peer }

func (w peerWire) Write(b []byte) (int, error) {
	w.p.mu.Lock()
	defer w.p.mu.Unlock()
	return w.p.wire.Write(b)
}

// newPeer starts the go-smtp server with DSN and SMTPUTF8 on. A line of
// message data longer than RFC 5321 §4.5.3.1.6 allows (1000 octets with
// CRLF) makes it refuse the message, as a strict receiver does.
func newPeer(t *testing.T) *peer {
	t.Helper()
	p := &peer{}
	s := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) {
		return &peerSession{p: p}, nil
	}))
	s.Domain = "peer.example.test"
	s.EnableDSN = true
	s.EnableSMTPUTF8 = true
	s.AllowInsecureAuth = true
	s.MaxLineLength = 1000
	s.Debug = peerWire{p}
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p.srv, p.port = s, l.Addr().(*net.TCPAddr).Port
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	return p
}

func (p *peer) nexthop() string { return fmt.Sprintf("[127.0.0.1]:%d", p.port) }

func (p *peer) Txs() []*peerTx {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]*peerTx(nil), p.txs...)
}

// Commands returns the lines the client sent that start with verb
// ("MAIL FROM:"), as they were on the wire.
func (p *peer) Commands(verb string) []string {
	p.mu.Lock()
	defer p.mu.Unlock()
	var out []string
	for _, l := range strings.Split(p.wire.String(), "\r\n") {
		if strings.HasPrefix(strings.ToUpper(l), verb) {
			out = append(out, l)
		}
	}
	return out
}

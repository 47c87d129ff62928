package e2e

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"net"
	"strings"
	"sync"
	"testing"
	"time"
)

// Sink is a receiving SMTP server on loopback standing in for the rest of
// the world in outbound tests: it records every transaction and answers
// as the test says.
type Sink struct {
	t    *testing.T
	l    net.Listener
	Port int
	// TLS, when set, makes the sink offer STARTTLS with this config.
	TLS *tls.Config
	// Rcpt answers RCPT TO for addr; nil accepts everything.
	Rcpt func(addr string) string
	// Data answers the end of a message; nil accepts it.
	Data      func(tx *SinkTx) string
	dataDelay time.Duration // see SetDataDelay

	mu    sync.Mutex
	txs   []*SinkTx
	conns int
	cond  *sync.Cond
}

// SinkTx is one transaction the sink completed with a 250.
type SinkTx struct {
	From  string
	Rcpts []string // those accepted at RCPT
	Data  []byte   // dot-unstuffed, CRLF line ends
	TLS   bool
	Helo  string
}

// NewSink starts a sink on 127.0.0.1 and a free port.
func NewSink(t *testing.T) *Sink {
	t.Helper()
	return NewSinkAt(t, "127.0.0.1:0")
}

// NewSinkAt starts a sink listening on addr.
func NewSinkAt(t *testing.T, addr string) *Sink {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &Sink{t: t, l: l, Port: l.Addr().(*net.TCPAddr).Port}
	s.cond = sync.NewCond(&s.mu)
	go s.serve()
	t.Cleanup(func() { l.Close() })
	return s
}

func (s *Sink) serve() {
	for {
		c, err := s.l.Accept()
		if err != nil {
			return
		}
		s.mu.Lock()
		s.conns++
		s.mu.Unlock()
		go s.session(c)
	}
}

// SetDataDelay makes the sink hold its reply to the end of a message.
func (s *Sink) SetDataDelay(d time.Duration) {
	s.mu.Lock()
	s.dataDelay = d
	s.mu.Unlock()
}

// Txs returns the transactions so far.
func (s *Sink) Txs() []*SinkTx {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]*SinkTx(nil), s.txs...)
}

// Conns returns how many connections the sink accepted.
func (s *Sink) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

// Wait returns the transactions once there are at least n.
func (s *Sink) Wait(n int, timeout time.Duration) []*SinkTx {
	s.t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		if txs := s.Txs(); len(txs) >= n {
			return txs
		}
		if time.Now().After(deadline) {
			s.t.Fatalf("sink: %d transactions after %v, want %d", len(s.Txs()), timeout, n)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (s *Sink) session(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(60 * time.Second))
	r, w := bufio.NewReader(c), bufio.NewWriter(c)
	say := func(line string) { w.WriteString(line + "\r\n") }
	say("220 sink.example ESMTP test sink")
	w.Flush()
	var tx *SinkTx
	isTLS, helo := false, ""
	for {
		line, err := r.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimRight(line, "\r\n")
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			helo = arg
			say("250-sink.example")
			say("250-PIPELINING")
			say("250-8BITMIME")
			say("250-DSN")
			if s.TLS != nil && !isTLS {
				say("250-STARTTLS")
			}
			say("250 SIZE 100000000")
		case "HELO":
			helo = arg
			say("250 sink.example")
		case "STARTTLS":
			if s.TLS == nil || isTLS {
				say("502 5.5.1 no")
				break
			}
			say("220 2.0.0 go ahead")
			w.Flush()
			tc := tls.Server(c, s.TLS)
			if err := tc.Handshake(); err != nil {
				return
			}
			c, isTLS = tc, true
			r, w = bufio.NewReader(tc), bufio.NewWriter(tc)
			say = func(line string) { w.WriteString(line + "\r\n") }
			tx = nil
			continue // nothing to flush
		case "MAIL":
			addr := arg[strings.IndexByte(arg, '<')+1 : strings.IndexByte(arg, '>')]
			tx = &SinkTx{From: addr, TLS: isTLS, Helo: helo}
			say("250 2.1.0 ok")
		case "RCPT":
			if tx == nil {
				say("503 5.5.1 need MAIL")
				break
			}
			addr := arg[strings.IndexByte(arg, '<')+1 : strings.IndexByte(arg, '>')]
			reply := "250 2.1.5 ok"
			if s.Rcpt != nil {
				reply = s.Rcpt(addr)
			}
			if strings.HasPrefix(reply, "250") {
				tx.Rcpts = append(tx.Rcpts, addr)
			}
			say(reply)
		case "DATA":
			if tx == nil || len(tx.Rcpts) == 0 {
				say("554 5.5.1 no valid recipients")
				break
			}
			say("354 go ahead")
			w.Flush()
			var data bytes.Buffer
			for {
				l, err := r.ReadString('\n')
				if err != nil {
					return
				}
				if l == ".\r\n" {
					break
				}
				data.WriteString(strings.TrimPrefix(l, "."))
			}
			tx.Data = data.Bytes()
			reply := "250 2.0.0 ok: queued"
			if s.Data != nil {
				reply = s.Data(tx)
			}
			s.mu.Lock()
			delay := s.dataDelay
			s.mu.Unlock()
			time.Sleep(delay)
			if strings.HasPrefix(reply, "250") {
				s.mu.Lock()
				s.txs = append(s.txs, tx)
				s.mu.Unlock()
			}
			tx = nil
			say(reply)
		case "RSET":
			tx = nil
			say("250 2.0.0 ok")
		case "NOOP":
			say("250 2.0.0 ok")
		case "QUIT":
			say("221 2.0.0 bye")
			w.Flush()
			return
		default:
			say("502 5.5.2 unknown command")
		}
		if r.Buffered() == 0 {
			w.Flush()
		}
	}
}

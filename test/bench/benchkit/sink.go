package benchkit

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"io"
	"net"
	"strconv"
	"sync"
	"sync/atomic"
	"time"

	gosmtp "github.com/emersion/go-smtp"
)

// Received is one message a Sink took.
type Received struct {
	Rcpts []string
	Size  int64    // bytes of DATA as the sink read them
	Body  [32]byte // BodyHasher's hash of the body
}

// Sink is a loopback SMTP server that takes mail as a relayhost would and
// keeps nothing of it but its size and the hash of its body (it streams
// DATA, so a message of any size costs it a buffer), or, when it defers,
// answers every RCPT with 451 4.3.0, as a destination that is down for a
// while does.
type Sink struct {
	Addr     string // 127.0.0.1:PORT
	srv      *gosmtp.Server
	defer_   bool
	keep     bool
	mu       sync.Mutex
	got      []Received
	lat      []time.Duration // of the messages counted since TakeLatencies
	count    atomic.Int64    // messages taken
	deferred atomic.Int64    // RCPTs answered 451
}

// StartSink starts a sink on a free loopback port. A deferring sink
// refuses every recipient with 451; one that keeps records each message
// (Messages), one that does not only counts them (for many).
func StartSink(deferAll, keep bool) (*Sink, error) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		return nil, err
	}
	s := &Sink{Addr: l.Addr().String(), defer_: deferAll, keep: keep}
	s.srv = gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) {
		return &sinkSession{s: s}, nil
	}))
	s.srv.Domain = "sink.example.net"
	s.srv.MaxMessageBytes = 0
	s.srv.MaxRecipients = 0
	s.srv.MaxLineLength = 2000
	go s.srv.Serve(l)
	return s, nil
}

// Nexthop is the sink as relayhost or a transport_maps next hop names it.
func (s *Sink) Nexthop() string {
	_, port, _ := net.SplitHostPort(s.Addr)
	return fmt.Sprintf("[127.0.0.1]:%s", port)
}

// Count is the number of messages taken so far.
func (s *Sink) Count() int64 { return s.count.Load() }

// Deferred is the number of recipients answered 451 so far.
func (s *Sink) Deferred() int64 { return s.deferred.Load() }

// Messages returns the messages kept so far.
func (s *Sink) Messages() []Received {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Received(nil), s.got...)
}

// TakeLatencies returns how long each message counted since the last
// call took from the start of its DATA at the sender (the time in its
// Message-ID, Message.Write's) to the end of its DATA here, and forgets
// them.
func (s *Sink) TakeLatencies() []time.Duration {
	s.mu.Lock()
	defer s.mu.Unlock()
	l := s.lat
	s.lat = nil
	return l
}

// sentTime reads the header of a message and returns the time in its
// Message-ID if Message.Write made it (<UNIXNANO.bench@example.com>),
// else the zero time.
func sentTime(r *bufio.Reader) (time.Time, error) {
	var sent time.Time
	for {
		line, err := r.ReadSlice('\n')
		if err != nil && err != bufio.ErrBufferFull {
			return sent, err
		}
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			return sent, nil
		}
		if v, ok := bytes.CutPrefix(line, []byte("Message-ID: <")); ok {
			if num, _, ok := bytes.Cut(v, []byte(".bench@")); ok {
				if ns, err := strconv.ParseInt(string(num), 10, 64); err == nil {
					sent = time.Unix(0, ns)
				}
			}
		}
		for err == bufio.ErrBufferFull { // a line longer than the buffer
			_, err = r.ReadSlice('\n')
		}
	}
}

// Close stops the sink.
func (s *Sink) Close() error { return s.srv.Close() }

type sinkSession struct {
	s     *Sink
	rcpts []string
}

func (ss *sinkSession) Reset()        { ss.rcpts = nil }
func (ss *sinkSession) Logout() error { return nil }
func (ss *sinkSession) Mail(string, *gosmtp.MailOptions) error {
	return nil
}

func (ss *sinkSession) Rcpt(to string, _ *gosmtp.RcptOptions) error {
	if ss.s.defer_ {
		ss.s.deferred.Add(1)
		return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0}, Message: "try later"}
	}
	ss.rcpts = append(ss.rcpts, to)
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	if !ss.s.keep {
		br := bufio.NewReaderSize(r, 64<<10)
		sent, herr := sentTime(br)
		_, err := io.Copy(io.Discard, br)
		if err == nil && herr == nil {
			if !sent.IsZero() {
				ss.s.mu.Lock()
				ss.s.lat = append(ss.s.lat, time.Since(sent))
				ss.s.mu.Unlock()
			}
			ss.s.count.Add(1)
		}
		return cmp.Or(herr, err)
	}
	h := NewBodyHasher()
	if _, err := io.Copy(h, r); err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.s.got = append(ss.s.got, Received{Rcpts: ss.rcpts, Size: h.N, Body: h.Sum()})
	ss.s.mu.Unlock()
	ss.s.count.Add(1)
	return nil
}

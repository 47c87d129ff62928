package e2e

import (
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	gosasl "github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"
)

// Sink is github.com/emersion/go-smtp's server on loopback, standing in
// for the rest of the world in outbound tests: an SMTP parser written
// apart from postern's client, so that a misreading of the RFC shared by
// the client and a sink written beside it (unquoted local parts were one)
// cannot pass. It records every transaction as go-smtp's backend sees it
// and answers as the test says. A test that needs a server misbehaving
// in ways go-smtp will not (outbound_hostile_test.go's) keeps its own.
type Sink struct {
	t    *testing.T
	srv  *gosmtp.Server
	Port int
	// Rcpt answers RCPT TO for addr, the mailbox as go-smtp parsed it (a
	// quoted local part arrives unquoted), with a reply line such as
	// "550 5.1.1 no such user"; nil accepts everything. A 2yz is
	// answered with go-smtp's own 250 text.
	Rcpt func(addr string) string
	// Data answers the end of a message, as Rcpt does; nil accepts it
	// with go-smtp's "250 2.0.0 OK: queued".
	Data func(tx *SinkTx) string

	auth *SinkAuth // see NewSinkAuth; nil: no AUTH

	mu        sync.Mutex
	txs       []*SinkTx
	auths     []SinkLogin
	conns     int
	dataDelay time.Duration // see SetDataDelay
	closed    bool          // no more t.Logf: the test is over
}

// SinkTx is one transaction the sink completed with a 250.
type SinkTx struct {
	From     string // "" for the null reverse-path
	MailOpts gosmtp.MailOptions
	Rcpts    []string // those accepted at RCPT, as go-smtp parsed them
	RcptOpts []gosmtp.RcptOptions
	Data     []byte // dot-unstuffed, CRLF line ends
	TLS      bool
	Helo     string
}

// sinkMaxLine is RFC 5321 §4.5.3.1.6's limit on a line, CRLF included
// (go-smtp counts it so): a longer line of message data makes the sink
// refuse the message, as a strict receiver does. go-smtp's default is
// twice that.
const sinkMaxLine = 1000

// NewSink starts a sink on 127.0.0.1 and a free port.
func NewSink(t *testing.T) *Sink {
	t.Helper()
	return newSink(t, "127.0.0.1:0", nil, nil)
}

// NewSinkAt starts a sink listening on addr.
func NewSinkAt(t *testing.T, addr string) *Sink {
	t.Helper()
	return newSink(t, addr, nil, nil)
}

// NewSinkTLS starts a sink on a free port that offers STARTTLS with cfg
// (none if cfg is nil).
func NewSinkTLS(t *testing.T, cfg *tls.Config) *Sink {
	t.Helper()
	return newSink(t, "127.0.0.1:0", cfg, nil)
}

// SinkAuth is what a sink that stands for a smarthost requires: a login
// (RFC 4954 AUTH) before MAIL, which it refuses with 530 5.7.0 until
// then. It offers PLAIN, checked by github.com/emersion/go-sasl's server,
// and LOGIN, which go-sasl has no server for (sinkLogin below).
type SinkAuth struct {
	User, Password string
	// Plaintext offers AUTH outside TLS too (go-smtp's
	// AllowInsecureAuth): a trap for a client that would send its
	// password in the clear. go-smtp offers it inside TLS only by
	// default.
	Plaintext bool
}

// SinkLogin is one AUTH exchange the sink completed, either way.
type SinkLogin struct {
	Mech, User string
	OK, TLS    bool
}

// NewSinkAuth starts a sink on a free port that offers STARTTLS with cfg
// (none if cfg is nil) and requires the login auth.
func NewSinkAuth(t *testing.T, cfg *tls.Config, auth SinkAuth) *Sink {
	t.Helper()
	return newSink(t, "127.0.0.1:0", cfg, &auth)
}

// Logins returns the AUTH exchanges so far.
func (s *Sink) Logins() []SinkLogin {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]SinkLogin(nil), s.auths...)
}

func newSink(t *testing.T, addr string, cfg *tls.Config, auth *SinkAuth) *Sink {
	t.Helper()
	l, err := net.Listen("tcp", addr)
	if err != nil {
		t.Fatal(err)
	}
	s := &Sink{t: t, Port: l.Addr().(*net.TCPAddr).Port, auth: auth}
	srv := gosmtp.NewServer(gosmtp.BackendFunc(func(c *gosmtp.Conn) (gosmtp.Session, error) {
		return &sinkSession{s: s, c: c}, nil
	}))
	srv.Domain = "sink.example"
	srv.TLSConfig = cfg
	srv.EnableDSN = true
	srv.EnableSMTPUTF8 = true
	srv.MaxLineLength = sinkMaxLine
	srv.MaxMessageBytes = 100_000_000
	srv.ReadTimeout, srv.WriteTimeout = 60*time.Second, 60*time.Second
	srv.ErrorLog = sinkLog{s}
	srv.AllowInsecureAuth = auth != nil && auth.Plaintext
	s.srv = srv
	go srv.Serve(countingListener{l, s})
	t.Cleanup(func() {
		s.mu.Lock()
		s.closed = true
		s.mu.Unlock()
		srv.Close()
	})
	return s
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

// countingListener counts the connections it hands to go-smtp.
type countingListener struct {
	net.Listener
	s *Sink
}

func (l countingListener) Accept() (net.Conn, error) {
	c, err := l.Listener.Accept()
	if err == nil {
		l.s.mu.Lock()
		l.s.conns++
		l.s.mu.Unlock()
	}
	return c, err
}

// sinkLog puts go-smtp's error log (failed handshakes, refused lines) in
// the test's log while the test runs.
type sinkLog struct{ s *Sink }

func (l sinkLog) Printf(format string, v ...any) { l.log(fmt.Sprintf(format, v...)) }
func (l sinkLog) Println(v ...any)               { l.log(fmt.Sprintln(v...)) }

func (l sinkLog) log(msg string) {
	l.s.mu.Lock()
	defer l.s.mu.Unlock()
	if !l.s.closed {
		l.s.t.Logf("sink: %s", strings.TrimSuffix(msg, "\n"))
	}
}

// sinkSession is one connection's session; go-smtp starts another after
// STARTTLS (which forgets a login before it, as RFC 3207 §4.2 wants).
type sinkSession struct {
	s      *Sink
	c      *gosmtp.Conn
	tx     *SinkTx
	authed bool
}

// AuthMechanisms makes sinkSession a go-smtp AuthSession: none are
// offered, and AUTH is not announced, without SinkAuth.
func (ss *sinkSession) AuthMechanisms() []string {
	if ss.s.auth == nil {
		return nil
	}
	return []string{gosasl.Plain, gosasl.Login}
}

func (ss *sinkSession) Auth(mech string) (gosasl.Server, error) {
	check := func(user, pass string) error {
		_, isTLS := ss.c.TLSConnectionState()
		ok := user == ss.s.auth.User && pass == ss.s.auth.Password
		ss.s.mu.Lock()
		ss.s.auths = append(ss.s.auths, SinkLogin{Mech: mech, User: user, OK: ok, TLS: isTLS})
		ss.s.mu.Unlock()
		if !ok {
			return gosmtp.ErrAuthFailed // 535 5.7.8 Authentication failed
		}
		ss.authed = true
		return nil
	}
	switch mech {
	case gosasl.Plain:
		return gosasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				return gosmtp.ErrAuthFailed
			}
			return check(user, pass)
		}), nil
	case gosasl.Login:
		return &sinkLogin{check: check}, nil
	}
	return nil, gosmtp.ErrAuthUnknownMechanism
}

// sinkLogin is LOGIN's server side (draft-murchison-sasl-login) for
// go-sasl's interface: "Username:", then "Password:"; a user name sent
// as an initial response skips the first.
type sinkLogin struct {
	check func(user, pass string) error
	user  []byte
	asked bool
}

func (l *sinkLogin) Next(resp []byte) ([]byte, bool, error) {
	switch {
	case resp == nil && !l.asked:
		l.asked = true
		return []byte("Username:"), false, nil
	case l.user == nil:
		l.user = resp
		return []byte("Password:"), false, nil
	}
	return nil, true, l.check(string(l.user), string(resp))
}

func (ss *sinkSession) Reset()        { ss.tx = nil }
func (ss *sinkSession) Logout() error { return nil }

func (ss *sinkSession) Mail(from string, opts *gosmtp.MailOptions) error {
	if ss.s.auth != nil && !ss.authed {
		// RFC 4954 §6.
		return &gosmtp.SMTPError{Code: 530, EnhancedCode: gosmtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	_, isTLS := ss.c.TLSConnectionState()
	ss.tx = &SinkTx{From: from, TLS: isTLS, Helo: ss.c.Hostname()}
	if opts != nil {
		ss.tx.MailOpts = *opts
	}
	return nil
}

func (ss *sinkSession) Rcpt(to string, opts *gosmtp.RcptOptions) error {
	if ss.s.Rcpt != nil {
		if err := sinkReply(ss.s.Rcpt(to)); err != nil {
			return err
		}
	}
	var o gosmtp.RcptOptions
	if opts != nil {
		o = *opts
	}
	ss.tx.Rcpts = append(ss.tx.Rcpts, to)
	ss.tx.RcptOpts = append(ss.tx.RcptOpts, o)
	return nil
}

func (ss *sinkSession) Data(r io.Reader) error {
	data, err := io.ReadAll(r)
	if err != nil {
		// go-smtp's verdict (a line or message too long): it answers
		// with a 5yz and the message is not recorded.
		return err
	}
	tx := ss.tx
	tx.Data = data
	reply := "250 2.0.0 OK: queued"
	if ss.s.Data != nil {
		reply = ss.s.Data(tx)
	}
	ss.s.mu.Lock()
	delay := ss.s.dataDelay
	ss.s.mu.Unlock()
	time.Sleep(delay)
	if err := sinkReply(reply); err != nil {
		return err
	}
	ss.s.mu.Lock()
	ss.s.txs = append(ss.s.txs, tx)
	ss.s.mu.Unlock()
	return nil
}

// sinkReply turns a reply line a test chose ("550 5.1.1 text", or
// without the enhanced code) into what a go-smtp session returns: nil
// for a 2yz, else an *SMTPError that go-smtp sends as it is.
func sinkReply(line string) error {
	code, text, _ := strings.Cut(line, " ")
	n, err := strconv.Atoi(code)
	if err != nil || n < 200 || n > 599 {
		return &gosmtp.SMTPError{Code: 451, EnhancedCode: gosmtp.EnhancedCode{4, 3, 0},
			Message: fmt.Sprintf("sink: the test's hook answered %q, not a reply", line)}
	}
	if n/100 == 2 {
		return nil
	}
	e := &gosmtp.SMTPError{Code: n, EnhancedCode: gosmtp.NoEnhancedCode, Message: text}
	if enh, rest, ok := strings.Cut(text, " "); ok {
		var a, b, c int
		if k, _ := fmt.Sscanf(enh, "%d.%d.%d", &a, &b, &c); k == 3 && a == n/100 {
			e.EnhancedCode, e.Message = gosmtp.EnhancedCode{a, b, c}, rest
		}
	}
	return e
}

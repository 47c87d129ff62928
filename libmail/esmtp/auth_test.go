package esmtp

import (
	"bufio"
	"context"
	"crypto/tls"
	"errors"
	"io"
	"net"
	"net/netip"
	"strings"
	"sync"
	"testing"
	"time"

	gosasl "github.com/emersion/go-sasl"
	gosmtp "github.com/emersion/go-smtp"

	"postern.dev/postern/libmail/sasl"
	"postern.dev/postern/libmail/testkit"
)

// authPeer is go-smtp's server requiring AUTH, which it offers only
// inside TLS, before MAIL: PLAIN through go-sasl's server, LOGIN
// through loginServer below. Neither shares code with the client.
type authPeer struct {
	addr       netip.AddrPort
	user, pass string

	mu     sync.Mutex
	authed []string // "MECH user" for each successful AUTH
	mails  []string // MAIL FROM of each transaction, with the user it ran as
}

func newAuthPeer(t *testing.T, user, pass string) *authPeer {
	t.Helper()
	p := &authPeer{user: user, pass: pass}
	pki := testkit.NewPKI(t, "peer.example.test")
	s := gosmtp.NewServer(gosmtp.BackendFunc(func(*gosmtp.Conn) (gosmtp.Session, error) {
		return &authPeerSession{p: p}, nil
	}))
	s.Domain = "peer.example.test"
	s.TLSConfig = pki.ServerConfig()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	go s.Serve(l)
	t.Cleanup(func() { s.Close() })
	p.addr = netip.MustParseAddrPort(l.Addr().String())
	return p
}

type authPeerSession struct {
	p    *authPeer
	user string
}

func (s *authPeerSession) AuthMechanisms() []string { return []string{"PLAIN", "LOGIN"} }

func (s *authPeerSession) Auth(mech string) (gosasl.Server, error) {
	check := func(user, pass string) error {
		if user != s.p.user || pass != s.p.pass {
			return gosmtp.ErrAuthFailed
		}
		s.user = user
		s.p.mu.Lock()
		s.p.authed = append(s.p.authed, mech+" "+user)
		s.p.mu.Unlock()
		return nil
	}
	switch mech {
	case "PLAIN":
		return gosasl.NewPlainServer(func(identity, user, pass string) error {
			if identity != "" && identity != user {
				return gosmtp.ErrAuthFailed
			}
			return check(user, pass)
		}), nil
	case "LOGIN":
		return &loginServer{check: check}, nil
	}
	return nil, gosmtp.ErrAuthUnknownMechanism
}

func (s *authPeerSession) Mail(from string, _ *gosmtp.MailOptions) error {
	if s.user == "" {
		return &gosmtp.SMTPError{Code: 530, EnhancedCode: gosmtp.EnhancedCode{5, 7, 0}, Message: "Authentication required"}
	}
	s.p.mu.Lock()
	s.p.mails = append(s.p.mails, from+" as "+s.user)
	s.p.mu.Unlock()
	return nil
}

func (s *authPeerSession) Rcpt(string, *gosmtp.RcptOptions) error { return nil }
func (s *authPeerSession) Data(r io.Reader) error                 { _, err := io.Copy(io.Discard, r); return err }
func (s *authPeerSession) Reset()                                 {}
func (s *authPeerSession) Logout() error                          { return nil }

// loginServer is the server side of LOGIN for go-sasl's interface, which
// has none: the user name (as the first response, or the initial one),
// then the password.
type loginServer struct {
	check func(user, pass string) error
	user  []byte
	step  int
}

func (l *loginServer) Next(resp []byte) ([]byte, bool, error) {
	defer func() { l.step++ }()
	switch {
	case l.step == 0 && resp == nil:
		l.step--
		return []byte("Username:"), false, nil
	case l.user == nil:
		l.user = resp
		return []byte("Password:"), false, nil
	}
	return nil, true, l.check(string(l.user), string(resp))
}

func (p *authPeer) seen() (authed, mails []string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	return append([]string(nil), p.authed...), append([]string(nil), p.mails...)
}

// dialTLS connects to the peer, greets it and starts TLS. The AUTH
// command line, as the client wrote it into the TLS connection, is sent
// to authLine if that is not nil.
func (p *authPeer) dialTLS(t *testing.T, authLine chan<- string) *Client {
	t.Helper()
	var d net.Dialer
	dial := d.DialContext
	c, err := Dial(context.Background(), dial, "peer.example.test", p.addr,
		&Config{Helo: "client.example", Timeouts: testTimeouts}, time.Now())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(c.Close)
	if err := c.Greet(); err != nil {
		t.Fatal(err)
	}
	if c.Ext().Auth != "" {
		t.Errorf("AUTH %q offered before TLS", c.Ext().Auth)
	}
	if err := c.StartTLS(context.Background(), &tls.Config{InsecureSkipVerify: true}); err != nil {
		t.Fatal(err)
	}
	if authLine != nil {
		// The writer under the buffer is swapped for one that looks at
		// the lines on their way into TLS.
		c.bw.Reset(lineSpy{deadlineWriter{c}, authLine})
	}
	return c
}

type lineSpy struct {
	w  io.Writer
	ch chan<- string
}

func (s lineSpy) Write(b []byte) (int, error) {
	if strings.HasPrefix(string(b), "AUTH ") {
		s.ch <- string(b)
	}
	return s.w.Write(b)
}

func oneMessage() *Transaction {
	return &Transaction{Mail: Mail{From: "alice@example.org"}, Rcpts: []Rcpt{{To: "bob@example.net"}},
		Data: func(w io.Writer) error { _, err := io.WriteString(w, "Subject: x\r\n\r\nhi\r\n"); return err }}
}

// TestAuthWithGoSMTP: PLAIN (with its initial response, and without it
// when the credentials are too long for the AUTH line) and LOGIN, as
// go-smtp's server takes them; the transaction then runs as the user.
func TestAuthWithGoSMTP(t *testing.T) {
	long := strings.Repeat("p", 400) // base64 of "\0user\0" and this is over 500 octets
	for _, tt := range []struct {
		mech, pass string
	}{{"PLAIN", "pa:ss word"}, {"PLAIN", long}, {"LOGIN", "pa:ss word"}} {
		p := newAuthPeer(t, "user@example.org", tt.pass)
		line := make(chan string, 1)
		c := p.dialTLS(t, line)
		if !c.Ext().OffersAuth("PLAIN") || !c.Ext().OffersAuth("LOGIN") {
			t.Fatalf("AUTH in TLS: %q", c.Ext().Auth)
		}
		sc, err := sasl.NewClient(tt.mech, "user@example.org", tt.pass)
		if err != nil {
			t.Fatal(err)
		}
		if err := c.Auth(sc); err != nil {
			t.Fatalf("%s (password of %d bytes): %v", tt.mech, len(tt.pass), err)
		}
		l := <-line
		if len(l) > maxCommandLine || !strings.HasSuffix(l, "\r\n") {
			t.Errorf("AUTH line of %d octets: %.40q", len(l), l)
		}
		if withIR := l != "AUTH "+tt.mech+"\r\n"; withIR != (tt.mech == "PLAIN" && tt.pass != long) {
			t.Errorf("%s with a password of %d bytes: initial response %v", tt.mech, len(tt.pass), withIR)
		}
		tx := oneMessage()
		if err := c.Send(tx); err != nil || tx.Answers[0].Reply.Class() != 2 {
			t.Fatalf("after AUTH: %v, %+v", err, tx.Answers)
		}
		authed, mails := p.seen()
		if len(authed) != 1 || authed[0] != tt.mech+" user@example.org" || len(mails) != 1 || mails[0] != "alice@example.org as user@example.org" {
			t.Errorf("%s: peer saw AUTH %q, MAIL %q", tt.mech, authed, mails)
		}
		c.Quit()
	}
}

// TestAuthRefused: a wrong password is the server's 535, as a *Refusal
// of AUTH; the session is still usable (for QUIT).
func TestAuthRefused(t *testing.T) {
	p := newAuthPeer(t, "user@example.org", "right")
	for _, mech := range []string{"PLAIN", "LOGIN"} {
		c := p.dialTLS(t, nil)
		sc, _ := sasl.NewClient(mech, "user@example.org", "wrong")
		err := c.Auth(sc)
		var ref *Refusal
		if !errors.As(err, &ref) || ref.In != "AUTH" || ref.Reply.Code != 535 || ref.Reply.DSN() != "5.7.8" || c.Broken() {
			t.Errorf("%s with a wrong password: %v (broken %v)", mech, err, c.Broken())
		}
		if err != nil && err.Error() != "535 5.7.8 Authentication failed" {
			t.Errorf("%s: error text %q", mech, err)
		}
		c.Quit()
	}
}

// TestAuthLoop: a server that keeps sending challenges gets "*" after
// the mechanism's last response, and nothing more of the credentials.
func TestAuthLoop(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	defer l.Close()
	lines := make(chan []string, 1)
	go func() {
		conn, err := l.Accept()
		if err != nil {
			return
		}
		defer conn.Close()
		io.WriteString(conn, "220 loop.example.test\r\n")
		br := bufio.NewReader(conn)
		var got []string
		for {
			line, err := br.ReadString('\n')
			if err != nil {
				break
			}
			line = strings.TrimSuffix(line, "\r\n")
			got = append(got, line)
			switch {
			case strings.HasPrefix(line, "EHLO"):
				io.WriteString(conn, "250-loop.example.test\r\n250 AUTH LOGIN\r\n")
			case line == "*":
				io.WriteString(conn, "501 5.7.0 cancelled\r\n")
			default:
				io.WriteString(conn, "334 VXNlcm5hbWU6\r\n")
			}
		}
		lines <- got
	}()
	c := dialScripted(t, netip.MustParseAddrPort(l.Addr().String()))
	if err := c.Greet(); err != nil {
		t.Fatal(err)
	}
	sc, _ := sasl.NewClient("LOGIN", "u", "p")
	err = c.Auth(sc)
	var le *AuthLoopError
	if !errors.As(err, &le) || !errors.Is(err, sasl.ErrSteps) || !c.Broken() {
		t.Fatalf("Auth: %v (broken %v)", err, c.Broken())
	}
	if want := "authentication protocol loop with server mx.example.test[127.0.0.1]:"; !strings.HasPrefix(err.Error(), want) {
		t.Errorf("error %q", err)
	}
	c.Close()
	got := <-lines
	if want := []string{"EHLO client.example", "AUTH LOGIN", "dQ==", "cA==", "*"}; strings.Join(got, "|") != strings.Join(want, "|") {
		t.Errorf("server read %q, want %q", got, want)
	}
}

// TestParseExtensionsAuth: the mechanisms of AUTH, and of the "AUTH="
// lines old servers add for clients older than RFC 4954, once each.
func TestParseExtensionsAuth(t *testing.T) {
	for in, want := range map[string]string{
		"250-mx\r\n250-AUTH PLAIN login\r\n250 AUTH=LOGIN CRAM-MD5\r\n": "PLAIN LOGIN CRAM-MD5",
		"250-mx\r\n250 auth=plain\r\n":                                  "PLAIN",
		"250-mx\r\n250 AUTH\r\n":                                        "",
		"250-mx\r\n250 AUTHX PLAIN\r\n":                                 "",
	} {
		r, err := parseReply([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		x := ParseExtensions(&r)
		if x.Auth != want {
			t.Errorf("%q: AUTH %q, want %q", in, x.Auth, want)
		}
		for _, m := range strings.Fields(want) {
			if !x.OffersAuth(m) {
				t.Errorf("%q: %s not offered", in, m)
			}
		}
		if x.OffersAuth("PLAI") || x.OffersAuth("") {
			t.Errorf("%q: a part of a name matched", in)
		}
	}
}

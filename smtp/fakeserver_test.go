package smtp

import (
	"bufio"
	"bytes"
	"crypto/tls"
	"encoding/base64"
	"fmt"
	"io"
	"net"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"
)

// fakeServer is a scripted SMTP server on 127.0.0.1 for the tests: it
// announces the extensions it is given, answers each command with a
// default reply unless the test's hook says otherwise, and records the
// dialogue and the messages it received.
type fakeServer struct {
	t    *testing.T
	l    net.Listener
	port int

	// Set before the first connection.
	greeting string                        // default "220 fake.example.test ESMTP"
	ext      []string                      // EHLO keywords: "PIPELINING", "SIZE 1000", "STARTTLS", ...
	tls      *tls.Config                   // STARTTLS with this; nil: 454 to STARTTLS
	badTLS   bool                          // answer STARTTLS with 220 and hang up (a broken TLS stack)
	reply    func(verb, arg string) string // "" for the default reply
	extTLS   []string                      // EHLO keywords announced only inside TLS
	auth     string                        // "user:pass": AUTH PLAIN and LOGIN take these, others get 535, and MAIL needs them
	delay    time.Duration                 // before each reply flush

	mu       sync.Mutex
	conns    int
	dialogue []string // "C: MAIL FROM:<a>", "S: 250 2.1.0 Ok", per line
	raw      [][]byte // message data as received, dot-stuffed, without the final dot line
	msgs     [][]byte // message data dot-unstuffed: what should equal the queued message
	rcpts    [][]string
	rsets    int
	tlsConns int
}

func newFakeServer(t *testing.T, ext ...string) *fakeServer {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	s := &fakeServer{t: t, l: l, port: l.Addr().(*net.TCPAddr).Port, ext: ext,
		greeting: "220 fake.example.test ESMTP"}
	var wg sync.WaitGroup
	go func() {
		for {
			c, err := l.Accept()
			if err != nil {
				return
			}
			// The dialer took s.mu before it connected (see syncServer),
			// so what the test set before the delivery is seen here.
			s.mu.Lock()
			s.conns++
			s.mu.Unlock()
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.serve(c)
			}()
		}
	}()
	servers.Store(s.addr(), s)
	t.Cleanup(func() {
		servers.Delete(s.addr())
		l.Close()
		wg.Wait()
	})
	return s
}

// servers are the running fake servers by address. Tests set a server's
// script fields (reply, tls, ...) without a lock before the agent
// connects; a connection is no synchronization the race detector knows
// of, so the test dialer takes the server's lock before it connects, and
// the server takes it after it accepts (syncServer).
var servers sync.Map

// syncServer orders everything the caller did before it before the
// fake server at addr (if any) accepts the connection made next.
func syncServer(addr string) {
	if v, ok := servers.Load(addr); ok {
		s := v.(*fakeServer)
		s.mu.Lock()
		//lint:ignore SA2001 the empty critical section is the point: it orders memory
		s.mu.Unlock()
	}
}

// addr is where the server listens.
func (s *fakeServer) addr() string { return s.l.Addr().String() }

func (s *fakeServer) record(line string) {
	s.mu.Lock()
	s.dialogue = append(s.dialogue, line)
	s.mu.Unlock()
}

// Dialogue returns the recorded lines.
func (s *fakeServer) Dialogue() []string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]string(nil), s.dialogue...)
}

// Msgs returns the messages received (unstuffed).
func (s *fakeServer) Msgs() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.msgs...)
}

// waitFor waits until the dialogue has line.
func (s *fakeServer) waitFor(t *testing.T, line string) {
	t.Helper()
	for range 500 {
		if slices.Contains(s.Dialogue(), line) {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatalf("no %q in the dialogue:\n%s", line, strings.Join(s.Dialogue(), "\n"))
}

func (s *fakeServer) TLSConns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.tlsConns
}

func (s *fakeServer) Rsets() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.rsets
}

func (s *fakeServer) Raw() [][]byte {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]byte(nil), s.raw...)
}

func (s *fakeServer) Rcpts() [][]string {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([][]string(nil), s.rcpts...)
}

func (s *fakeServer) Conns() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return s.conns
}

func (s *fakeServer) serve(c net.Conn) {
	defer c.Close()
	c.SetDeadline(time.Now().Add(30 * time.Second))
	br := bufio.NewReader(c)
	bw := bufio.NewWriter(c)
	// Replies are flushed when no more pipelined input is waiting, as a
	// real server does (RFC 2920 §3.1).
	say := func(r string) bool {
		for _, l := range strings.Split(r, "\r\n") {
			s.record("S: " + l)
		}
		bw.WriteString(r + "\r\n")
		if br.Buffered() == 0 {
			time.Sleep(s.delay)
			return bw.Flush() == nil
		}
		return true
	}
	if !say(s.greeting) || !strings.HasPrefix(s.greeting, "2") {
		bw.Flush()
		return
	}
	var rcpts []string
	inTLS, authed := false, false
	for {
		line, err := br.ReadString('\n')
		if err != nil {
			return
		}
		line = strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r")
		s.record("C: " + line)
		verb, arg, _ := strings.Cut(line, " ")
		verb = strings.ToUpper(verb)
		r := ""
		if s.reply != nil {
			r = s.reply(verb, arg)
		}
		switch verb {
		case "EHLO":
			if r == "" {
				lines := []string{"250-fake.example.test"}
				ext := s.ext
				if inTLS {
					ext = append(slices.Clone(ext), s.extTLS...)
				}
				for _, e := range ext {
					if e == "STARTTLS" && inTLS {
						continue
					}
					lines = append(lines, "250-"+e)
				}
				lines[len(lines)-1] = "250 " + lines[len(lines)-1][4:]
				r = strings.Join(lines, "\r\n")
			}
			rcpts, authed = nil, false
		case "AUTH":
			if r != "" {
				break
			}
			if s.auth == "" {
				r = "502 5.5.2 Error: command not recognized"
				break
			}
			got, ok := saslServe(arg, say, br, s.record)
			if !ok {
				r = "501 5.7.0 Authentication aborted"
				break
			}
			if got != s.auth {
				r = "535 5.7.8 Error: authentication failed: authentication failure"
				break
			}
			authed = true
			r = "235 2.7.0 Authentication successful"
		case "HELO":
			if r == "" {
				r = "250 fake.example.test"
			}
		case "STARTTLS":
			if r != "" {
				break
			}
			if s.badTLS {
				say("220 2.0.0 Ready to start TLS")
				bw.Flush()
				return
			}
			if s.tls == nil || inTLS {
				r = "454 4.7.0 TLS not available"
				break
			}
			say("220 2.0.0 Ready to start TLS")
			bw.Flush()
			tc := tls.Server(c, s.tls)
			if err := tc.Handshake(); err != nil {
				s.record("S: handshake failed: " + err.Error())
				return
			}
			s.mu.Lock()
			s.tlsConns++
			s.mu.Unlock()
			c, inTLS = tc, true
			br.Reset(c)
			bw.Reset(c)
			continue
		case "MAIL":
			if r == "" && s.auth != "" && !authed {
				r = "530 5.7.0 Authentication required"
			}
			if r == "" {
				r = "250 2.1.0 Ok"
			}
			rcpts = nil
		case "RCPT":
			if r == "" {
				r = "250 2.1.5 Ok"
			}
			if r[0] == '2' {
				addr, _, _ := strings.Cut(strings.TrimPrefix(arg, "TO:<"), ">")
				rcpts = append(rcpts, addr)
			}
		case "DATA":
			if r != "" {
				break
			}
			if len(rcpts) == 0 {
				say("554 5.5.1 Error: no valid recipients")
				continue
			}
			if !say("354 End data with <CR><LF>.<CR><LF>") {
				return
			}
			bw.Flush()
			raw, msg, err := readData(br)
			if err != nil {
				return
			}
			s.record(fmt.Sprintf("C: <%d bytes>", len(raw)))
			s.record("C: .")
			if s.reply != nil {
				r = s.reply("END", "")
			}
			s.mu.Lock()
			if r == "" {
				r = fmt.Sprintf("250 2.0.0 Ok: queued as Q%d", len(s.msgs))
			}
			s.raw = append(s.raw, raw)
			s.msgs = append(s.msgs, msg)
			s.rcpts = append(s.rcpts, rcpts)
			s.mu.Unlock()
			rcpts = nil
		case "RSET":
			s.mu.Lock()
			s.rsets++
			s.mu.Unlock()
			if r == "" {
				r = "250 2.0.0 Ok"
			}
			rcpts = nil
		case "QUIT":
			say("221 2.0.0 Bye")
			bw.Flush()
			return
		case "NOOP":
			r = "250 2.0.0 Ok"
		default:
			if r == "" {
				r = "502 5.5.2 Error: command not recognized"
			}
		}
		if !say(r) {
			return
		}
	}
}

// readData reads message data up to the line ".", returning it as sent
// and with the dot-stuffing removed.
func readData(br *bufio.Reader) (raw, msg []byte, err error) {
	var rb, mb bytes.Buffer
	for {
		line, err := br.ReadBytes('\n')
		if err != nil {
			return nil, nil, io.ErrUnexpectedEOF
		}
		if string(line) == ".\r\n" {
			return rb.Bytes(), mb.Bytes(), nil
		}
		rb.Write(line)
		if line[0] == '.' {
			line = line[1:]
		}
		mb.Write(line)
	}
}

// saslServe runs the server side of AUTH PLAIN or LOGIN: arg is what
// followed AUTH. It returns "user:pass" as the client sent them, or
// false when the client cancelled, named another mechanism or sent
// something undecodable.
func saslServe(arg string, say func(string) bool, br *bufio.Reader, record func(string)) (string, bool) {
	mech, ir, _ := strings.Cut(arg, " ")
	next := func(challenge string) (string, bool) {
		if !say("334 " + challenge) {
			return "", false
		}
		line, err := br.ReadString('\n')
		if err != nil {
			return "", false
		}
		line = strings.TrimRight(line, "\r\n")
		record("C: " + line)
		return line, line != "*"
	}
	decode := func(s string) string {
		b, _ := base64.StdEncoding.DecodeString(s)
		return string(b)
	}
	switch strings.ToUpper(mech) {
	case "PLAIN":
		if ir == "" {
			var ok bool
			if ir, ok = next(""); !ok {
				return "", false
			}
		}
		f := strings.Split(decode(ir), "\x00")
		if len(f) != 3 || f[0] != "" {
			return "", false
		}
		return f[1] + ":" + f[2], true
	case "LOGIN":
		user, ok := next("VXNlcm5hbWU6")
		if !ok {
			return "", false
		}
		pass, ok := next("UGFzc3dvcmQ6")
		if !ok {
			return "", false
		}
		return decode(user) + ":" + decode(pass), true
	}
	return "", false
}

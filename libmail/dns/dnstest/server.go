package dnstest

import (
	"fmt"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/miekg/dns"
)

// Server is a running test DNS server. Its methods are safe for
// concurrent use, including while it answers.
type Server struct {
	t         testing.TB
	addr      string
	udp, tcp  *dns.Server
	done      chan struct{} // closed by Close, ends stalled answers
	closeOnce sync.Once

	mu      sync.Mutex
	records map[string][]dns.RR // by lower-case owner name
	secure  []string            // suffixes answered with AD
	fails   map[failKey]int
	delays  map[string]time.Duration
	noChase bool
	maxUDP  int
	log     []Query
}

// Query is one question the server was asked.
type Query struct {
	Name string // as asked, fully qualified
	Type string // "MX", "AAAA", ...
	Net  string // "udp" or "tcp"
}

// New starts a server on 127.0.0.1, UDP and TCP on one free port,
// answering from zone: RFC 1035 master-file text with absolute names or
// $ORIGIN lines (several allowed), default TTL 300. It fails the test if
// zone does not parse or the server cannot start, and stops the server
// when the test ends.
func New(t testing.TB, zone string) *Server {
	t.Helper()
	s, err := Start(zone)
	if err != nil {
		t.Fatalf("dnstest: %v", err)
	}
	s.t = t
	t.Cleanup(s.Close)
	return s
}

// Start is New for a program outside a test (the benchmarks' loopback
// DNS): the caller closes the server. The methods that fail a test
// (Load, Set and the like) must not be called on it.
func Start(zone string) (*Server, error) {
	s := &Server{done: make(chan struct{}), records: map[string][]dns.RR{},
		fails: map[failKey]int{}, delays: map[string]time.Duration{}, maxUDP: 4096}
	if err := s.load(zone); err != nil {
		return nil, err
	}
	pc, l, err := listen()
	if err != nil {
		return nil, err
	}
	s.addr = l.Addr().String()
	h := dns.HandlerFunc(s.serve)
	s.udp = &dns.Server{PacketConn: pc, Handler: h}
	s.tcp = &dns.Server{Listener: l, Handler: h}
	for _, srv := range []*dns.Server{s.udp, s.tcp} {
		if err := start(srv); err != nil {
			pc.Close()
			l.Close()
			s.Close()
			return nil, err
		}
	}
	return s, nil
}

// Addr returns the server's address, "127.0.0.1:port", for both UDP and
// TCP: what goes into dns_servers.
func (s *Server) Addr() string { return s.addr }

// Close stops the server; stalled answers are dropped. New arranges for
// it to be called when the test ends; calling it again does nothing.
func (s *Server) Close() {
	s.closeOnce.Do(func() {
		close(s.done)
		for _, srv := range []*dns.Server{s.udp, s.tcp} {
			if srv != nil {
				srv.Shutdown() // fails only for a server never started
			}
		}
	})
}

// listen binds UDP and TCP to the same free port. The port the kernel
// picks for UDP may be taken for TCP, so it tries a few.
func listen() (net.PacketConn, net.Listener, error) {
	var err error
	for range 20 {
		var pc net.PacketConn
		pc, err = net.ListenPacket("udp", "127.0.0.1:0")
		if err != nil {
			return nil, nil, err
		}
		var l net.Listener
		l, err = net.Listen("tcp", pc.LocalAddr().String())
		if err == nil {
			return pc, l, nil
		}
		pc.Close()
	}
	return nil, nil, fmt.Errorf("no port free for both UDP and TCP: %w", err)
}

// start runs srv and returns once it serves, or with the error that
// stopped it from starting.
func start(srv *dns.Server) error {
	started := make(chan struct{})
	failed := make(chan error, 1)
	srv.NotifyStartedFunc = func() { close(started) }
	go func() { failed <- srv.ActivateAndServe() }()
	select {
	case <-started:
		return nil
	case err := <-failed:
		return fmt.Errorf("serve: %w", err)
	}
}

// Queries returns how many questions the server has been asked.
func (s *Server) Queries() int {
	s.mu.Lock()
	defer s.mu.Unlock()
	return len(s.log)
}

// Log returns the questions asked so far, oldest first.
func (s *Server) Log() []Query {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]Query(nil), s.log...)
}

// canonical is the form names are kept and compared in.
func canonical(name string) string { return strings.ToLower(dns.Fqdn(name)) }

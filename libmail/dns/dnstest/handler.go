package dnstest

import (
	"strings"
	"time"

	"github.com/miekg/dns"
)

// failKey names the questions a Fail or FailType applies to; qtype 0 is
// every type.
type failKey struct {
	name  string
	qtype uint16
}

// Secure marks the names under each suffix ("." for all) as validated:
// answers about them carry the AD bit, as a validating resolver's do, to
// clients that ask for it with AD or DO (RFC 6840 §5.7).
func (s *Server) Secure(suffixes ...string) {
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, suf := range suffixes {
		s.secure = append(s.secure, canonical(suf))
	}
}

// Fail makes every question about name (only that name, not the names
// below it) get rcode instead of an answer: dns.RcodeServerFailure for a
// temporary failure, dns.RcodeRefused, ... dns.RcodeSuccess undoes it.
func (s *Server) Fail(name string, rcode int) { s.setFail(failKey{canonical(name), 0}, rcode) }

// FailType is Fail for questions of one type ("AAAA", ...) only; it
// takes precedence over Fail for that type.
func (s *Server) FailType(name, typ string, rcode int) {
	s.t.Helper()
	t, ok := dns.StringToType[strings.ToUpper(typ)]
	if !ok {
		s.t.Fatalf("dnstest: unknown type %q", typ)
	}
	s.setFail(failKey{canonical(name), t}, rcode)
}

func (s *Server) setFail(k failKey, rcode int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if rcode == dns.RcodeSuccess {
		delete(s.fails, k)
		return
	}
	s.fails[k] = rcode
}

// Delay holds answers about name for d; zero undoes it. A delay longer
// than the client's timeout plays a server that never answers.
func (s *Server) Delay(name string, d time.Duration) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if d <= 0 {
		delete(s.delays, canonical(name))
		return
	}
	s.delays[canonical(name)] = d
}

// UDPSize caps answers over UDP at n bytes (at least 512; 4096 unless
// set); larger ones are truncated, for clients to ask again over TCP.
// The cap applies on top of the size the client advertises with EDNS0.
func (s *Server) UDPSize(n int) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.maxUDP = max(n, dns.MinMsgSize)
}

// serve answers one query.
func (s *Server) serve(w dns.ResponseWriter, req *dns.Msg) {
	resp := new(dns.Msg)
	if len(req.Question) != 1 || req.Opcode != dns.OpcodeQuery {
		resp.SetRcode(req, dns.RcodeFormatError)
		w.WriteMsg(resp)
		return
	}
	q := req.Question[0]
	name := canonical(q.Name)
	network := w.LocalAddr().Network()

	s.mu.Lock()
	s.log = append(s.log, Query{Name: q.Name, Type: dns.TypeToString[q.Qtype], Net: network})
	delay := s.delays[name]
	rcode, failing := s.fails[failKey{name, q.Qtype}]
	if !failing {
		rcode, failing = s.fails[failKey{name, 0}]
	}
	maxUDP := s.maxUDP
	s.mu.Unlock()

	if delay > 0 {
		select {
		case <-time.After(delay):
		case <-s.done:
			return
		}
	}

	resp.SetReply(req)
	resp.RecursionAvailable = true
	opt := req.IsEdns0()
	if failing {
		resp.Rcode = rcode
	} else {
		resp.Authoritative = true
		secure := s.answer(resp, name, q.Qtype)
		resp.AuthenticatedData = secure && (req.AuthenticatedData || opt != nil && opt.Do())
	}
	size := dns.MinMsgSize
	if opt != nil {
		resp.SetEdns0(uint16(maxUDP), opt.Do())
		size = min(int(opt.UDPSize()), maxUDP)
	}
	if network == "udp" {
		resp.Truncate(size)
	}
	w.WriteMsg(resp)
}

package dnstest

import (
	"fmt"
	"slices"
	"strings"

	"github.com/miekg/dns"
)

// maxChase bounds the CNAME chain the server follows in one answer, so a
// loop in the test data ends.
const maxChase = 16

// Add loads more records, in the syntax New takes, while the server
// runs. It fails the test on a syntax error.
func (s *Server) Add(rrs string) {
	s.t.Helper()
	if err := s.load(rrs); err != nil {
		s.t.Fatalf("dnstest: %v", err)
	}
}

// Remove deletes the records of type typ ("MX", "A", ...; "" for all) at
// name.
func (s *Server) Remove(name, typ string) {
	s.t.Helper()
	t, ok := dns.StringToType[strings.ToUpper(typ)]
	if typ != "" && !ok {
		s.t.Fatalf("dnstest: unknown type %q", typ)
	}
	name = canonical(name)
	s.mu.Lock()
	defer s.mu.Unlock()
	// Slices are replaced, never changed in place: answers being written
	// may still hold the old ones.
	kept := slices.DeleteFunc(slices.Clone(s.records[name]), func(rr dns.RR) bool {
		return typ == "" || rr.Header().Rrtype == t
	})
	if len(kept) == 0 {
		delete(s.records, name)
		return
	}
	s.records[name] = kept
}

// ChaseCNAME sets whether answers follow CNAMEs to targets in the data
// (the default). Off, a CNAME answer holds only the CNAME, as from a
// server not authoritative for the target, and the client has to ask
// for the target itself.
func (s *Server) ChaseCNAME(on bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	s.noChase = !on
}

func (s *Server) load(zone string) error {
	zp := dns.NewZoneParser(strings.NewReader(zone), ".", "")
	zp.SetDefaultTTL(300)
	var rrs []dns.RR
	for rr, ok := zp.Next(); ok; rr, ok = zp.Next() {
		rrs = append(rrs, rr)
	}
	if err := zp.Err(); err != nil {
		return fmt.Errorf("zone: %w", err)
	}
	s.mu.Lock()
	defer s.mu.Unlock()
	for _, rr := range rrs {
		name := canonical(rr.Header().Name)
		s.records[name] = append(slices.Clip(s.records[name]), rr)
	}
	return nil
}

// exists reports whether name is in the data: it has records, or names
// below it do (an empty non-terminal, RFC 8020). Callers hold s.mu.
func (s *Server) exists(name string) bool {
	if len(s.records[name]) > 0 {
		return true
	}
	for owner := range s.records {
		if owner != name && dns.IsSubDomain(name, owner) {
			return true
		}
	}
	return false
}

// isSecure reports whether name is under a suffix given to Secure.
// Callers hold s.mu.
func (s *Server) isSecure(name string) bool {
	for _, suffix := range s.secure {
		if dns.IsSubDomain(suffix, name) {
			return true
		}
	}
	return false
}

// answer fills resp for a question about name (canonical) and qtype, and
// reports whether a validating resolver would have validated it: every
// name on the CNAME chain is under a secure suffix.
func (s *Server) answer(resp *dns.Msg, name string, qtype uint16) (secure bool) {
	s.mu.Lock()
	defer s.mu.Unlock()
	secure = s.isSecure(name)
	for range maxChase {
		rrs := s.records[name]
		if found := of(rrs, qtype); len(found) > 0 {
			resp.Answer = append(resp.Answer, found...)
			return secure
		}
		if cname := of(rrs, dns.TypeCNAME); len(cname) > 0 && qtype != dns.TypeCNAME {
			resp.Answer = append(resp.Answer, cname[0])
			target := canonical(cname[0].(*dns.CNAME).Target)
			if s.noChase || !s.exists(target) {
				// Not ours: the client asks elsewhere, as RFC 1034
				// §4.3.2 leaves it to.
				return secure
			}
			name = target
			secure = secure && s.isSecure(name)
			continue
		}
		if !s.exists(name) {
			resp.Rcode = dns.RcodeNameError
		}
		if soa := s.soa(name); soa != nil {
			resp.Ns = append(resp.Ns, soa)
		}
		return secure
	}
	resp.Rcode = dns.RcodeServerFailure // a CNAME loop in the test data
	return false
}

// soa returns a copy of the SOA of the zone enclosing name, if the data
// has one. Callers hold s.mu.
func (s *Server) soa(name string) dns.RR {
	for off, end := 0, false; !end; off, end = dns.NextLabel(name, off) {
		if soa := of(s.records[name[off:]], dns.TypeSOA); len(soa) > 0 {
			return soa[0]
		}
	}
	if soa := of(s.records["."], dns.TypeSOA); len(soa) > 0 {
		return soa[0]
	}
	return nil
}

// of returns copies of the records of type qtype (all, for ANY) in rrs.
// Copies, so that answers written concurrently never share a record.
func of(rrs []dns.RR, qtype uint16) []dns.RR {
	var out []dns.RR
	for _, rr := range rrs {
		if qtype == dns.TypeANY || rr.Header().Rrtype == qtype {
			out = append(out, dns.Copy(rr))
		}
	}
	return out
}

package dkim

import (
	"bytes"
	"context"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"

	miekg "github.com/miekg/dns"

	"postern.dev/postern/libmail/message"
	"postern.dev/postern/libmail/testkit"
)

// tap is what intake calls; Signer and Verifier are taps.
type tap interface {
	Header(field []byte)
	HeaderEnd()
	Body(p []byte)
	End()
}

// feed passes msg (CRLF lines) to taps as intake does: each header field,
// the end of the header, then the body after the empty line in pieces of
// chunk bytes, and End.
func feed(msg []byte, chunk int, taps ...tap) {
	fe := message.Fields(msg, func(_, field []byte) {
		for _, t := range taps {
			t.Header(field)
		}
	})
	for _, t := range taps {
		t.HeaderEnd()
	}
	body := msg[fe:]
	body = bytes.TrimPrefix(body, crlf)
	for len(body) > 0 {
		n := min(chunk, len(body))
		for _, t := range taps {
			t.Body(body[:n])
		}
		body = body[n:]
	}
	for _, t := range taps {
		t.End()
	}
}

// crlfText turns a text with LF line ends into CRLF ones.
func crlfText(s string) []byte {
	return []byte(strings.ReplaceAll(strings.ReplaceAll(s, "\r\n", "\n"), "\n", "\r\n"))
}

// readEML reads a testdata message in CRLF form.
func readEML(t testing.TB, name string) []byte {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return crlfText(string(b))
}

// zoneResolver answers TXT lookups from zone-file lines (as a DNS server
// loaded with them would: each record's strings joined).
func zoneResolver(t testing.TB, lines ...string) *testkit.Resolver {
	t.Helper()
	r := testkit.NewResolver()
	recs := map[string][]string{}
	for _, l := range lines {
		for _, line := range strings.Split(strings.TrimSpace(l), "\n") {
			rr, err := miekg.NewRR(line)
			if err != nil {
				t.Fatalf("zone line %q: %v", line, err)
			}
			txt, ok := rr.(*miekg.TXT)
			if !ok {
				t.Fatalf("zone line %q is not TXT", line)
			}
			name := strings.TrimSuffix(txt.Hdr.Name, ".")
			recs[name] = append(recs[name], strings.Join(txt.Txt, ""))
		}
	}
	for name, txt := range recs {
		r.SetTXT(name, txt...)
	}
	return r
}

// readZone reads a testdata zone file.
func readZone(t testing.TB, name string) string {
	t.Helper()
	b, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// verify runs msg through a Verifier fed in pieces of chunk bytes.
func verify(t testing.TB, r TXTResolver, msg []byte, chunk int) []Result {
	t.Helper()
	v := NewVerifier(context.Background(), r)
	feed(msg, chunk, v)
	return v.Results()
}

// generated holds the keys testKeys made, by domain: an RSA key takes a
// while to make.
var generated sync.Map // domain -> keyPair

type keyPair struct {
	keys *Keys
	zone string
}

// testKeys returns one RSA and one Ed25519 key for domain, made once per
// test binary, with the zone lines that publish them.
func testKeys(t testing.TB, domain string) (*Keys, string) {
	t.Helper()
	if kp, ok := generated.Load(domain); ok {
		return kp.(keyPair).keys, kp.(keyPair).zone
	}
	var keys []*Key
	var zone []string
	for _, kt := range []struct{ typ, sel string }{{"rsa", "rsa2026"}, {"ed25519", "ed2026"}} {
		sg, err := Generate(kt.typ)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := Record(sg.Public())
		if err != nil {
			t.Fatal(err)
		}
		keys = append(keys, &Key{Domain: domain, Selector: kt.sel, Signer: sg, File: kt.typ + ".key"})
		zone = append(zone, ZoneLine(kt.sel, domain, rec))
	}
	kp := keyPair{NewKeys(keys...), strings.Join(zone, "\n")}
	generated.Store(domain, kp)
	return kp.keys, kp.zone
}

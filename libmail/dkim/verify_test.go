package dkim

import (
	"bytes"
	"context"
	"testing"
	"time"

	"github.com/emersion/go-msgauth/authres"
	miekg "github.com/miekg/dns"

	"postern.dev/postern/libmail/dns"
	"postern.dev/postern/libmail/dns/dnstest"
)

// chunks are the piece sizes the stream is fed in: a byte at a time, a
// line at a time or so, and more than the stream buffer at once.
var chunks = []int{1, 37, 4096, 1 << 20}

// TestRFC6376Example: the signed message of RFC 6376 Appendix A.2
// (rsa-sha256, simple/simple) verifies with the key of Appendix A.3.
func TestRFC6376Example(t *testing.T) {
	msg := readEML(t, "rfc6376-a2.eml")
	r := zoneResolver(t, readZone(t, "rfc6376-a3.zone"))
	for _, chunk := range chunks {
		res := verify(t, r, msg, chunk)
		if len(res) != 1 {
			t.Fatalf("chunk %d: %d results, want 1: %+v", chunk, len(res), res)
		}
		want := Result{Status: authres.ResultPass, Domain: "example.com", Selector: "brisbane",
			Identifier: "joe@football.example.com", Algorithm: "rsa-sha256", HeaderB: "AuUoFEfDxTDk"}
		if res[0] != want {
			t.Errorf("chunk %d: %+v\nwant %+v", chunk, res[0], want)
		}
	}
}

// TestRFC8463Example: the message of RFC 8463 Appendix A.3, signed with
// ed25519-sha256 and rsa-sha256 (relaxed/relaxed), verifies with the keys
// of Appendix A.2: both signatures pass.
func TestRFC8463Example(t *testing.T) {
	msg := readEML(t, "rfc8463-a3.eml")
	r := zoneResolver(t, readZone(t, "rfc8463-a2.zone"))
	for _, chunk := range chunks {
		res := verify(t, r, msg, chunk)
		if len(res) != 2 {
			t.Fatalf("chunk %d: %d results, want 2: %+v", chunk, len(res), res)
		}
		for i, alg := range []string{"ed25519-sha256", "rsa-sha256"} {
			if res[i].Status != authres.ResultPass || res[i].Algorithm != alg || res[i].Domain != "football.example.com" ||
				res[i].Identifier != "@football.example.com" {
				t.Errorf("chunk %d: signature %d: %+v, want %s pass for football.example.com", chunk, i, res[i], alg)
			}
		}
	}
}

// TestRFCExamplesChanged: the RFC examples with their bodies changed after
// signing fail, each signature with "body hash did not verify"; with a
// signed header field changed, the signature itself does not verify.
func TestRFCExamplesChanged(t *testing.T) {
	for _, c := range []struct{ eml, zone string }{{"rfc6376-a2.eml", "rfc6376-a3.zone"}, {"rfc8463-a3.eml", "rfc8463-a2.zone"}} {
		r := zoneResolver(t, readZone(t, c.zone))
		msg := readEML(t, c.eml)
		body := bytes.Replace(msg, []byte("We lost the game."), []byte("We won the game."), 1)
		subject := bytes.Replace(msg, []byte("Subject: Is dinner ready?"), []byte("Subject: Is lunch ready?"), 1)
		for _, m := range []struct {
			name, reason string
			msg          []byte
		}{{"body", "body hash did not verify", body}, {"subject", "signature did not verify", subject}} {
			res := verify(t, r, m.msg, 64)
			if len(res) == 0 {
				t.Fatalf("%s, %s changed: no results", c.eml, m.name)
			}
			for _, x := range res {
				if x.Status != authres.ResultFail || !bytes.Contains([]byte(x.Reason), []byte(m.reason)) {
					t.Errorf("%s, %s changed: %+v, want fail: %s", c.eml, m.name, x, m.reason)
				}
			}
		}
	}
}

// TestVerifyKeyErrors: the key lookup's outcomes. A record that does not
// exist, or a revoked key (empty p=), is permerror; a DNS failure is
// temperror, so that mail is never refused for good over a resolver's
// trouble; an unsigned message has no results (dkim=none).
func TestVerifyKeyErrors(t *testing.T) {
	msg := readEML(t, "rfc6376-a2.eml")
	const name = "brisbane._domainkey.example.com"

	r := zoneResolver(t, readZone(t, "rfc8463-a2.zone")) // not the key of this message
	if res := verify(t, r, msg, 100); len(res) != 1 || res[0].Status != authres.ResultPermError {
		t.Errorf("no key record: %+v, want permerror", res)
	}
	r.SetTXT(name, "v=DKIM1; p=")
	if res := verify(t, r, msg, 100); len(res) != 1 || res[0].Status != authres.ResultPermError || res[0].Reason != "key revoked" {
		t.Errorf("revoked key: %+v, want permerror: key revoked", res)
	}
	r.SetTemporaryFailure(name, true)
	if res := verify(t, r, msg, 100); len(res) != 1 || res[0].Status != authres.ResultTempError {
		t.Errorf("server failure: %+v, want temperror", res)
	}
	unsigned := msg[bytes.Index(msg, []byte("Received:")):]
	if res := verify(t, r, unsigned, 100); len(res) != 0 {
		t.Errorf("unsigned message: %+v, want no results", res)
	}
}

// TestVerifyDNSTimeout: a key lookup that times out on a real resolver
// (the loopback server stalls) is temperror, within the resolver's
// timeout.
func TestVerifyDNSTimeout(t *testing.T) {
	srv := dnstest.New(t, readZone(t, "rfc8463-a2.zone"))
	srv.Delay("brisbane._domainkey.football.example.com", time.Hour)
	c, err := dns.New([]string{srv.Addr()}, 300*time.Millisecond)
	if err != nil {
		t.Fatal(err)
	}
	start := time.Now()
	res := verify(t, c, readEML(t, "rfc8463-a3.eml"), 512)
	if d := time.Since(start); d > 10*time.Second {
		t.Errorf("took %v", d)
	}
	if len(res) != 2 || res[0].Status != authres.ResultTempError || res[1].Status != authres.ResultPass {
		t.Errorf("%+v, want temperror (stalled ed25519 key), pass (rsa)", res)
	}
}

// TestVerifyContext: a session's context that ends makes the lookup a
// temperror too.
func TestVerifyContext(t *testing.T) {
	r := zoneResolver(t, readZone(t, "rfc8463-a2.zone"))
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	v := NewVerifier(ctx, ctxResolver{r})
	feed(readEML(t, "rfc8463-a3.eml"), 100, v)
	for _, x := range v.Results() {
		if x.Status != authres.ResultTempError {
			t.Errorf("%+v, want temperror", x)
		}
	}
}

// ctxResolver fails lookups whose context is done, as dns.Client does.
type ctxResolver struct{ r TXTResolver }

func (c ctxResolver) LookupTXT(ctx context.Context, name string) ([]string, error) {
	if err := ctx.Err(); err != nil {
		return nil, &dns.Error{Name: name, Type: "TXT", Temporary: true, Err: err}
	}
	return c.r.LookupTXT(ctx, name)
}

// TestVerifyAbort: a message aborted in the middle of its body leaves no
// goroutine blocked: Abort returns, and later writes do not block.
func TestVerifyAbort(t *testing.T) {
	r := zoneResolver(t, readZone(t, "rfc8463-a2.zone"))
	msg := readEML(t, "rfc8463-a3.eml")
	v := NewVerifier(context.Background(), r)
	fe := bytes.Index(msg, []byte("\r\n\r\n")) + 2
	feedHeader(msg[:fe], v)
	v.Body([]byte("Hi.\r\n"))
	v.Abort()
	v.Body(bytes.Repeat([]byte("x"), 1<<20))
	v.End()
	if v.Results() != nil {
		t.Errorf("aborted message has results %+v", v.Results())
	}
	done := make(chan struct{})
	go func() { <-v.done; close(done) }()
	select {
	case <-done:
	case <-time.After(10 * time.Second):
		t.Fatal("go-msgauth's goroutine still runs after Abort")
	}
}

func feedHeader(h []byte, t tap) {
	for _, line := range bytes.SplitAfter(h, crlf) {
		if len(line) > 0 {
			t.Header(line)
		}
	}
	t.HeaderEnd()
}

// TestVerifyManySignatures: only the first MaxSignatures signatures are
// verified.
func TestVerifyManySignatures(t *testing.T) {
	msg := readEML(t, "rfc8463-a3.eml")
	sigs := msg[:bytes.Index(msg, []byte("From:"))]
	many := append(bytes.Repeat(sigs, 4), msg[len(sigs):]...)
	res := verify(t, zoneResolver(t, readZone(t, "rfc8463-a2.zone")), many, 512)
	if len(res) != MaxSignatures {
		t.Fatalf("%d results, want %d", len(res), MaxSignatures)
	}
	for _, x := range res {
		if x.Status != authres.ResultPass {
			t.Errorf("%+v", x)
		}
	}
}

// TestZoneLineParses: the record ZoneLine prints is read back by a zone
// parser as strings of at most 255 bytes that join to the record.
func TestZoneLineParses(t *testing.T) {
	for _, typ := range []string{"rsa", "ed25519"} {
		sg, err := Generate(typ)
		if err != nil {
			t.Fatal(err)
		}
		rec, err := Record(sg.Public())
		if err != nil {
			t.Fatal(err)
		}
		rr, err := miekg.NewRR(ZoneLine("sel", "example.test", rec))
		if err != nil {
			t.Fatal(err)
		}
		txt := rr.(*miekg.TXT)
		joined := ""
		for _, s := range txt.Txt {
			if len(s) > 255 {
				t.Errorf("%s: string of %d bytes", typ, len(s))
			}
			joined += s
		}
		if joined != rec || txt.Hdr.Name != "sel._domainkey.example.test." {
			t.Errorf("%s: %s %q, want %q", typ, txt.Hdr.Name, joined, rec)
		}
		if typ == "rsa" && len(txt.Txt) != 2 {
			t.Errorf("RSA %d record in %d strings, want 2", RSABits, len(txt.Txt))
		}
	}
}

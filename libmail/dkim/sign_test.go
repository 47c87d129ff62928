package dkim

import (
	"bytes"
	"crypto/ed25519"
	"crypto/rand"
	"regexp"
	"strings"
	"testing"

	"github.com/emersion/go-msgauth/authres"
	msgauth "github.com/emersion/go-msgauth/dkim"
)

const submitted = `Received: from client.example (client.example [192.0.2.7])
	by mail.example.test (postern) with ESMTPSA id 1J2ABCDEFGHIJKLM
	for <bob@example.org>; Mon, 23 Nov 2026 14:32:01 +0000 (UTC)
From: Demo User <demo@Example.Test>
To: Bob <bob@example.org>
Subject: =?utf-8?q?caf=C3=A9?= and a folded
	 subject line
Date: Mon, 23 Nov 2026 14:32:00 +0000
Message-ID: <1J2ABCDEFGHIJKLM@mail.example.test>
MIME-Version: 1.0
Content-Type: text/plain; charset=utf-8

Hello Bob,   with  spaces    and tabs	here	 
and trailing empty lines below.


`

// sign runs msg through a Signer fed in pieces of chunk bytes and returns
// the signed message: the signature fields on top.
func sign(t testing.TB, keys *Keys, msg []byte, chunk int) (signed []byte, fields string) {
	t.Helper()
	s := NewSigner(keys)
	feed(msg, chunk, s)
	fields, err := s.Fields()
	if err != nil {
		t.Fatal(err)
	}
	return append([]byte(fields), msg...), fields
}

// TestSignBothKeys: a domain with an RSA and an Ed25519 key gets two
// signatures, rsa-sha256 and ed25519-sha256, relaxed/relaxed, that pass
// our verifier and go-msgauth's own reading of the whole message, however
// the message was cut into pieces.
func TestSignBothKeys(t *testing.T) {
	keys, zone := testKeys(t, "example.test")
	r := zoneResolver(t, zone)
	msg := crlfText(submitted)
	for _, chunk := range chunks {
		signed, fields := sign(t, keys, msg, chunk)
		if n := strings.Count(fields, "DKIM-Signature:"); n != 2 {
			t.Fatalf("chunk %d: %d signatures:\n%s", chunk, n, fields)
		}
		res := verify(t, r, signed, 999)
		if len(res) != 2 {
			t.Fatalf("chunk %d: %+v", chunk, res)
		}
		for i, want := range []struct{ alg, sel string }{{"rsa-sha256", "rsa2026"}, {"ed25519-sha256", "ed2026"}} {
			if x := res[i]; x.Status != authres.ResultPass || x.Algorithm != want.alg || x.Selector != want.sel || x.Domain != "example.test" {
				t.Errorf("chunk %d: signature %d: %+v, want %s %s pass", chunk, i, x, want.alg, want.sel)
			}
		}
		vs, err := msgauth.VerifyWithOptions(bytes.NewReader(signed), &msgauth.VerifyOptions{LookupTXT: func(name string) ([]string, error) {
			return r.LookupTXT(t.Context(), name)
		}})
		if err != nil || len(vs) != 2 || vs[0].Err != nil || vs[1].Err != nil {
			t.Errorf("chunk %d: go-msgauth.Verify: %v %+v", chunk, err, vs)
		}
	}
}

// TestSignedFields: the tags of our signatures: relaxed/relaxed, SHA-256,
// d= the From: domain in lower case, h= the signed fields present with
// From: once more than it appears (oversigned), no trace fields.
func TestSignedFields(t *testing.T) {
	keys, _ := testKeys(t, "example.test")
	_, fields := sign(t, keys, crlfText(submitted), 100)
	for _, f := range splitFields(fields) {
		tags := tagMap(f)
		if tags["c"] != "relaxed/relaxed" || tags["d"] != "example.test" || tags["v"] != "1" {
			t.Errorf("tags %v", tags)
		}
		if want := "from:from:subject:date:message-id:to:mime-version:content-type"; tags["h"] != want {
			t.Errorf("h=%s, want %s", tags["h"], want)
		}
		for _, l := range strings.Split(f, "\r\n") {
			if len(l) > 998 {
				t.Errorf("line of %d bytes", len(l))
			}
		}
	}
}

func splitFields(fields string) []string {
	var out []string
	for _, f := range strings.SplitAfter(fields, "\r\n") {
		if f == "" {
			continue
		}
		if f[0] == ' ' || f[0] == '\t' {
			out[len(out)-1] += f
			continue
		}
		out = append(out, f)
	}
	return out
}

func tagMap(field string) map[string]string {
	_, v, _ := strings.Cut(field, ":")
	m := map[string]string{}
	for _, spec := range strings.Split(v, ";") {
		if k, val, ok := strings.Cut(spec, "="); ok {
			m[strings.TrimSpace(k)] = stripFWS(val)
		}
	}
	return m
}

// TestSignedThenChanged: what a signature protects. A body changed after
// signing fails (body hash); a signed field changed fails; a second From:
// added above the signed one fails (From: is oversigned); a trace field
// added on top, as every relay does, still passes.
func TestSignedThenChanged(t *testing.T) {
	keys, zone := testKeys(t, "example.test")
	r := zoneResolver(t, zone)
	signed, fields := sign(t, keys, crlfText(submitted), 512)
	msgStart := len(fields)
	for _, c := range []struct {
		name   string
		change func([]byte) []byte
		status authres.ResultValue
		reason string
	}{
		{"body", func(m []byte) []byte { return bytes.Replace(m, []byte("Hello Bob"), []byte("Hello Rob"), 1) }, authres.ResultFail, "body hash did not verify"},
		{"body appended", func(m []byte) []byte { return append(m, "P.S. buy crypto\r\n"...) }, authres.ResultFail, "body hash did not verify"},
		{"subject", func(m []byte) []byte { return bytes.Replace(m, []byte("a folded"), []byte("a forged"), 1) }, authres.ResultFail, "signature did not verify"},
		{"second From", func(m []byte) []byte {
			return append(append(m[:msgStart:msgStart], "From: ceo@example.test\r\n"...), m[msgStart:]...)
		}, authres.ResultFail, "signature did not verify"},
		{"Received on top", func(m []byte) []byte {
			return append([]byte("Received: from mail.example.test by mx.example.org; Mon, 23 Nov 2026 14:32:02 +0000\r\n"), m...)
		}, authres.ResultPass, ""},
		{"refolded subject", func(m []byte) []byte {
			return bytes.Replace(m, []byte("a folded\r\n\t subject"), []byte("a folded subject"), 1)
		}, authres.ResultPass, ""},
	} {
		m := c.change(append([]byte(nil), signed...))
		if bytes.Equal(m, signed) {
			t.Fatalf("%s: the message did not change", c.name)
		}
		res := verify(t, r, m, 256)
		if len(res) != 2 {
			t.Fatalf("%s: %+v", c.name, res)
		}
		for _, x := range res {
			if x.Status != c.status || !strings.Contains(x.Reason, c.reason) {
				t.Errorf("%s: %s: %s (%s), want %s (%s)", c.name, x.Algorithm, x.Status, x.Reason, c.status, c.reason)
			}
		}
	}
}

// TestSignWhichDomain: the From: domain picks the keys. A domain without
// keys (a subdomain included), or a message without From:, gets no
// signature; an internationalized From: domain is signed as its A-labels.
func TestSignWhichDomain(t *testing.T) {
	keys, _ := testKeys(t, "example.test")
	idnKeys, idnZone := testKeys(t, "xn--caf-dma.example")
	for _, c := range []struct {
		from string
		keys *Keys
		d    string
	}{
		{"From: demo@example.test", keys, "example.test"},
		{"FROM:\t\"Demo, the user\" <demo@EXAMPLE.TEST.>", keys, "example.test"},
		{"From: demo@sub.example.test", keys, ""},
		{"From: demo@example.org", keys, ""},
		{"From: =?x-unknown?q?Demo?= <demo@example.test>", keys, "example.test"},
		{"From: demo@example.test (the demo user)", keys, "example.test"},
		{"Sender: demo@example.test", keys, ""},
		{"From: démo@café.example", idnKeys, "xn--caf-dma.example"},
	} {
		msg := crlfText(c.from + "\nSubject: hi\n\nbody\n")
		signed, fields := sign(t, c.keys, msg, 10)
		if c.d == "" {
			if fields != "" {
				t.Errorf("%q: signed:\n%s", c.from, fields)
			}
			continue
		}
		if got := tagMap(splitFields(fields)[0])["d"]; got != c.d {
			t.Errorf("%q: d=%q, want %q", c.from, got, c.d)
		}
		if c.keys == idnKeys {
			if res := verify(t, zoneResolver(t, idnZone), signed, 10); len(res) != 2 || res[0].Status != authres.ResultPass || res[1].Status != authres.ResultPass {
				t.Errorf("%q: %+v", c.from, res)
			}
		}
	}
}

// TestSignEdges: messages at the edges of what intake passes on still
// verify: no body at all, a header that ends inside its last field, an
// empty body after the empty line, and a body of empty lines only.
func TestSignEdges(t *testing.T) {
	keys, zone := testKeys(t, "example.test")
	r := zoneResolver(t, zone)
	for _, msg := range []string{
		"From: demo@example.test\r\nSubject: no body\r\n",
		"From: demo@example.test\r\nSubject: no line end",
		"From: demo@example.test\r\n\r\n",
		"From: demo@example.test\r\n\r\n\r\n\r\n",
	} {
		s := NewSigner(keys)
		feed([]byte(msg), 3, s)
		fields, err := s.Fields()
		if err != nil || fields == "" {
			t.Fatalf("%q: %q %v", msg, fields, err)
		}
		// What a reader of the stored message sees: the header completed.
		stored := fields + msg
		if !strings.Contains(msg, "\r\n\r\n") {
			stored = strings.TrimSuffix(stored, "\r\n") + "\r\n\r\n"
		}
		if res := verify(t, r, []byte(stored), 5); len(res) != 2 || res[0].Status != authres.ResultPass || res[1].Status != authres.ResultPass {
			t.Errorf("%q: %+v", msg, res)
		}
	}
}

// TestSignAbort: an aborted message leaves no signature and no goroutine
// waiting.
func TestSignAbort(t *testing.T) {
	keys, _ := testKeys(t, "example.test")
	s := NewSigner(keys)
	msg := crlfText(submitted)
	fe := bytes.Index(msg, []byte("\r\n\r\n")) + 2
	feedHeader(msg[:fe], s)
	s.Body([]byte("partial"))
	s.Abort()
	s.Body([]byte("more"))
	s.End()
	if f, err := s.Fields(); f != "" || err == nil {
		t.Errorf("aborted: %q, %v", f, err)
	}
}

// TestParsePrivateKey: the key files a signer accepts: PKCS#8 RSA and
// Ed25519 (what Generate writes), PKCS#1 RSA (older opendkim-genkey); not
// RSA keys below 1024 bits (RFC 8301 §3.2), nor non-keys.
func TestParsePrivateKey(t *testing.T) {
	for _, typ := range []string{"rsa", "ed25519"} {
		k, _ := Generate(typ)
		pemBytes, err := MarshalPrivateKey(k)
		if err != nil {
			t.Fatal(err)
		}
		back, err := ParsePrivateKey(pemBytes)
		if err != nil {
			t.Fatalf("%s: %v", typ, err)
		}
		if keyType(back.Public()) != typ {
			t.Errorf("%s read back as %T", typ, back)
		}
		rec, _ := Record(k.Public())
		if !regexp.MustCompile(`^v=DKIM1; k=` + typ + `; p=[A-Za-z0-9+/]+=*$`).MatchString(rec) {
			t.Errorf("record %q", rec)
		}
	}
	_, ed, _ := ed25519.GenerateKey(rand.Reader)
	if rec, _ := Record(ed.Public()); len(rec) != len("v=DKIM1; k=ed25519; p=")+44 {
		t.Errorf("ed25519 record %q: p= must be the bare 32-byte key (RFC 8463 §4.2)", rec)
	}
	if _, err := ParsePrivateKey([]byte(rsa512)); err == nil {
		t.Error("512-bit RSA key accepted")
	}
	for _, bad := range []string{"", "not pem", "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----\n"} {
		if _, err := ParsePrivateKey([]byte(bad)); err == nil {
			t.Errorf("%q accepted", bad)
		}
	}
}

// rsa512 is a 512-bit RSA key (openssl genrsa 512), too small to sign.
const rsa512 = `-----BEGIN RSA PRIVATE KEY-----
MIIBOwIBAAJBANvZj4iovreGnJ+xk3Chol9zHLCZ0ovdouD66Ww7xpd/KbFJFDTw
HvXAvwkUaq6GuRVuTpRqJVlVUSAKBFMhnFkCAwEAAQJAKakhlPD9KwP8PBrHaMmI
XnQO1LxhdJWsXtvNTfBJ4r0hHnXI+ZKTyBuW7t+98jNLrVId4sr1bnQHpHUsarjK
rQIhAPm/iitMn9yffyXWgPVBZue/M8jCLWsO43mR6TccNcoDAiEA4VpsZ8GMcYck
3L0bHs8oUCOLSE/r4GrcP1BaYL+An3MCIC+HPAwxcNrTn6bbw37pC2RfBsPV8D7H
fpLMKc3LGJFxAiEAzzDS4KZMGQkW9DiN2cq/FsdHRMnuZZv6OeAH6FHJ0U8CIQDQ
MbtHqwV7k/67O1g/WahpcB/a1wL6Ssm9nhhkU6Vy/A==
-----END RSA PRIVATE KEY-----
`

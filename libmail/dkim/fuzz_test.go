package dkim

import (
	"bytes"
	"os"
	"testing"

	"github.com/emersion/go-msgauth/authres"

	"postern.dev/postern/libmail/message"
)

// FuzzVerify feeds arbitrary messages, in arbitrary pieces, to a Verifier
// whose resolver knows the RFC examples' keys and ours. It must never
// panic or hang, must give one result per signature it verified, each
// with a status of RFC 8601; and a message signed by our Signer must
// verify.
func FuzzVerify(f *testing.F) {
	for _, name := range []string{"rfc6376-a2.eml", "rfc8463-a3.eml"} {
		b, err := os.ReadFile("testdata/" + name)
		if err != nil {
			f.Fatal(err)
		}
		f.Add(crlfText(string(b)), uint16(64))
	}
	f.Add(crlfText(submitted), uint16(7))
	f.Add([]byte("DKIM-Signature: v=1; a=rsa-sha256; d=example.com; s=brisbane; h=from; bh=; b=\r\n\r\n"), uint16(1))
	keys, zone := testKeys(f, "example.test")
	r := zoneResolver(f, readZone(f, "rfc6376-a3.zone"), readZone(f, "rfc8463-a2.zone"), zone)
	valid := map[authres.ResultValue]bool{authres.ResultPass: true, authres.ResultFail: true, authres.ResultNeutral: true,
		authres.ResultTempError: true, authres.ResultPermError: true}
	f.Fuzz(func(t *testing.T, msg []byte, chunk uint16) {
		msg = storedForm(msg)
		piece := int(chunk%4096) + 1
		sigs := 0
		fe := message.Fields(msg, func(name, _ []byte) {
			if bytes.EqualFold(name, []byte("DKIM-Signature")) {
				sigs++
			}
		})
		res := verify(t, r, msg, piece)
		if want := min(sigs, MaxSignatures); len(res) != want {
			t.Fatalf("%d results for %d signatures", len(res), sigs)
		}
		for _, x := range res {
			if !valid[x.Status] {
				t.Fatalf("status %q", x.Status)
			}
		}

		// Signed by us, as intake signs: only a header ended by an empty
		// line.
		if !bytes.HasPrefix(msg[fe:], crlf) {
			return
		}
		msg = append([]byte("From: fuzz@example.test\r\n"), msg...)
		s := NewSigner(keys)
		feed(msg, piece, s)
		fields, err := s.Fields()
		if err != nil {
			t.Fatal(err)
		}
		if fields == "" {
			return // the fuzzed header made From: something else
		}
		signed := append([]byte(fields), msg...)
		for _, x := range verify(t, r, signed, piece)[:2] {
			if x.Status != authres.ResultPass {
				t.Fatalf("our own signature: %+v\n%q", x, signed)
			}
		}
	})
}

// storedForm turns arbitrary bytes into what intake stores and taps see:
// CRLF line ends only, no NUL.
func storedForm(b []byte) []byte {
	out := make([]byte, 0, len(b)+len(b)/8)
	for i, c := range b {
		switch {
		case c == 0:
		case c == '\r':
			if i+1 < len(b) && b[i+1] == '\n' {
				out = append(out, c)
			}
		case c == '\n':
			out = append(out, '\r', '\n')
		default:
			out = append(out, c)
		}
	}
	return out
}

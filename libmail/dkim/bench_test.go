package dkim

import (
	"bytes"
	"context"
	"testing"
)

// benchMessage is a 5 KB message of 80-byte lines, smtp-source's size.
func benchMessage() []byte {
	var b bytes.Buffer
	b.WriteString("From: <bench@example.test>\r\nTo: <sink@example.net>\r\nDate: Mon, 23 Nov 2026 14:32:00 +0000\r\nMessage-Id: <1.2.3@vm>\r\n\r\n")
	for b.Len() < 5120 {
		b.WriteString("XXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXXX\r\n")
	}
	return b.Bytes()
}

// BenchmarkSign: signing a 5 KB message fed line by line, as smtpd feeds
// intake, with each key alone and with both.
func BenchmarkSign(b *testing.B) {
	keys, _ := testKeys(b, "example.test")
	msg := benchMessage()
	for _, c := range []struct {
		name string
		keys *Keys
	}{{"rsa", NewKeys(keys.For("example.test")[0])}, {"ed25519", NewKeys(keys.For("example.test")[1])}, {"both", keys}} {
		b.Run(c.name, func(b *testing.B) {
			b.SetBytes(int64(len(msg)))
			for b.Loop() {
				s := NewSigner(c.keys)
				feed(msg, 82, s)
				if f, err := s.Fields(); err != nil || f == "" {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkVerify: verifying both signatures of a 5 KB message fed line
// by line, the keys answered from memory.
func BenchmarkVerify(b *testing.B) {
	keys, zone := testKeys(b, "example.test")
	r := zoneResolver(b, zone)
	signed, _ := sign(b, keys, benchMessage(), 4096)
	b.SetBytes(int64(len(signed)))
	for b.Loop() {
		v := NewVerifier(context.Background(), r)
		feed(signed, 82, v)
		if res := v.Results(); len(res) != 2 || res[0].Status != "pass" {
			b.Fatal(res)
		}
	}
}

package imapd

import (
	"bytes"
	"testing"
)

// FuzzFoldASCII: foldASCII agrees with bytes.ToLower on ASCII input and
// refuses anything else, at every length and alignment.
func FuzzFoldASCII(f *testing.F) {
	f.Add([]byte("Subject: INVOICE @[`{ 42 Zz\r\n"))
	f.Add([]byte("caf\xc3\xa9 ABCDEFGHIJKLMNOPQRSTUVWXYZ"))
	f.Add([]byte("@AZ[`az{\x7f\x00"))
	f.Fuzz(func(t *testing.T, src []byte) {
		got, ok := foldASCII(nil, src)
		ascii := bytes.IndexFunc(src, func(r rune) bool { return r >= 0x80 }) < 0
		if ok != ascii {
			t.Fatalf("foldASCII(%q) ok = %v", src, ok)
		}
		if ok && !bytes.Equal(got, bytes.ToLower(src)) {
			t.Fatalf("foldASCII(%q) = %q", src, got)
		}
		inPlace := bytes.Clone(src)
		if got2, ok2 := foldASCII(inPlace[:0], inPlace); ok2 != ok || (ok && !bytes.Equal(got2, got)) {
			t.Fatalf("in place: %q, %v", got2, ok2)
		}
	})
}

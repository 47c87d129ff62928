package downgrade

import (
	"bytes"
	"testing"
)

// FuzzDowngrade runs arbitrary messages through Scan and Write: the
// converter parses what any sender chose to send. Scan must find 8-bit
// octets exactly when there are some; a convertible message must convert
// without error into one that has none and the same MIME structure.
func FuzzDowngrade(f *testing.F) {
	f.Add([]byte("Subject: x\r\n\r\nGr\xc3\xbc\xc3\x9fe\r\n"))
	f.Add([]byte("Content-Type: multipart/mixed; boundary=b\r\nContent-Transfer-Encoding: 8bit\r\n\r\n--b\r\n\r\n\xe4 \r\n--b--\r\n"))
	f.Fuzz(func(t *testing.T, msg []byte) {
		p, err := Scan(bytes.NewReader(msg))
		if err != nil {
			t.Fatal(err)
		}
		if p.EightBit != has8(msg) {
			t.Fatalf("EightBit %v for a message with 8-bit octets %v", p.EightBit, has8(msg))
		}
		if !p.EightBit || p.Reason != "" {
			return
		}
		var out bytes.Buffer
		if err := Write(&out, bytes.NewReader(msg), p); err != nil {
			t.Fatalf("Write: %v", err)
		}
		if has8(out.Bytes()) {
			t.Fatalf("8-bit octets in the output %q", out.Bytes())
		}
		q, err := Scan(bytes.NewReader(out.Bytes()))
		if err != nil || q.EightBit || len(q.acts) != len(p.acts) {
			t.Fatalf("the output scans as %+v (%v), %d entities; the input had %d:\n%q", q, err, len(q.acts), len(p.acts), out.Bytes())
		}
	})
}

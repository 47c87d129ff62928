package smtp

import (
	"bufio"
	"bytes"
	"strings"
	"testing"
	"testing/iotest"
)

func TestWriteDotStuffed(t *testing.T) {
	for _, tc := range []struct{ in, out string }{
		{"", ".\r\n"},
		{"a\r\n", "a\r\n.\r\n"},
		{".\r\n", "..\r\n.\r\n"},
		{".a\r\n.b\r\n", "..a\r\n..b\r\n.\r\n"},
		{"x\r\n.\r\ny\r\n", "x\r\n..\r\ny\r\n.\r\n"},
		{"x\r\n..\r\n", "x\r\n...\r\n.\r\n"},
		{"a.b\r\n", "a.b\r\n.\r\n"},
		{"no final line end", "no final line end\r\n.\r\n"},
		{"x\r\n.", "x\r\n..\r\n.\r\n"},
	} {
		for _, bufSize := range []int{1, 2, 3, 7, 64 << 10} {
			var out bytes.Buffer
			w := bufio.NewWriter(&out)
			err := writeDotStuffed(w, iotest.HalfReader(strings.NewReader(tc.in)), make([]byte, bufSize))
			if err == nil {
				err = w.Flush()
			}
			if err != nil {
				t.Fatal(err)
			}
			if out.String() != tc.out {
				t.Errorf("writeDotStuffed(%q) with a %d-byte buffer = %q, want %q", tc.in, bufSize, out.String(), tc.out)
			}
		}
	}
}

func BenchmarkWriteDotStuffed(b *testing.B) {
	msg := strings.Repeat("A line of a message of about seventy characters, as text mail has.\r\n", 1500)
	msg += ".a dot\r\n"
	var out bytes.Buffer
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		out.Reset()
		w := bufio.NewWriterSize(&out, 64<<10)
		if err := writeDotStuffed(w, strings.NewReader(msg), buf); err != nil {
			b.Fatal(err)
		}
		w.Flush()
	}
}

package esmtp

import (
	"bufio"
	"bytes"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// encodeData runs in through a dataWriter, in reads of at most bufSize.
func encodeData(t testing.TB, in string, limit, bufSize int) (string, bool) {
	t.Helper()
	var out bytes.Buffer
	w := bufio.NewWriter(&out)
	d := newDataWriter(w, limit)
	_, err := io.CopyBuffer(struct{ io.Writer }{d}, iotest.HalfReader(strings.NewReader(in)), make([]byte, bufSize))
	if err == nil {
		err = d.Close()
	}
	if err == nil {
		err = w.Flush()
	}
	if err != nil {
		t.Fatal(err)
	}
	return out.String(), d.folded
}

func TestDataWriterDotStuffing(t *testing.T) {
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
		{"x\r", "x\r\r\n.\r\n"},
		{"a\rb\r\n", "a\rb\r\n.\r\n"},
		{"bare\nlf\n.x\n", "bare\nlf\n..x\n.\r\n"},
	} {
		for _, bufSize := range []int{1, 2, 3, 7, 64 << 10} {
			for _, limit := range []int{0, 998} {
				if out, _ := encodeData(t, tc.in, limit, bufSize); out != tc.out {
					t.Errorf("data of %q (buffer %d, limit %d) = %q, want %q", tc.in, bufSize, limit, out, tc.out)
				}
			}
		}
	}
}

// TestDataWriterFolding: lines over smtp_line_length_limit are broken
// with CRLF SPACE, as Postfix's smtp_text_out does; the space counts
// towards the next line, the stuffed dot does not, and a CRLF split
// between two writes is no content.
func TestDataWriterFolding(t *testing.T) {
	for _, tc := range []struct {
		in     string
		limit  int
		out    string
		folded bool
	}{
		{"abcde\r\n", 5, "abcde\r\n.\r\n", false},
		{"abcdef\r\n", 5, "abcde\r\n f\r\n.\r\n", true},
		{"abcdefghijklm\r\n", 5, "abcde\r\n fghi\r\n jklm\r\n.\r\n", true},
		{"abcdefghi\r\n", 5, "abcde\r\n fghi\r\n.\r\n", true},
		{".bcdef\r\n", 5, "..bcde\r\n f\r\n.\r\n", true},
		{"Subject: 0123456789ABCDEFGHIJ\r\n\r\nbody\r\n", 10, "Subject: 0\r\n 123456789\r\n ABCDEFGHI\r\n J\r\n\r\nbody\r\n.\r\n", true},
		{"abcdefgh", 5, "abcde\r\n fgh\r\n.\r\n", true},
		{"abcde\rf\r\n", 5, "abcde\r\n \rf\r\n.\r\n", true},
		{"abcde\n", 5, "abcde\n.\r\n", false},
		{"abcdefghij\r\n", 0, "abcdefghij\r\n.\r\n", false},
	} {
		for _, bufSize := range []int{1, 2, 3, 5, 6, 7, 64 << 10} {
			out, folded := encodeData(t, tc.in, tc.limit, bufSize)
			if out != tc.out || folded != tc.folded {
				t.Errorf("data of %q (buffer %d, limit %d) = %q folded %v, want %q folded %v", tc.in, bufSize, tc.limit, out, folded, tc.out, tc.folded)
			}
		}
	}
}

// TestDataWriterLineLimit: whatever the input, no line of the output is
// longer than the limit but for a stuffed dot, and taking the breaks and
// the stuffing out again gives the input back.
func TestDataWriterLineLimit(t *testing.T) {
	msg := "Subject: " + strings.Repeat("s", 3000) + "\r\n\r\n" + strings.Repeat("x", 998) + "\r\n" +
		strings.Repeat("y", 999) + "\r\n." + strings.Repeat("z", 2500) + "\r\n" + strings.Repeat("é", 1000) + "\r\n"
	for _, bufSize := range []int{1, 997, 998, 999, 1000, 4096} {
		out, _ := encodeData(t, msg, 998, bufSize)
		for _, l := range strings.Split(strings.TrimSuffix(out, "\r\n"), "\r\n") {
			if len(strings.TrimPrefix(l, ".")) > 998 {
				t.Fatalf("buffer %d: a line of %d octets", bufSize, len(l))
			}
		}
		back := strings.ReplaceAll(strings.TrimSuffix(out, ".\r\n"), "\r\n ", "")
		back = strings.ReplaceAll(back, "\r\n..", "\r\n.")
		if back != msg {
			t.Fatalf("buffer %d: unfolded output differs from the input", bufSize)
		}
	}
}

func BenchmarkDataWriter(b *testing.B) {
	msg := strings.Repeat("A line of a message of about seventy characters, as text mail has.\r\n", 1500)
	msg += ".a dot\r\n"
	var out bytes.Buffer
	buf := make([]byte, 64<<10)
	b.SetBytes(int64(len(msg)))
	b.ReportAllocs()
	for b.Loop() {
		out.Reset()
		w := bufio.NewWriterSize(&out, 64<<10)
		d := newDataWriter(w, 998)
		if _, err := io.CopyBuffer(struct{ io.Writer }{d}, strings.NewReader(msg), buf); err != nil {
			b.Fatal(err)
		}
		d.Close()
		w.Flush()
	}
}

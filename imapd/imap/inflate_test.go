package imap

import (
	"bytes"
	"compress/flate"
	"io"
	"strings"
	"testing"
)

// FuzzInflate: whatever compress/flate writes, at any level and with
// flushes between writes, the inflater decodes to the same bytes; on
// arbitrary input it fails without panicking.
func FuzzInflate(f *testing.F) {
	f.Add([]byte("a1 NOOP\r\n"), 6, uint8(0))
	f.Add([]byte(strings.Repeat("a2 SEARCH SUBJECT invoice\r\n", 300)), 9, uint8(7))
	f.Add([]byte("\x00\x01\x02\xff random bytes, not deflate"), -2, uint8(3))
	f.Fuzz(func(t *testing.T, data []byte, level int, cut uint8) {
		if level < -2 || level > 9 {
			level = 1
		}
		var z bytes.Buffer
		w, err := flate.NewWriter(&z, level)
		if err != nil {
			t.Fatal(err)
		}
		c := int(cut) % (len(data) + 1)
		w.Write(data[:c])
		w.Flush()
		w.Write(data[c:])
		w.Close()
		got, err := io.ReadAll(newInflater(&z))
		if err != nil || !bytes.Equal(got, data) {
			t.Fatalf("inflate: %d bytes, %v; want %d bytes", len(got), err, len(data))
		}
		// The input itself as a deflate stream: any error, no panic.
		io.Copy(io.Discard, newInflater(bytes.NewReader(data)))
	})
}

// TestInflateLarge: a stream longer than the window, with
// back-references across it.
func TestInflateLarge(t *testing.T) {
	var src bytes.Buffer
	for i := range 20000 {
		src.WriteString(strings.Repeat("x", i%97))
		src.WriteString("line\r\n")
	}
	for _, level := range []int{flate.NoCompression, flate.BestSpeed, flate.DefaultCompression, flate.HuffmanOnly} {
		var z bytes.Buffer
		w, _ := flate.NewWriter(&z, level)
		w.Write(src.Bytes())
		w.Close()
		got, err := io.ReadAll(newInflater(&z))
		if err != nil || !bytes.Equal(got, src.Bytes()) {
			t.Fatalf("level %d: %d bytes, %v; want %d", level, len(got), err, src.Len())
		}
	}
}

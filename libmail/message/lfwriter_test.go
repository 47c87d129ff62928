package message

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// refLF is the obviously correct conversion the fast one is checked
// against: strings.ReplaceAll scans left to right without overlap, so in
// "\r\r\n" only the second CR is dropped, which is the rule.
func refLF(s string) string { return strings.ReplaceAll(s, "\r\n", "\n") }

func TestLFWriterChunks(t *testing.T) {
	tests := []struct {
		name   string
		chunks []string
		want   string
	}{
		{"empty", nil, ""},
		{"plain", []string{"a\r\nb\r\n"}, "a\nb\n"},
		{"lf only kept", []string{"a\nb\n"}, "a\nb\n"},
		{"lone cr kept", []string{"a\rb\r\n"}, "a\rb\n"},
		{"cr cr lf", []string{"a\r\r\nb"}, "a\r\nb"},
		{"split pair", []string{"a\r", "\nb"}, "a\nb"},
		{"split lone cr", []string{"a\r", "b"}, "a\rb"},
		{"split cr then cr", []string{"a\r", "\r", "\n"}, "a\r\n"},
		{"trailing cr", []string{"a\r"}, "a\r"},
		{"trailing cr after split", []string{"a\r\n", "\r"}, "a\n\r"},
		{"only crs", []string{"\r", "\r", "\r"}, "\r\r\r"},
		{"lf first", []string{"\n", "\r\n"}, "\n\n"},
		{"empty chunks", []string{"", "a\r", "", "\n", ""}, "a\n"},
		{"binary", []string{"\x00\r\x00\n\r\n\xff"}, "\x00\r\x00\n\n\xff"},
	}
	for _, tt := range tests {
		for _, size := range []int{2, 3, 7, defaultBufSize} {
			var out bytes.Buffer
			w := newLFWriterSize(&out, size)
			for _, c := range tt.chunks {
				if n, err := w.Write([]byte(c)); n != len(c) || err != nil {
					t.Fatalf("%s/%d: Write = %d, %v", tt.name, size, n, err)
				}
			}
			if err := w.Close(); err != nil {
				t.Fatalf("%s/%d: Close: %v", tt.name, size, err)
			}
			if got := out.String(); got != tt.want {
				t.Errorf("%s/%d: got %q, want %q", tt.name, size, got, tt.want)
			}
			if w.Count() != int64(out.Len()) {
				t.Errorf("%s/%d: Count = %d, wrote %d", tt.name, size, w.Count(), out.Len())
			}
		}
	}
}

func TestLFWriterReadFrom(t *testing.T) {
	inputs := []string{
		"",
		"a\r\nb\r\n",
		"a\rb\r\r\n\r",
		strings.Repeat("line of text\r\n", 1000),
		strings.Repeat("\r", 100) + "\n",
		strings.Repeat("x", 70000) + "\r\n\r",
	}
	readers := []struct {
		name string
		wrap func(io.Reader) io.Reader
	}{
		{"plain", func(r io.Reader) io.Reader { return r }},
		{"onebyte", iotest.OneByteReader},
		{"half", iotest.HalfReader},
		{"dataerr", iotest.DataErrReader},
	}
	for _, in := range inputs {
		for _, rd := range readers {
			for _, size := range []int{2, 5, 64, defaultBufSize} {
				var out bytes.Buffer
				w := newLFWriterSize(&out, size)
				n, err := w.ReadFrom(rd.wrap(strings.NewReader(in)))
				if err != nil || n != int64(len(in)) {
					t.Fatalf("%s/%d: ReadFrom = %d, %v", rd.name, size, n, err)
				}
				if err := w.Close(); err != nil {
					t.Fatal(err)
				}
				if got, want := out.String(), refLF(in); got != want {
					t.Errorf("%s/%d: input %.40q: got %.40q, want %.40q", rd.name, size, in, got, want)
				}
				if w.Count() != int64(out.Len()) {
					t.Errorf("%s/%d: Count = %d, wrote %d", rd.name, size, w.Count(), out.Len())
				}
			}
		}
	}
}

// TestLFWriterMixed interleaves Write and ReadFrom across a split CRLF, the
// way Deliver writes a header and then copies the body.
func TestLFWriterMixed(t *testing.T) {
	var out bytes.Buffer
	w := newLFWriterSize(&out, 4)
	io.WriteString(w, "H: v\nX\r")
	w.ReadFrom(strings.NewReader("\nbody\r"))
	io.WriteString(w, "\r\n")
	w.ReadFrom(strings.NewReader("\r"))
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	if got, want := out.String(), "H: v\nX\nbody\r\n\r"; got != want {
		t.Fatalf("got %q, want %q", got, want)
	}
}

type failWriter struct{ after int }

var errDisk = errors.New("disk full")

func (f *failWriter) Write(p []byte) (int, error) {
	if f.after <= 0 {
		return 0, errDisk
	}
	n := min(len(p), f.after)
	f.after -= n
	if n < len(p) {
		return n, errDisk
	}
	return n, nil
}

func TestLFWriterStickyError(t *testing.T) {
	fw := &failWriter{after: 5}
	w := newLFWriterSize(fw, 4)
	_, err := w.Write([]byte("0123456789\r\n"))
	if !errors.Is(err, errDisk) {
		t.Fatalf("Write error = %v, want %v", err, errDisk)
	}
	if _, err := w.Write([]byte("x")); !errors.Is(err, errDisk) {
		t.Fatalf("second Write error = %v", err)
	}
	if _, err := w.ReadFrom(strings.NewReader("x")); !errors.Is(err, errDisk) {
		t.Fatalf("ReadFrom error = %v", err)
	}
	if err := w.Close(); !errors.Is(err, errDisk) {
		t.Fatalf("Close error = %v", err)
	}
	w.Reset(io.Discard)
	if _, err := w.Write([]byte("ok\r\n")); err != nil {
		t.Fatalf("after Reset: %v", err)
	}
	if err := w.Close(); err != nil || w.Count() != 3 {
		t.Fatalf("after Reset: Close = %v, Count = %d", err, w.Count())
	}
}

func TestLFWriterReadError(t *testing.T) {
	boom := errors.New("connection reset")
	var out bytes.Buffer
	w := NewLFWriter(&out)
	r := io.MultiReader(strings.NewReader("a\r\n"), iotest.ErrReader(boom))
	if _, err := w.ReadFrom(r); !errors.Is(err, boom) {
		t.Fatalf("ReadFrom error = %v, want %v", err, boom)
	}
}

type emptyReader struct{}

func (emptyReader) Read([]byte) (int, error) { return 0, nil }

func TestLFWriterNoProgress(t *testing.T) {
	w := NewLFWriter(io.Discard)
	if _, err := w.ReadFrom(emptyReader{}); !errors.Is(err, io.ErrNoProgress) {
		t.Fatalf("ReadFrom error = %v, want io.ErrNoProgress", err)
	}
}

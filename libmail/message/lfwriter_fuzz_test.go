package message

import (
	"bytes"
	"io"
	"testing"
	"testing/iotest"
)

// FuzzLFWriter checks the converter against refLF for every input, with
// buffer sizes and write sizes chosen so that CRs land on every kind of
// boundary: the end of a Write, the end of a Read and the end of the buffer.
func FuzzLFWriter(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		want := refLF(string(data))
		for _, size := range []int{2, 3, 16, defaultBufSize} {
			for _, step := range []int{1, 2, 3, 7, len(data) + 1} {
				var out bytes.Buffer
				w := newLFWriterSize(&out, size)
				for p := data; len(p) > 0; {
					k := min(step, len(p))
					if n, err := w.Write(p[:k]); n != k || err != nil {
						t.Fatalf("Write = %d, %v", n, err)
					}
					p = p[k:]
				}
				check(t, w, &out, want, "write", size, step)
			}
			for i, wrap := range []func(io.Reader) io.Reader{iotest.OneByteReader, iotest.HalfReader, iotest.DataErrReader} {
				var out bytes.Buffer
				w := newLFWriterSize(&out, size)
				if _, err := w.ReadFrom(wrap(bytes.NewReader(data))); err != nil {
					t.Fatalf("ReadFrom: %v", err)
				}
				check(t, w, &out, want, "readfrom", size, i)
			}
		}
	})
}

func check(t *testing.T, w *LFWriter, out *bytes.Buffer, want, how string, size, variant int) {
	t.Helper()
	if err := w.Close(); err != nil {
		t.Fatalf("Close: %v", err)
	}
	if out.String() != want {
		t.Fatalf("%s size %d variant %d: got %q, want %q", how, size, variant, out.Bytes(), want)
	}
	if w.Count() != int64(len(want)) {
		t.Fatalf("%s size %d variant %d: Count = %d, want %d", how, size, variant, w.Count(), len(want))
	}
}

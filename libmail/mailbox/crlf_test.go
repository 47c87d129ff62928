package mailbox

import (
	"io"
	"math/rand/v2"
	"strings"
	"testing"
	"testing/iotest"
)

// refCRLF is the conversion done the slow way, a line at a time.
func refCRLF(in string, header bool) string {
	var b strings.Builder
	for in != "" {
		line, rest, nl := strings.Cut(in, "\n")
		in = rest
		b.WriteString(line)
		if !nl {
			break
		}
		if !strings.HasSuffix(line, "\r") {
			b.WriteByte('\r')
		}
		b.WriteByte('\n')
		if header && (line == "" || line == "\r") {
			break
		}
	}
	return b.String()
}

// TestCRLFChunks: the chunked reader agrees with the line-at-a-time
// conversion on inputs of CR, LF and text, whatever the read sizes
// (one byte at a time puts every CR and LF at a chunk boundary).
func TestCRLFChunks(t *testing.T) {
	r := rand.New(rand.NewPCG(1, 2))
	alphabet := []string{"\r", "\n", "a", "\r\n", "bc"}
	for i := range 2000 {
		var b strings.Builder
		for range r.IntN(40) {
			b.WriteString(alphabet[r.IntN(len(alphabet))])
		}
		if i%50 == 0 {
			b.WriteString(strings.Repeat("x\n", 20000))
		}
		in := b.String()
		for _, header := range []bool{false, true} {
			for _, one := range []bool{false, true} {
				var src io.Reader = strings.NewReader(in)
				if one {
					src = iotest.OneByteReader(src)
				}
				got, err := io.ReadAll(newCRLFReader(io.NopCloser(src), header))
				if want := refCRLF(in, header); err != nil || string(got) != want {
					t.Fatalf("%q (header %v, one byte %v):\ngot  %q\nwant %q", in, header, one, got, want)
				}
			}
		}
	}
}

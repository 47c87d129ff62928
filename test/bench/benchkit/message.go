package benchkit

import (
	"bufio"
	"crypto/sha256"
	"fmt"
	"hash"
	"io"
	"strconv"
	"time"
)

// LineLen is the length of a body line without its line end: plain
// 76-character lines, as base64 bodies have.
const LineLen = 76

// Message describes a test message; Write streams it, so a message of
// any size costs the sender no more than a line of memory.
type Message struct {
	From, To, Subject string
	// Size is the length of the message (header and body, LF line ends,
	// as handed to an SMTP DATA writer that makes them CRLF) to reach at
	// least; the last line is whole, so it may be up to a line longer.
	Size int64
}

// Write writes the message with LF line ends and returns the bytes
// written and the SHA-256 of its body, which a receiver's BodyHasher
// must find again.
func (m Message) Write(w io.Writer) (n int64, body [32]byte, err error) {
	bw := bufio.NewWriterSize(w, 64<<10)
	cw := &countWriter{w: bw}
	fmt.Fprintf(cw, "From: <%s>\nTo: <%s>\nSubject: %s\nDate: %s\nMessage-ID: <%d.bench@example.com>\nMIME-Version: 1.0\nContent-Type: text/plain; charset=us-ascii\n\n",
		m.From, m.To, m.Subject, time.Now().Format(time.RFC1123Z), time.Now().UnixNano())
	h := sha256.New()
	var line [LineLen + 1]byte
	for i := 0; cw.n < m.Size || i == 0; i++ {
		fillLine(line[:], i)
		h.Write(line[:])
		if _, err := cw.Write(line[:]); err != nil {
			return cw.n, body, err
		}
	}
	if err := bw.Flush(); err != nil {
		return cw.n, body, err
	}
	h.Sum(body[:0])
	return cw.n, body, nil
}

// fillLine makes body line i: its number, then letters that shift with
// it, so a lost, doubled or reordered line changes the hash.
func fillLine(b []byte, i int) {
	n := copy(b, strconv.AppendInt(make([]byte, 0, 12), int64(i), 10))
	b[n] = ' '
	for j := n + 1; j < LineLen; j++ {
		b[j] = 'a' + byte((i+j)%26)
	}
	b[LineLen] = '\n'
}

type countWriter struct {
	w io.Writer
	n int64
}

func (c *countWriter) Write(p []byte) (int, error) {
	n, err := c.w.Write(p)
	c.n += int64(n)
	return n, err
}

// BodyHasher reads a message as a receiver got it, with CR LF or LF line
// ends, and hashes its body with LF line ends; it counts every byte.
type BodyHasher struct {
	h      hash.Hash
	inBody bool
	nl     bool  // the last header byte (CRs aside) was LF
	N      int64 // bytes written, as received
	buf    []byte
}

// NewBodyHasher returns an empty hasher.
func NewBodyHasher() *BodyHasher { return &BodyHasher{h: sha256.New(), buf: make([]byte, 0, 64<<10)} }

func (b *BodyHasher) Write(p []byte) (int, error) {
	b.N += int64(len(p))
	out := b.buf[:0]
	for _, c := range p {
		if c == '\r' {
			continue
		}
		if !b.inBody {
			if c == '\n' && b.nl {
				b.inBody = true
			}
			b.nl = c == '\n'
			continue
		}
		out = append(out, c)
		if len(out) == cap(out) {
			b.h.Write(out)
			out = out[:0]
		}
	}
	b.h.Write(out)
	return len(p), nil
}

// Sum is the body's hash.
func (b *BodyHasher) Sum() [32]byte {
	var s [32]byte
	b.h.Sum(s[:0])
	return s
}

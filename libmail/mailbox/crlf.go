package mailbox

import (
	"bytes"
	"io"
	"sync"
)

// crlfReader yields a Maildir file (Unix line ends) with CRLF line ends,
// as IMAP and POP3 send messages. With header set it stops after the
// empty line that ends the header section, so that a header fetch reads
// only as far as the header (and one buffer).
//
// It converts a chunk at a time (runs between line ends are copied
// whole), since SEARCH BODY streams every message of a folder through it.
type crlfReader struct {
	r      io.Reader
	c      io.Closer
	bufs   *crlfBufs
	pool   *sync.Pool // where bufs go back at Close, if not nil
	out    []byte     // converted, not yet returned
	header bool
	// line is what the current line holds so far: lineEmpty nothing,
	// lineCR only a CR (both still make an empty line), lineText more.
	line   int
	lastCR bool // the last byte converted was CR
	eof    bool
}

const (
	lineEmpty = iota
	lineCR
	lineText
)

// crlfBufs are a reader's buffers, reused through a pool by a store.
type crlfBufs struct{ in, out []byte }

const crlfChunk = 16 << 10

func newCRLFBufs() any {
	return &crlfBufs{in: make([]byte, crlfChunk), out: make([]byte, 0, 2*crlfChunk)}
}

func newCRLFReader(rc io.ReadCloser, header bool) *crlfReader {
	return &crlfReader{r: rc, c: rc, bufs: newCRLFBufs().(*crlfBufs), header: header}
}

// newPooledCRLFReader is newCRLFReader with buffers from pool (whose New
// is newCRLFBufs), returned at Close.
func newPooledCRLFReader(rc io.ReadCloser, header bool, pool *sync.Pool) *crlfReader {
	return &crlfReader{r: rc, c: rc, bufs: pool.Get().(*crlfBufs), pool: pool, header: header}
}

func (c *crlfReader) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.eof || c.bufs == nil {
			return 0, io.EOF
		}
		n, err := c.r.Read(c.bufs.in)
		if n > 0 {
			c.out = c.convert(c.bufs.in[:n], c.bufs.out[:0])
		}
		if err == io.EOF {
			c.eof = true
		} else if err != nil {
			return 0, err
		}
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// convert appends chunk to out in CRLF form: a LF not preceded by CR
// gets one. In header mode it stops after the empty line.
func (c *crlfReader) convert(chunk, out []byte) []byte {
	for len(chunk) > 0 {
		i := bytes.IndexByte(chunk, '\n')
		seg := chunk
		if i >= 0 {
			seg = chunk[:i]
		}
		if len(seg) > 0 {
			out = append(out, seg...)
			if c.line == lineEmpty && len(seg) == 1 && seg[0] == '\r' {
				c.line = lineCR
			} else {
				c.line = lineText
			}
			c.lastCR = seg[len(seg)-1] == '\r'
		}
		if i < 0 {
			break
		}
		if !c.lastCR {
			out = append(out, '\r')
		}
		out = append(out, '\n')
		empty := c.line != lineText
		c.line, c.lastCR = lineEmpty, false
		chunk = chunk[i+1:]
		if c.header && empty {
			c.eof = true // the empty line ends the header section
			break
		}
	}
	return out
}

// Close closes the file and gives the buffers back.
func (c *crlfReader) Close() error {
	if c.pool != nil && c.bufs != nil {
		c.bufs.out = c.bufs.out[:0]
		c.pool.Put(c.bufs)
	}
	c.bufs, c.out = nil, nil
	return c.c.Close()
}

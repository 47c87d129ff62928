package mailbox

import (
	"bufio"
	"errors"
	"io"
)

// crlfReader yields a Maildir file (Unix line ends) with CRLF line ends,
// as IMAP and POP3 send messages. With header set it stops after the
// empty line that ends the header section, so that a header fetch reads
// only as far as the header (and one buffer).
type crlfReader struct {
	r       *bufio.Reader
	c       io.Closer
	out     []byte // converted, not yet returned
	scratch []byte
	header  bool
	bol     bool // the next piece starts a line
	lastCR  bool // the previous piece ended in CR
	eof     bool
}

func newCRLFReader(rc io.ReadCloser, header bool) *crlfReader {
	return &crlfReader{r: bufio.NewReaderSize(rc, 16<<10), c: rc, header: header, bol: true}
}

func (c *crlfReader) Read(p []byte) (int, error) {
	for len(c.out) == 0 {
		if c.eof {
			return 0, io.EOF
		}
		piece, err := c.r.ReadSlice('\n')
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			if err != io.EOF {
				return 0, err
			}
			c.eof = true
		}
		c.out = c.convert(piece)
	}
	n := copy(p, c.out)
	c.out = c.out[n:]
	return n, nil
}

// convert turns one piece (a line, or part of a long one) into CRLF form.
func (c *crlfReader) convert(piece []byte) []byte {
	if len(piece) == 0 {
		return nil
	}
	bol, lastCR := c.bol, c.lastCR
	c.lastCR = piece[len(piece)-1] == '\r'
	c.bol = piece[len(piece)-1] == '\n'
	if !c.bol {
		return piece
	}
	if c.header && bol && (len(piece) == 1 || len(piece) == 2 && piece[0] == '\r') {
		c.eof = true // the empty line ends the header section
	}
	crBefore := len(piece) >= 2 && piece[len(piece)-2] == '\r' || len(piece) == 1 && lastCR
	if crBefore {
		return piece
	}
	c.scratch = append(append(c.scratch[:0], piece[:len(piece)-1]...), '\r', '\n')
	return c.scratch
}

func (c *crlfReader) Close() error { return c.c.Close() }

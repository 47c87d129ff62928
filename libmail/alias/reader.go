package alias

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"unicode/utf8"
)

// maxLine bounds one physical line. Long member lists are normally split
// over continuation lines, so a longer line is far more likely to be a
// corrupt or hostile file than a real alias, and the bound keeps such a file
// from taking unbounded memory one line at a time.
const maxLine = 1 << 20

// lineReader yields physical lines with their numbers.
type lineReader struct {
	r    *bufio.Reader
	n    int // number of the line last returned
	buf  []byte
	long bool // the line last returned was cut at maxLine
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReader(r)}
}

// next returns the next line without its terminator, or io.EOF; the line is
// only valid until the next call. A line
// longer than maxLine comes back with only its first byte and lr.long set,
// so that the caller can still tell a continuation line from an entry.
func (lr *lineReader) next() ([]byte, error) {
	lr.buf, lr.long = lr.buf[:0], false
	read := 0
	for {
		chunk, err := lr.r.ReadSlice('\n')
		read += len(chunk)
		switch {
		case lr.long:
		case len(lr.buf)+len(chunk) > maxLine:
			lr.long = true
			if len(lr.buf) == 0 {
				lr.buf = append(lr.buf, chunk[0])
			}
			lr.buf = lr.buf[:1]
		default:
			lr.buf = append(lr.buf, chunk...)
		}
		if errors.Is(err, bufio.ErrBufferFull) {
			continue
		}
		if err == io.EOF && read > 0 {
			err = nil
		}
		if err != nil {
			return nil, err
		}
		break
	}
	lr.n++
	line := bytes.TrimSuffix(lr.buf, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if lr.n == 1 {
		// Editors on some systems start UTF-8 files with a byte order mark;
		// it is not part of the first name.
		line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
	}
	return line, nil
}

// isComment reports whether line is blank or a comment, which aliases(5)
// says are ignored.
func isComment(line []byte) bool {
	line = bytes.TrimLeft(line, " \t")
	return len(line) == 0 || line[0] == '#'
}

// checkLine rejects text no name or value can hold: invalid UTF-8, and
// control characters other than tab, which can only be corruption and could
// smuggle line breaks into a command or a log.
func checkLine(line []byte) error {
	if !utf8.Valid(line) {
		return errors.New("invalid UTF-8")
	}
	for _, c := range line {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return fmt.Errorf("control character %q", c)
		}
	}
	return nil
}

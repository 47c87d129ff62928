package account

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// maxLine bounds one line. Real lines are a few hundred bytes, so a longer
// one is a corrupt or hostile file, and the bound keeps it from taking
// unbounded memory.
const maxLine = 64 << 10

// lineReader yields lines with their numbers.
type lineReader struct {
	r    *bufio.Reader
	n    int // number of the line last returned
	buf  []byte
	long bool // the line last returned was longer than maxLine and dropped
}

func newLineReader(r io.Reader) *lineReader {
	return &lineReader{r: bufio.NewReader(r)}
}

// next returns the next line without its terminator, or io.EOF; the line is
// only valid until the next call. A line longer than maxLine comes back
// empty with lr.long set.
func (lr *lineReader) next() ([]byte, error) {
	lr.buf, lr.long = lr.buf[:0], false
	read := 0
	for {
		chunk, err := lr.r.ReadSlice('\n')
		read += len(chunk)
		if !lr.long {
			if len(lr.buf)+len(chunk) > maxLine {
				lr.long, lr.buf = true, lr.buf[:0]
			} else {
				lr.buf = append(lr.buf, chunk...)
			}
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
		// it is not part of the first address.
		line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
	}
	return line, nil
}

// isComment reports whether line is blank or a comment.
func isComment(line []byte) bool {
	line = bytes.TrimLeft(line, " \t")
	return len(line) == 0 || line[0] == '#'
}

// checkControl rejects control characters other than tab anywhere in a
// line: they can only be corruption, and in a home directory or a plaintext
// password they would be dangerous.
func checkControl(line []byte) error {
	for _, c := range line {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return fmt.Errorf("control character %q", c)
		}
	}
	return nil
}

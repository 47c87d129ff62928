// Package textfile reads the line-oriented files administrators edit by
// hand, the aliases and accounts files among them: numbered lines of
// bounded length, comments, a check for control characters, and errors
// that name the file and line ("FILE:LINE: message", the form compilers
// use, so an editor jumps straight to it).
package textfile

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
)

// LineReader yields physical lines with their numbers. Lines end in LF or
// CRLF; a UTF-8 byte order mark at the start of the file is dropped.
type LineReader struct {
	r   *bufio.Reader
	max int
	buf []byte
	// N is the number of the line last returned, from 1.
	N int
	// Long says the line last returned was longer than the limit: only its
	// first byte came back, so that a caller can still tell a comment or a
	// continuation line from an entry, and the rest was read and dropped.
	Long bool
}

// NewLineReader reads lines of at most max bytes from r. Real lines in
// these files are short, so a longer one is a corrupt or hostile file,
// and the bound keeps it from taking unbounded memory.
func NewLineReader(r io.Reader, max int) *LineReader {
	return &LineReader{r: bufio.NewReader(r), max: max}
}

// Next returns the next line without its terminator, or io.EOF; the line
// is only valid until the next call.
func (lr *LineReader) Next() ([]byte, error) {
	lr.buf, lr.Long = lr.buf[:0], false
	read := 0
	for {
		chunk, err := lr.r.ReadSlice('\n')
		read += len(chunk)
		switch {
		case lr.Long:
		case len(lr.buf)+len(chunk) > lr.max:
			lr.Long = true
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
	lr.N++
	line := bytes.TrimSuffix(lr.buf, []byte("\n"))
	line = bytes.TrimSuffix(line, []byte("\r"))
	if lr.N == 1 {
		// Editors on some systems start UTF-8 files with a byte order
		// mark; it is not part of the first entry.
		line = bytes.TrimPrefix(line, []byte("\xef\xbb\xbf"))
	}
	return line, nil
}

// IsComment reports whether line is blank or a comment (# after optional
// blanks), which these files ignore.
func IsComment(line []byte) bool {
	line = bytes.TrimLeft(line, " \t")
	return len(line) == 0 || line[0] == '#'
}

// CheckControl rejects control characters other than tab anywhere in a
// line: they can only be corruption, and in a command, a home directory
// or a password they could smuggle line breaks into a log or worse.
func CheckControl(line []byte) error {
	for _, c := range line {
		if (c < 0x20 && c != '\t') || c == 0x7f {
			return fmt.Errorf("control character %q", c)
		}
	}
	return nil
}

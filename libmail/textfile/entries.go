package textfile

import (
	"fmt"
	"io"
)

// Entries reads a table of one entry per line (the accounts file, the
// sender login map, the relay credentials), skipping blank lines and
// comments, and hands each other line to entry with its number. Every
// problem is collected, each as a *ParseError naming the line: a line
// longer than max bytes (entry does not see it) and whatever entry
// returns. name is the file name in the messages.
//
// A read error is appended last and complete is false: the caller must
// not take what it has for the whole table.
func Entries(r io.Reader, name string, max int, entry func(n int, line []byte) error) (errs []error, complete bool) {
	lr := NewLineReader(r, max)
	for {
		line, err := lr.Next()
		if err == io.EOF {
			return errs, true
		}
		if err != nil {
			return append(errs, fmt.Errorf("read %s: %w", name, err)), false
		}
		switch {
		case lr.Long:
			err = fmt.Errorf("line longer than %d bytes", max)
		case IsComment(line):
			continue
		default:
			err = entry(lr.N, line)
		}
		if err != nil {
			errs = append(errs, &ParseError{File: name, Line: lr.N, Err: err})
		}
	}
}

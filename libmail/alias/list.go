package alias

import (
	"fmt"
	"io"
	"os"

	"postern.dev/postern/libmail/textfile"
)

// LoadList reads and parses the list file at path, such as an :include:
// file or a ~/.forward file. See ParseList for what the results mean.
func LoadList(path string) ([]Target, []error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, []error{fmt.Errorf("open list: %w", err)}
	}
	defer f.Close()
	return ParseList(f, path)
}

// ParseList reads a list of values separated by commas, newlines or both,
// the format of :include: files (aliases(5)) and ~/.forward files. Blank
// lines and lines whose first non-blank character is '#' are comments.
// Each line stands alone: there are no continuation lines, and a quoted
// string cannot span lines.
//
// Every problem is reported as a *ParseError and the values that had none
// are returned, in order; the caller decides whether a partial list is
// acceptable. A read error is reported last and returns no values, for the
// same reason as in Parse.
func ParseList(r io.Reader, name string) ([]Target, []error) {
	var targets []Target
	var errs []error
	errorf := func(line int, format string, args ...any) {
		errs = append(errs, &ParseError{File: name, Line: line, Err: fmt.Errorf(format, args...)})
	}
	lr := textfile.NewLineReader(r, maxLine)
	for {
		line, err := lr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			errs = append(errs, fmt.Errorf("read %s: %w", name, err))
			return nil, errs
		}
		if lr.Long && line[0] != '#' {
			errorf(lr.N, "line longer than %d bytes", maxLine)
			continue
		}
		if lr.Long || textfile.IsComment(line) {
			continue
		}
		if err := checkLine(line); err != nil {
			errorf(lr.N, "%v", err)
			continue
		}
		items, _, err := splitValues(string(line))
		if err != nil {
			errorf(lr.N, "%v", err)
		}
		for _, it := range items {
			t, err := parseValue(it.text)
			if err != nil {
				errorf(lr.N, "invalid value %q: %w", it.text, err)
				continue
			}
			targets = append(targets, t)
		}
	}
	return targets, errs
}

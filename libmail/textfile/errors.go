package textfile

import "fmt"

// ParseError is a problem found at one line of a file. Its message has
// the "FILE:LINE: message" form that compilers and editors understand.
type ParseError struct {
	File string
	Line int
	Err  error
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

package account

import (
	"errors"
	"fmt"
)

// ErrDuplicate marks the error for an address that an earlier line already
// defined; the earlier line is the one kept.
var ErrDuplicate = errors.New("duplicate account")

// ParseError is a problem found at one line of an accounts file. Its
// message has the "FILE:LINE: message" form that compilers and editors
// understand, so an administrator can jump straight to the line.
type ParseError struct {
	File string
	Line int
	Err  error
}

func (e *ParseError) Error() string {
	return fmt.Sprintf("%s:%d: %v", e.File, e.Line, e.Err)
}

func (e *ParseError) Unwrap() error { return e.Err }

package alias

import (
	"errors"
	"fmt"
)

// ErrDuplicate marks the warning for a name that an earlier entry already
// defined. It is the only warning: every other error means something was
// left out.
var ErrDuplicate = errors.New("duplicate name")

// ParseError is a problem found at one line of an aliases file or list. Its
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

// IsWarning reports whether err only warns: the entry it names was ignored
// in favour of an earlier one, and nothing else was lost.
func IsWarning(err error) bool { return errors.Is(err, ErrDuplicate) }

package account

import (
	"errors"

	"postern.dev/postern/libmail/textfile"
)

// ErrDuplicate marks the error for an address that an earlier line already
// defined; the earlier line is the one kept.
var ErrDuplicate = errors.New("duplicate account")

// ParseError is a problem found at one line of an accounts file.
type ParseError = textfile.ParseError

// maxLine bounds one line; real lines are a few hundred bytes.
const maxLine = 64 << 10

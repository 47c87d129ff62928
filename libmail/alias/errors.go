package alias

import (
	"errors"
	"unicode/utf8"

	"postern.dev/postern/libmail/textfile"
)

// ErrDuplicate marks the warning for a name that an earlier entry already
// defined. It is the only warning: every other error means something was
// left out.
var ErrDuplicate = errors.New("duplicate name")

// ParseError is a problem found at one line of an aliases file or list.
type ParseError = textfile.ParseError

// IsWarning reports whether err only warns: the entry it names was ignored
// in favour of an earlier one, and nothing else was lost.
func IsWarning(err error) bool { return errors.Is(err, ErrDuplicate) }

// maxLine bounds one physical line. Long member lists are normally split
// over continuation lines, so a longer line is far more likely to be a
// corrupt or hostile file than a real alias.
const maxLine = 1 << 20

// checkLine rejects text no name or value can hold: invalid UTF-8, and
// control characters other than tab.
func checkLine(line []byte) error {
	if !utf8.Valid(line) {
		return errors.New("invalid UTF-8")
	}
	return textfile.CheckControl(line)
}

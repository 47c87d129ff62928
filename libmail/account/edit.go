package account

import (
	"bytes"
	"errors"
	"fmt"
	"strings"

	"postern.dev/postern/libmail/textfile"
)

// Why an edit was refused.
var (
	ErrExists    = errors.New("account exists")
	ErrNoAccount = errors.New("no such account")
)

// The edits below work on the text of an accounts file, for `postern
// user`: they change the lines that define one address and leave every
// other byte as it was, comments, blank lines, line ends, the fields
// meant for Dovecot and lines this package cannot parse included, so an
// administrator's file survives a tool's edit.
//
// A line defines an address when its first field is that address (in any
// case), whether or not the rest of the line parses: a line with a broken
// password still names the account, and adding a second line for it
// would hide the breakage behind a duplicate.

// CheckAddress checks that s is an account address as the file takes it
// (local@domain, nothing that needs quoting) and returns it in lower case.
func CheckAddress(s string) (string, error) {
	addr, err := parseUser(s)
	switch {
	case err != nil:
	case textfile.CheckControl([]byte(addr)) != nil:
		err = errors.New("control character in address")
	case strings.HasPrefix(addr, "#"):
		err = errors.New("local part starts with '#'") // the line would be a comment
	case strings.Contains(addr, ":"):
		err = errors.New("unexpected ':' in local part") // the field separator
	}
	if err != nil {
		return "", fmt.Errorf("%q: %w", s, err)
	}
	return addr, nil
}

// Add returns text with a line for addr and the password field hash (as
// Hash returns it) appended. It fails with ErrExists when a line defines
// addr already.
func Add(text []byte, addr, hash string) ([]byte, error) {
	addr, err := checkEdit(addr, hash)
	if err != nil {
		return nil, err
	}
	if lines := defining(text, addr); len(lines) > 0 {
		return nil, fmt.Errorf("%w: %s (line %d)", ErrExists, addr, lines[0].n)
	}
	out := make([]byte, 0, len(text)+len(addr)+len(hash)+3)
	out = append(out, text...)
	if len(out) > 0 && out[len(out)-1] != '\n' {
		out = append(out, '\n')
	}
	return append(append(append(append(out, addr...), ':'), hash...), '\n'), nil
}

// SetPassword returns text with the password field of addr's line
// replaced by hash, the other fields of the line kept as written. Only
// the first line that defines addr is the account (Parse ignores later
// ones as duplicates), so only it changes. It fails with ErrNoAccount when
// no line defines addr, and when the rest of the line has a problem of
// its own, which a new password would not cure.
func SetPassword(text []byte, addr, hash string) ([]byte, error) {
	addr, err := checkEdit(addr, hash)
	if err != nil {
		return nil, err
	}
	lines := defining(text, addr)
	if len(lines) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoAccount, addr)
	}
	l := lines[0]
	content := text[l.start:l.end]
	user, rest, _ := bytes.Cut(content, []byte(":"))
	_, more, hasMore := bytes.Cut(rest, []byte(":"))
	var line []byte
	line = append(append(append(line, user...), ':'), hash...)
	if hasMore {
		line = append(append(line, ':'), more...)
	}
	// The rest of the line may be what is wrong with it; a new password
	// would not make it an account, so the administrator must look.
	if len(line) > maxLine {
		return nil, fmt.Errorf("line %d of the accounts file: longer than %d bytes", l.n, maxLine)
	}
	if _, err := parseLine(line); err != nil {
		return nil, fmt.Errorf("line %d of the accounts file: %w", l.n, err)
	}
	out := make([]byte, 0, len(text)-len(content)+len(line))
	out = append(append(append(out, text[:l.start]...), line...), text[l.end:]...)
	return out, nil
}

// Remove returns text without the lines that define addr: all of them,
// so that a duplicate the parser ignored does not become the account
// once the first is gone. It fails with ErrNoAccount when there is none.
func Remove(text []byte, addr string) ([]byte, error) {
	addr, err := CheckAddress(addr)
	if err != nil {
		return nil, err
	}
	lines := defining(text, addr)
	if len(lines) == 0 {
		return nil, fmt.Errorf("%w: %s", ErrNoAccount, addr)
	}
	out := make([]byte, 0, len(text))
	prev := 0
	for _, l := range lines {
		// A byte order mark before the first line is not the line's:
		// it stays at the top (start is after it).
		out = append(out, text[prev:l.start]...)
		prev = l.next
	}
	return append(out, text[prev:]...), nil
}

// checkEdit checks the address and the password field of an edit.
func checkEdit(addr, hash string) (string, error) {
	addr, err := CheckAddress(addr)
	if err != nil {
		return "", err
	}
	if _, err := parsePassword(hash); err != nil || hash == "" || strings.ContainsAny(hash, ":\r\n") {
		// Only a bug passes a bad hash; the message must not quote it.
		return "", errors.New("invalid password field")
	}
	return addr, nil
}

var bom = []byte("\xef\xbb\xbf")

// lineSpan is one line of a file's text: its number, where its content
// starts and ends (before CRLF or LF), and where the next line starts.
type lineSpan struct {
	n                int
	start, end, next int
}

// defining returns the lines whose first field is addr (lower case).
func defining(text []byte, addr string) []lineSpan {
	var found []lineSpan
	for n, start := 1, 0; start < len(text); n++ {
		next := len(text)
		end := next
		if i := bytes.IndexByte(text[start:], '\n'); i >= 0 {
			end, next = start+i, start+i+1
		}
		content := text[start:end]
		content = bytes.TrimSuffix(content, []byte("\r"))
		cend := start + len(content)
		if n == 1 {
			// Parse drops a byte order mark the same way.
			content = bytes.TrimPrefix(content, bom)
		}
		if !textfile.IsComment(content) {
			user, _, _ := bytes.Cut(content, []byte(":"))
			if u, err := parseUser(string(user)); err == nil && u == addr {
				found = append(found, lineSpan{n: n, start: cend - len(content), end: cend, next: next})
			}
		}
		start = next
	}
	return found
}

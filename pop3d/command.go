package pop3d

import (
	"errors"
	"strconv"
	"strings"
)

// Command is one parsed client command line.
type Command struct {
	Name string   // the keyword, upper case
	Args []string // the arguments as given
}

// Limits from RFC 2449 §4: a command line is at most 255 octets with its
// CRLF, a keyword 3 or 4 characters, an argument at most 40 characters.
// Longer lines are refused rather than cut, so that nothing is misread.
const (
	maxLine   = 255
	maxArg    = 40
	maxArgs   = 2
	maxKeyLen = 4
)

var (
	errEmpty   = errors.New("empty command")
	errBadChar = errors.New("invalid character in command")
	errKeyword = errors.New("invalid command keyword")
	errArg     = errors.New("argument too long or too many arguments")
)

// ParseCommand parses one line without its line end (RFC 1939 §3: a
// case-insensitive keyword and arguments separated by single spaces;
// several spaces are tolerated, as clients send them). Only printable
// ASCII is accepted: no command takes anything else, and a control
// character means a confused or hostile client.
func ParseCommand(line string) (Command, error) {
	if len(line) > maxLine-2 {
		return Command{}, errArg
	}
	for i := range len(line) {
		if c := line[i]; c < 0x20 && c != '\t' || c > 0x7e {
			return Command{}, errBadChar
		}
	}
	f := strings.Fields(line)
	if len(f) == 0 {
		return Command{}, errEmpty
	}
	if n := len(f[0]); n < 3 || n > maxKeyLen {
		return Command{}, errKeyword
	}
	for i := range len(f[0]) {
		if c := f[0][i]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return Command{}, errKeyword
		}
	}
	cmd := Command{Name: strings.ToUpper(f[0]), Args: f[1:]}
	if len(cmd.Args) > maxArgs {
		return Command{}, errArg
	}
	for _, a := range cmd.Args {
		if len(a) > maxArg {
			return Command{}, errArg
		}
	}
	return cmd, nil
}

// number parses a message number or line count: plain decimal digits.
func number(s string) (int, bool) {
	if s == "" || s[0] < '0' || s[0] > '9' {
		return 0, false
	}
	n, err := strconv.ParseUint(s, 10, 31)
	return int(n), err == nil
}

package imaplogin

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Limits of a command before login: its literals carry at most a user
// name or a password, and it has a few arguments (ID's list is the
// longest: 30 field-value pairs, RFC 2971 §3.3).
const (
	maxLiteral = 8192
	maxArgs    = 64
)

// Kinds of argument.
const (
	atom   = iota // an atom, NIL among them
	str           // a quoted string or a literal
	open          // "("
	closed        // ")"
)

// arg is one argument of a command.
type arg struct {
	kind int
	s    string
}

// command is one command line, its literals read in.
type command struct {
	tag  string
	name string // upper case
	args []arg
}

// source is where commands come from: the client (the login process's
// Client), or a byte string in tests and the fuzz target.
type source interface {
	ReadLine() (string, error)
	ReadFull(n int) ([]byte, error)
	// Continue tells the client to send a synchronizing literal
	// ("+ Ready for literal data").
	Continue() error
}

// syntaxError is a command the reader could not take; the tag is known
// if the line had one.
type syntaxError struct {
	tag string
	msg string
}

func (e *syntaxError) Error() string { return e.msg }

// errLiteralTooBig is a non-synchronizing literal over maxLiteral:
// the connection ends.
var errLiteralTooBig = errors.New("literal too big")

// badArg is what is wrong with an argument, in the words of the BAD
// reply.
type badArg string

func (b badArg) Error() string { return string(b) }

// errEmpty is an empty line, which is ignored (as Dovecot does).
var errEmpty = errors.New("empty line")

// readCommand reads one command with its literals. An I/O error is
// returned as it came; a syntax error as *syntaxError, after the rest of
// the command's line was read (a literal that was not asked for is not
// read: the client sends it only after "+").
func readCommand(src source) (*command, error) {
	line, err := src.ReadLine()
	if err != nil {
		return nil, err
	}
	if line == "" {
		return nil, errEmpty
	}
	tag, rest, ok := strings.Cut(line, " ")
	if !validTag(tag) {
		return nil, &syntaxError{msg: "Invalid tag"}
	}
	if !ok || rest == "" {
		return nil, &syntaxError{tag: tag, msg: "Missing command"}
	}
	name, rest, _ := strings.Cut(rest, " ")
	if !isAtom(name) {
		return nil, &syntaxError{tag: tag, msg: "Invalid command name"}
	}
	cmd := &command{tag: tag, name: strings.ToUpper(name)}
	for rest != "" {
		var a arg
		var lit int
		var sync bool
		a, rest, lit, sync, err = nextArg(rest)
		if err != nil {
			return nil, &syntaxError{tag: tag, msg: err.Error()}
		}
		if len(cmd.args) >= maxArgs {
			return nil, &syntaxError{tag: tag, msg: "Too many arguments"}
		}
		if lit < 0 {
			cmd.args = append(cmd.args, a)
			if err := space(&rest, a); err != nil {
				return nil, &syntaxError{tag: tag, msg: err.Error()}
			}
			continue
		}
		// A literal ends the line; its bytes follow (after our "+" if
		// it is synchronizing), then the rest of the command.
		if lit > maxLiteral {
			if !sync {
				// The client sends it anyway, and its bytes must not be
				// taken for commands: the session ends.
				return nil, errLiteralTooBig
			}
			return nil, &syntaxError{tag: tag, msg: "Literal too big"}
		}
		if sync {
			if err := src.Continue(); err != nil {
				return nil, err
			}
		}
		b, err := src.ReadFull(lit)
		if err != nil {
			return nil, err
		}
		cmd.args = append(cmd.args, arg{kind: str, s: string(b)})
		if rest, err = src.ReadLine(); err != nil {
			return nil, err
		}
		if rest != "" {
			if rest[0] != ' ' && rest[0] != ')' {
				return nil, &syntaxError{tag: tag, msg: "Missing space after literal"}
			}
			if rest[0] == ' ' {
				rest = rest[1:]
				if rest == "" {
					return nil, &syntaxError{tag: tag, msg: "Trailing space"}
				}
			}
		}
	}
	if depth(cmd.args) != 0 {
		return nil, &syntaxError{tag: tag, msg: "Unbalanced parentheses"}
	}
	return cmd, nil
}

// space takes the separator after an argument: a space before the next
// one, nothing before ")" or after "(" or at the end.
func space(rest *string, a arg) error {
	r := *rest
	switch {
	case r == "", a.kind == open, r[0] == ')':
		return nil
	case r[0] != ' ':
		return badArg("Missing space")
	case len(r) == 1:
		return badArg("Trailing space")
	}
	*rest = r[1:]
	return nil
}

// nextArg takes one argument from s. lit is the size of a literal that
// ends the line (-1 if the argument is no literal), sync whether the
// client waits for "+" before sending it.
func nextArg(s string) (a arg, rest string, lit int, sync bool, err error) {
	switch s[0] {
	case '(':
		return arg{kind: open}, s[1:], -1, false, nil
	case ')':
		return arg{kind: closed}, s[1:], -1, false, nil
	case '"':
		var b strings.Builder
		for i := 1; i < len(s); i++ {
			switch c := s[i]; c {
			case '"':
				return arg{kind: str, s: b.String()}, s[i+1:], -1, false, nil
			case '\\':
				i++
				if i == len(s) || (s[i] != '"' && s[i] != '\\') {
					return arg{}, "", 0, false, badArg("Invalid escape in quoted string")
				}
				b.WriteByte(s[i])
			case 0:
				return arg{}, "", 0, false, badArg("NUL in quoted string")
			default:
				b.WriteByte(c)
			}
		}
		return arg{}, "", 0, false, badArg("Unterminated quoted string")
	case '{':
		end := strings.IndexByte(s, '}')
		if end < 0 || end != len(s)-1 {
			return arg{}, "", 0, false, badArg("Invalid literal")
		}
		num := s[1:end]
		sync = true
		if strings.HasSuffix(num, "+") {
			num, sync = num[:len(num)-1], false
		}
		n, err := strconv.ParseUint(num, 10, 32)
		if err != nil || num == "" || num[0] == '+' {
			return arg{}, "", 0, false, badArg("Invalid literal size")
		}
		return arg{}, "", int(min(n, 1<<30)), sync, nil
	}
	end := 0
	for end < len(s) && isAtomChar(s[end]) || end < len(s) && s[end] == ']' {
		end++
	}
	if end == 0 {
		return arg{}, "", 0, false, badArg(fmt.Sprintf("Invalid character %q", s[0]))
	}
	return arg{kind: atom, s: s[:end]}, s[end:], -1, false, nil
}

// depth is how many lists args leave open; -1 if one closes that was
// never opened.
func depth(args []arg) int {
	d := 0
	for _, a := range args {
		switch a.kind {
		case open:
			d++
		case closed:
			d--
			if d < 0 {
				return -1
			}
		}
	}
	return d
}

// isAtomChar: ATOM-CHAR of RFC 3501 §9, any CHAR except atom-specials.
func isAtomChar(c byte) bool {
	if c <= ' ' || c >= 0x7f {
		return false
	}
	return !strings.ContainsRune(`(){%*"\]`, rune(c))
}

func isAtom(s string) bool {
	if s == "" {
		return false
	}
	for i := 0; i < len(s); i++ {
		if !isAtomChar(s[i]) {
			return false
		}
	}
	return true
}

// validTag: 1*<any ASTRING-CHAR except "+">, at most 128 bytes (the
// handoff carries it).
func validTag(s string) bool {
	if s == "" || len(s) > 128 {
		return false
	}
	for i := 0; i < len(s); i++ {
		if s[i] == '+' || !isAtomChar(s[i]) && s[i] != ']' {
			return false
		}
	}
	return true
}

// astring is an argument that may be a user name or password: an atom
// or a string.
func (a arg) astring() (string, bool) {
	return a.s, a.kind == atom || a.kind == str
}

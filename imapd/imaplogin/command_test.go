package imaplogin

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
)

// bytesSource reads commands from a string, as from a client; Continue
// records the "+" the server would send.
type bytesSource struct {
	r     *bufio.Reader
	conts int
}

func newSource(s string) *bytesSource { return &bytesSource{r: bufio.NewReader(strings.NewReader(s))} }

func (b *bytesSource) ReadLine() (string, error) {
	line, err := b.r.ReadString('\n')
	if err != nil {
		return "", io.EOF
	}
	return strings.TrimSuffix(strings.TrimSuffix(line, "\n"), "\r"), nil
}

func (b *bytesSource) ReadFull(n int) ([]byte, error) {
	buf := make([]byte, n)
	_, err := io.ReadFull(b.r, buf)
	return buf, err
}

func (b *bytesSource) Continue() error { b.conts++; return nil }

// show renders a command for comparison: TAG NAME then each argument as
// atom, "string", ( or ).
func show(c *command) string {
	out := []string{c.tag, c.name}
	for _, a := range c.args {
		switch a.kind {
		case atom:
			out = append(out, a.s)
		case str:
			out = append(out, `"`+a.s+`"`)
		case open:
			out = append(out, "(")
		case closed:
			out = append(out, ")")
		}
	}
	return strings.Join(out, " ")
}

func TestReadCommand(t *testing.T) {
	for _, tc := range []struct {
		in, want string
		conts    int
	}{
		{"a1 capability\r\n", "a1 CAPABILITY", 0},
		{"a2 LOGIN demo secret\r\n", "a2 LOGIN demo secret", 0},
		{"a3 LOGIN \"de mo\" \"pa\\\"ss\\\\\"\r\n", `a3 LOGIN "de mo" "pa"ss\"`, 0},
		{"a4 LOGIN {4}\r\ndemo {6}\r\nsecret\r\n", `a4 LOGIN "demo" "secret"`, 2},
		{"a5 LOGIN {4+}\r\ndemo {6+}\r\nsecret\r\n", `a5 LOGIN "demo" "secret"`, 0},
		{"a6 ID (\"name\" \"mutt\" \"version\" NIL)\r\n", `a6 ID ( "name" "mutt" "version" NIL )`, 0},
		{"a7 ID NIL\n", "a7 ID NIL", 0},
		{"a8 AUTHENTICATE PLAIN AGRlbW8AZGVtbw==\r\n", "a8 AUTHENTICATE PLAIN AGRlbW8AZGVtbw==", 0},
		{"a9 ID ({4+}\r\nname \"x\")\r\n", `a9 ID ( "name" "x" )`, 0},
		{"]x NOOP\r\n", "]x NOOP", 0},
	} {
		src := newSource(tc.in)
		cmd, err := readCommand(src)
		if err != nil {
			t.Errorf("%q: %v", tc.in, err)
			continue
		}
		if got := show(cmd); got != tc.want || src.conts != tc.conts {
			t.Errorf("%q: got %q (%d continuations), want %q (%d)", tc.in, got, src.conts, tc.want, tc.conts)
		}
	}
}

func TestReadCommandErrors(t *testing.T) {
	for _, tc := range []struct{ in, tag, msg string }{
		{"+a NOOP\r\n", "", "Invalid tag"},
		{"a1\r\n", "a1", "Missing command"},
		{"a1 \r\n", "a1", "Missing command"},
		{"a1 LO\"GIN\r\n", "a1", "Invalid command name"},
		{"a1 LOGIN  demo\r\n", "a1", `Invalid character ' '`},
		{"a1 LOGIN demo \r\n", "a1", "Trailing space"},
		{"a1 LOGIN \"demo\r\n", "a1", "Unterminated quoted string"},
		{"a1 LOGIN \"de\\mo\"\r\n", "a1", "Invalid escape in quoted string"},
		{"a1 LOGIN \"de\"mo\r\n", "a1", "Missing space"},
		{"a1 LOGIN {x}\r\n", "a1", "Invalid literal size"},
		{"a1 LOGIN {4} x\r\n", "a1", "Invalid literal"},
		{"a1 LOGIN {99999}\r\n", "a1", "Literal too big"},
		{"a1 ID (\"a\"\r\n", "a1", "Unbalanced parentheses"},
		{"a1 ID )\r\n", "a1", "Unbalanced parentheses"},
		{"a1 LOGIN {1}\r\nxy\r\n", "a1", "Missing space after literal"},
		{"a1 NOOP" + strings.Repeat(" x", maxArgs+1) + "\r\n", "a1", "Too many arguments"},
	} {
		_, err := readCommand(newSource(tc.in))
		var se *syntaxError
		if !errors.As(err, &se) || se.tag != tc.tag || se.msg != tc.msg {
			t.Errorf("%q: err %v, want tag %q and %q", tc.in, err, tc.tag, tc.msg)
		}
	}
	// A non-synchronizing literal too big to take ends the connection:
	// its bytes are on the way and must not be read as commands.
	if _, err := readCommand(newSource("a1 LOGIN {99999+}\r\n")); err != errLiteralTooBig {
		t.Errorf("big LITERAL+: %v", err)
	}
	if _, err := readCommand(newSource("\r\n")); err != errEmpty {
		t.Errorf("empty line: %v", err)
	}
}

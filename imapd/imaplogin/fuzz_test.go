package imaplogin

import (
	"errors"
	"strings"
	"testing"
)

// FuzzCommand reads arbitrary bytes as commands from a client, until
// the bytes run out. The reader never asks for a literal over
// maxLiteral, never returns more than maxArgs arguments or unbalanced
// parentheses, gives a tag that is valid (and so safe to echo and to
// hand over), and never panics.
func FuzzCommand(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		src := newSource(string(data))
		for range 100 {
			cmd, err := readCommand(src)
			var se *syntaxError
			switch {
			case errors.As(err, &se):
				if se.tag != "" && !validTag(se.tag) {
					t.Fatalf("syntax error with invalid tag %q", se.tag)
				}
				continue
			case err == errEmpty:
				continue
			case err != nil:
				return
			}
			if !validTag(cmd.tag) || strings.ContainsAny(cmd.tag, " \r\n") {
				t.Fatalf("invalid tag %q", cmd.tag)
			}
			if cmd.name == "" || cmd.name != strings.ToUpper(cmd.name) {
				t.Fatalf("command name %q", cmd.name)
			}
			if len(cmd.args) > maxArgs || depth(cmd.args) != 0 {
				t.Fatalf("%d arguments, depth %d", len(cmd.args), depth(cmd.args))
			}
			for _, a := range cmd.args {
				if len(a.s) > maxLiteral+len(data) {
					t.Fatalf("argument of %d bytes", len(a.s))
				}
				if a.kind == atom && !isAtomLike(a.s) {
					t.Fatalf("atom %q", a.s)
				}
			}
		}
	})
}

// isAtomLike: an atom, or an astring's ATOM-CHARs with "]".
func isAtomLike(s string) bool {
	return s != "" && isAtom(strings.ReplaceAll(s, "]", "a"))
}

package pop3login

import (
	"strings"
	"testing"
)

// FuzzCommand parses arbitrary lines as POP3 commands: a command that
// parses has an upper-case keyword of three or four letters, and its
// keyword and argument give back the line.
func FuzzCommand(f *testing.F) {
	f.Fuzz(func(t *testing.T, line string) {
		cmd, ok := parseCommand(line)
		if !ok {
			return
		}
		if len(cmd.name) < 3 || len(cmd.name) > 4 || strings.ToUpper(cmd.name) != cmd.name || strings.Trim(cmd.name, "ABCDEFGHIJKLMNOPQRSTUVWXYZ") != "" {
			t.Fatalf("keyword %q", cmd.name)
		}
		back := cmd.name
		if len(line) > len(cmd.name) {
			back += " " + cmd.arg
		}
		if !strings.EqualFold(back, line) {
			t.Fatalf("%q parsed as %+v", line, cmd)
		}
		if f := fields(cmd.arg); cmd.arg != "" && strings.Join(f, " ") != cmd.arg {
			t.Fatalf("fields %q of %q", f, cmd.arg)
		}
	})
}

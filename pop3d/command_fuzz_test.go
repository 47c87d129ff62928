package pop3d

import (
	"strings"
	"testing"
)

// FuzzParseCommand checks that ParseCommand never panics, that what it
// accepts obeys RFC 2449's limits, and that a command rebuilt from its
// parts parses the same.
func FuzzParseCommand(f *testing.F) {
	f.Fuzz(func(t *testing.T, line string) {
		cmd, err := ParseCommand(line)
		if err != nil {
			return
		}
		if len(cmd.Name) < 3 || len(cmd.Name) > maxKeyLen || strings.ToUpper(cmd.Name) != cmd.Name || len(cmd.Args) > maxArgs {
			t.Fatalf("%q parsed as %+v", line, cmd)
		}
		for _, a := range cmd.Args {
			if a == "" || len(a) > maxArg || strings.ContainsAny(a, " \t\r\n") {
				t.Fatalf("%q: bad argument %q", line, a)
			}
		}
		again, err := ParseCommand(strings.Join(append([]string{cmd.Name}, cmd.Args...), " "))
		if err != nil || again.Name != cmd.Name || strings.Join(again.Args, " ") != strings.Join(cmd.Args, " ") {
			t.Fatalf("%q: round trip gave %+v, %v", line, again, err)
		}
	})
}

func TestParseCommand(t *testing.T) {
	for _, tt := range []struct {
		in   string
		want string // Name and Args joined by "|", or "" for an error
	}{
		{"STAT", "STAT"},
		{"top 1 10", "TOP|1|10"},
		{"LIST  2", "LIST|2"},
		{"", ""},
		{"ST", ""},
		{"STATS", ""},
		{"RETR 1\x00", ""},
		{"RETR \xff", ""},
		{"LIST 1 2 3", ""},
		{"RETR " + strings.Repeat("1", 41), ""},
		{"R3TR 1", ""},
	} {
		cmd, err := ParseCommand(tt.in)
		got := ""
		if err == nil {
			got = strings.Join(append([]string{cmd.Name}, cmd.Args...), "|")
		}
		if got != tt.want {
			t.Errorf("ParseCommand(%q) = %q (%v), want %q", tt.in, got, err, tt.want)
		}
	}
}

package pop3login

import "strings"

// maxName bounds a keyword (RFC 1939 §3: three or four characters).
// Arguments are bounded by the line (login.MaxLine), not by RFC 2449
// §4's 40 octets: a SASL initial response or a password may be longer.
const maxName = 4

// command is one POP3 command line: a keyword of 3 or 4 letters (RFC
// 1939 §3), case-insensitive, and what follows the first space. PASS
// takes the rest of the line as the password, spaces and all, as most
// servers do; the other commands split it at spaces.
type command struct {
	name string // upper case
	arg  string
}

// parseCommand splits a line. ok is false for a line that is not a
// command at all (an empty keyword, or one with other than letters).
func parseCommand(line string) (command, bool) {
	name, arg, _ := strings.Cut(line, " ")
	if len(name) < 3 || len(name) > maxName {
		return command{}, false
	}
	for i := 0; i < len(name); i++ {
		c := name[i] | 0x20
		if c < 'a' || c > 'z' {
			return command{}, false
		}
	}
	return command{name: strings.ToUpper(name), arg: arg}, true
}

// fields splits an argument at spaces, as RFC 1939 §3 separates them.
func fields(arg string) []string {
	if arg == "" {
		return nil
	}
	return strings.Split(arg, " ")
}

package smtpd

import (
	"bytes"
	"strings"

	"postern.dev/postern/libmail/address"
)

// command is one parsed command line.
type command struct {
	verb string // upper case
	arg  string // the rest, trimmed
}

// parseCommand splits a command line (CRLF removed). RFC 5321 §4.1.1
// verbs are case-insensitive and separated from their argument by one
// space; Postfix tolerates more whitespace, and so does this.
func parseCommand(line []byte) command {
	line = bytes.TrimRight(line, " \t")
	verb, arg, _ := bytes.Cut(line, []byte{' '})
	return command{verb: strings.ToUpper(string(verb)), arg: strings.TrimSpace(string(arg))}
}

// path is a parsed MAIL FROM or RCPT TO argument.
type path struct {
	addr   string            // unquoted form: local@domain, "" for <>
	params map[string]string // ESMTP parameters, keys upper case
}

// parsePath parses "FROM:<addr> PARAM=value ..." after the verb, the
// prefix given as "FROM:" or "TO:". It accepts the RFC 5321 §4.1.2
// forms: a quoted local part, an address literal, a source route (which
// §4.1.1.3 says to ignore), and, like Postfix, a missing pair of angle
// brackets and spaces after the colon.
func parsePath(arg, prefix string) (path, bool) {
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return path{}, false
	}
	s := strings.TrimLeft(arg[len(prefix):], " ")
	var p path
	var rest string
	if strings.HasPrefix(s, "<") {
		end, ok := closingBracket(s)
		if !ok {
			return path{}, false
		}
		p.addr, rest = s[1:end], s[end+1:]
		if strings.HasPrefix(p.addr, "@") { // a source route: @a,@b:user@c
			i := strings.IndexByte(p.addr, ':')
			if i < 0 {
				return path{}, false
			}
			p.addr = p.addr[i+1:]
		}
	} else {
		p.addr, rest, _ = strings.Cut(s, " ")
	}
	addr, ok := unquoteLocal(p.addr)
	if !ok {
		return path{}, false
	}
	p.addr = addr
	if rest != "" && rest[0] != ' ' {
		return path{}, false
	}
	for _, f := range strings.Fields(rest) {
		k, v, _ := strings.Cut(f, "=")
		if k == "" {
			return path{}, false
		}
		if p.params == nil {
			p.params = map[string]string{}
		}
		p.params[strings.ToUpper(k)] = v
	}
	return p, true
}

// closingBracket finds the > that ends a path, skipping quoted strings.
func closingBracket(s string) (int, bool) {
	quoted := false
	for i := 1; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\' && quoted:
			i++
		case c == '"':
			quoted = !quoted
		case c == '>' && !quoted:
			return i, true
		}
	}
	return 0, false
}

// unquoteLocal turns `"john doe"@example.org` into `john doe@example.org`,
// the form postern keeps addresses in (address.Quote turns it back).
func unquoteLocal(addr string) (string, bool) {
	if !strings.HasPrefix(addr, `"`) {
		if strings.ContainsAny(addr, `"\`) {
			return "", false
		}
		return addr, true
	}
	var b strings.Builder
	for i := 1; i < len(addr); i++ {
		c := addr[i]
		switch c {
		case '\\':
			if i+1 >= len(addr) {
				return "", false
			}
			i++
			b.WriteByte(addr[i])
		case '"':
			rest := addr[i+1:]
			if rest != "" && rest[0] != '@' {
				return "", false
			}
			b.WriteString(rest)
			return b.String(), true
		default:
			b.WriteByte(c)
		}
	}
	return "", false
}

// printable makes client-supplied text safe to echo in a reply or a log
// line: control characters become '?', so a NUL or CR in an address
// cannot break the protocol or the log.
func printable(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == 0x7f }) {
		return s
	}
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f {
			return '?'
		}
		return r
	}, s)
}

// quoted is an address as echoed in replies: printable and in wire form.
func quoted(addr string) string { return printable(address.Quote(addr)) }

package alias

import (
	"fmt"
	"strings"
)

// Kind says what a Target delivers to.
type Kind int

// The zero Kind is deliberately invalid, so that a Target that was never
// filled in cannot pass for an address.
const (
	// Address is a mailbox, local ("user") or remote ("user@domain").
	Address Kind = iota + 1
	// Include names a file holding more values, written ":include:/path".
	Include
	// Command is a program that reads the message on its standard input,
	// written "|command args".
	Command
	// File is a file the message is appended to, written "/path".
	File
)

func (k Kind) String() string {
	switch k {
	case Address:
		return "address"
	case Include:
		return "include"
	case Command:
		return "command"
	case File:
		return "file"
	}
	return fmt.Sprintf("Kind(%d)", int(k))
}

// Target is one value of an alias or list.
//
// Value holds, by Kind: for Address, the address in the canonical form the
// package documentation describes (which is also valid aliases(5) syntax);
// for Include and File, the absolute path; for Command, the command line
// without its leading '|'.
type Target struct {
	Kind  Kind
	Value string
}

// String writes t back in aliases(5) syntax. Parsing the result gives t
// again, which is what lets tools rewrite an aliases file safely.
func (t Target) String() string {
	switch t.Kind {
	case Address:
		return t.Value
	case Command:
		// A command always goes inside quotes: commands commonly contain
		// spaces and may contain commas, and aliases(5) recommends quotes
		// for them.
		return quote("|" + t.Value)
	case File:
		if barePath(t.Value) {
			return t.Value
		}
		return quote(t.Value)
	case Include:
		if barePath(t.Value) {
			return includePrefix + t.Value
		}
		return quote(includePrefix + t.Value)
	}
	return fmt.Sprintf("<invalid %v %q>", t.Kind, t.Value)
}

// includePrefix introduces an include value; sendmail and Postfix match it
// without regard to case.
const includePrefix = ":include:"

// barePath reports whether path can be written without quotes: it must start
// with '/' so that it reads as a path, and hold nothing that would end the
// value or need quoting.
func barePath(path string) bool {
	if !strings.HasPrefix(path, "/") {
		return false
	}
	for i := 0; i < len(path); i++ {
		switch c := path[i]; {
		case c == ' ', c == '\t', c == '"', c == '\\', c == ',', c < 0x20, c == 0x7f:
			return false
		}
	}
	return true
}

// quote writes s as an RFC 5322 quoted-string, escaping the two characters
// that cannot appear bare inside one.
func quote(s string) string {
	var b strings.Builder
	b.Grow(len(s) + 2)
	b.WriteByte('"')
	for i := 0; i < len(s); i++ {
		if s[i] == '"' || s[i] == '\\' {
			b.WriteByte('\\')
		}
		b.WriteByte(s[i])
	}
	b.WriteByte('"')
	return b.String()
}

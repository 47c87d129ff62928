package alias

import (
	"errors"
	"fmt"
	"strings"
)

// item is one comma-separated value and its byte offset in the text it was
// split from, which is how errors find their line.
type item struct {
	text string
	off  int
}

// splitValues splits s at commas that are outside quoted strings, trims
// blanks around each item and drops empty items, so that the trailing comma
// administrators often leave before a continuation line is harmless. An
// unterminated quoted string stops the split; its opening offset is
// returned with errUnterminated, because everything after it is one broken
// value.
func splitValues(s string) ([]item, int, error) {
	items := make([]item, 0, 1+strings.Count(s, ","))
	add := func(start, end int) {
		for start < end && (s[start] == ' ' || s[start] == '\t') {
			start++
		}
		for end > start && (s[end-1] == ' ' || s[end-1] == '\t') {
			end--
		}
		if start < end {
			items = append(items, item{text: s[start:end], off: start})
		}
	}
	start, open := 0, -1
	for i := 0; i < len(s); i++ {
		switch s[i] {
		case '\\':
			// RFC 5322 quoted-pair; outside quotes it is the obsolete form
			// that lets "\," keep a comma inside an unquoted value.
			i++
		case '"':
			if open < 0 {
				open = i
			} else {
				open = -1
			}
		case ',':
			if open < 0 {
				add(start, i)
				start = i + 1
			}
		}
	}
	if open >= 0 {
		return items, open, errUnterminated
	}
	add(start, len(s))
	return items, 0, nil
}

// parseValue classifies one trimmed, non-empty item. The first character
// decides the kind, as in aliases(5); a value that is entirely one
// quoted-string is classified by its content, which is how a command or a
// path containing spaces is written.
func parseValue(s string) (Target, error) {
	switch {
	case s[0] == '|':
		cmd := strings.TrimLeft(s[1:], " \t")
		if cmd == "" {
			return Target{}, errors.New("empty command")
		}
		return Target{Kind: Command, Value: cmd}, nil
	case s[0] == '/':
		if err := checkBarePath(s); err != nil {
			return Target{}, err
		}
		return Target{Kind: File, Value: s}, nil
	case hasPrefixFold(s, includePrefix):
		path := strings.TrimLeft(s[len(includePrefix):], " \t")
		if err := checkBarePath(path); err != nil {
			return Target{}, err
		}
		return Target{Kind: Include, Value: path}, nil
	case s[0] == '"':
		content, n, err := unquote(s)
		if err != nil {
			return Target{}, err
		}
		if n == len(s) {
			return parseQuoted(content)
		}
	}
	a, err := parseAddress(s)
	if err != nil {
		return Target{}, err
	}
	if !a.hasDomain && lookalike(a.local) {
		// Written with backslashes, as in "\/x", this would be a local
		// address, but no spelling of it survives being written back: both
		// the bare and the quoted form read as a file, command or include.
		return Target{}, errors.New("local address looks like a file, command or include; add a domain")
	}
	return Target{Kind: Address, Value: a.String()}, nil
}

// lookalike reports whether a domain-less local part would read as a
// command, file or include if written out.
func lookalike(local string) bool {
	return strings.HasPrefix(local, "|") || strings.HasPrefix(local, "/") || hasPrefixFold(local, includePrefix)
}

// parseQuoted classifies the content of a value written wholly in quotes.
// The content is kept as written, blanks included, because the quotes say
// exactly where it starts and ends.
func parseQuoted(s string) (Target, error) {
	switch {
	case strings.HasPrefix(s, "|"):
		if strings.TrimSpace(s[1:]) == "" {
			return Target{}, errors.New("empty command")
		}
		return Target{Kind: Command, Value: s[1:]}, nil
	case strings.HasPrefix(s, "/"):
		return Target{Kind: File, Value: s}, nil
	case hasPrefixFold(s, includePrefix):
		path := strings.TrimLeft(s[len(includePrefix):], " \t")
		if !strings.HasPrefix(path, "/") {
			return Target{}, errors.New("include path is not absolute")
		}
		return Target{Kind: Include, Value: path}, nil
	case s == "":
		return Target{}, errEmptyLocal
	}
	return Target{Kind: Address, Value: address{local: s}.String()}, nil
}

// checkBarePath accepts an unquoted path. Paths must be absolute, because a
// relative path would depend on the delivery agent's working directory.
func checkBarePath(p string) error {
	if !strings.HasPrefix(p, "/") {
		return errors.New("path is not absolute")
	}
	if !barePath(p) {
		return fmt.Errorf("path %q must be written in double quotes", p)
	}
	return nil
}

func hasPrefixFold(s, prefix string) bool {
	return len(s) >= len(prefix) && strings.EqualFold(s[:len(prefix)], prefix)
}

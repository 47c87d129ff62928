package alias

import (
	"errors"
	"fmt"
	"io"
	"os"
	"slices"
	"strings"

	"postern.dev/postern/libmail/textfile"
)

// Table is a parsed aliases file. It is never modified after Parse returns
// it, so any number of goroutines may read it at once.
type Table struct {
	m map[string]entry
}

// entry is one name's targets and the line that defined it, which the
// parser needs to name the first definition when it finds a duplicate.
type entry struct {
	targets []Target
	line    int
}

// Load reads and parses the aliases file at path. See Parse for what the
// results mean.
func Load(path string) (*Table, []error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, []error{fmt.Errorf("open aliases: %w", err)}
	}
	defer f.Close()
	return Parse(f, path)
}

// Parse reads an aliases(5) file; name is the file name used in messages.
// Every problem is reported, each as a *ParseError, and the table holds
// every entry that had none. A read error is reported last and returns a
// nil table, because a table missing an unknown part of its file must not
// be mistaken for the whole.
func Parse(r io.Reader, name string) (*Table, []error) {
	p := tableParser{file: name, m: make(map[string]entry)}
	lr := textfile.NewLineReader(r, maxLine)
	for {
		line, err := lr.Next()
		if err == io.EOF {
			break
		}
		if err != nil {
			p.errs = append(p.errs, fmt.Errorf("read %s: %w", name, err))
			return nil, p.errs
		}
		p.line(lr.N, line, lr.Long)
	}
	p.flush()
	return &Table{m: p.m}, p.errs
}

// Lookup returns the targets of name. Names are compared without regard to
// case, and name may be in canonical form or have its local part unquoted
// (see the package documentation). The slice is the caller's to keep and
// modify.
func (t *Table) Lookup(name string) ([]Target, bool) {
	if t == nil {
		return nil, false
	}
	e, ok := t.m[lookupKey(name)]
	return slices.Clone(e.targets), ok
}

// Len returns the number of names in the table.
func (t *Table) Len() int {
	if t == nil {
		return 0
	}
	return len(t.m)
}

// tableParser gathers physical lines into entries and entries into a table.
type tableParser struct {
	file string
	m    map[string]entry
	errs []error

	// The entry being gathered: its text with continuation lines joined by
	// a space, and where each physical line starts in it.
	text    []byte
	starts  []int
	lines   []int
	broken  bool // an error was already reported; drop the entry
	pending bool // text holds an entry
}

func (p *tableParser) errorf(line int, format string, args ...any) {
	p.errs = append(p.errs, &ParseError{File: p.file, Line: line, Err: fmt.Errorf(format, args...)})
}

func (p *tableParser) line(n int, line []byte, long bool) {
	if textfile.IsComment(line) && (!long || line[0] == '#') {
		// A cut line keeps only its first byte, which is enough to see a
		// comment that starts in the first column but not to tell an
		// indented comment from an over-long continuation.
		return
	}
	cont := line[0] == ' ' || line[0] == '\t'
	if !cont {
		p.flush()
	}
	if !p.pending {
		p.pending = true
		if cont {
			p.errorf(n, "continuation line without an entry to continue")
			p.broken = true
		}
	}
	if long {
		p.errorf(n, "line longer than %d bytes", maxLine)
		p.broken = true
		return
	}
	if err := checkLine(line); err != nil {
		p.errorf(n, "%v", err)
		p.broken = true
		return
	}
	if p.broken {
		return
	}
	if len(p.text) > 0 {
		p.text = append(p.text, ' ')
	}
	p.starts = append(p.starts, len(p.text))
	p.lines = append(p.lines, n)
	p.text = append(p.text, line...)
}

// lineAt maps an offset in the entry's text back to its physical line.
func (p *tableParser) lineAt(off int) int {
	i := len(p.starts) - 1
	for i > 0 && p.starts[i] > off {
		i--
	}
	return p.lines[i]
}

func (p *tableParser) flush() {
	if p.pending && !p.broken {
		p.parseEntry(string(p.text))
	}
	p.text, p.starts, p.lines = p.text[:0], p.starts[:0], p.lines[:0]
	p.broken, p.pending = false, false
}

// parseEntry parses one whole entry and adds it to the table if it is sound.
func (p *tableParser) parseEntry(text string) {
	first := p.lines[0]
	colon, err := nameEnd(text)
	if err != nil {
		p.errorf(p.lineAt(colon), "%v", err)
		return
	}
	if colon < 0 {
		p.errorf(first, "missing colon after name")
		return
	}
	raw := strings.Trim(text[:colon], " \t")
	if raw == "" {
		p.errorf(first, "empty name")
		return
	}
	a, err := parseAddress(raw)
	if err != nil {
		p.errorf(first, "invalid name %q: %w", raw, err)
		return
	}
	key := strings.ToLower(a.String())

	base := colon + 1
	items, open, err := splitValues(text[base:])
	bad := false
	if err != nil {
		p.errorf(p.lineAt(base+open), "%v", err)
		bad = true
	}
	targets := make([]Target, 0, len(items))
	for _, it := range items {
		t, err := parseValue(it.text)
		if err != nil {
			p.errorf(p.lineAt(base+it.off), "invalid value %q: %w", it.text, err)
			bad = true
			continue
		}
		targets = append(targets, t)
	}
	if bad {
		return
	}
	if len(targets) == 0 {
		p.errorf(first, "no values for %q", raw)
		return
	}
	if e, dup := p.m[key]; dup {
		p.errorf(first, "%w %q ignored, first defined on line %d", ErrDuplicate, raw, e.line)
		return
	}
	p.m[key] = entry{targets: targets, line: first}
}

// nameEnd finds the colon that ends the name: the first one outside quotes,
// backslash escapes and address literals, since a quoted name may contain a
// colon (aliases(5)) and so may an IPv6 literal (RFC 5321 section 4.1.3). It
// returns -1 if there is none, or the offset of an unterminated quote with
// an error.
func nameEnd(s string) (int, error) {
	open := -1
	literal := false
	for i := 0; i < len(s); i++ {
		switch c := s[i]; {
		case c == '\\':
			i++
		case open >= 0:
			if c == '"' {
				open = -1
			}
		case c == '"':
			open = i
		case literal:
			literal = c != ']'
		case c == '[':
			literal = true
		case c == ':':
			return i, nil
		}
	}
	if open >= 0 {
		return open, errors.New("unterminated quoted string in name")
	}
	return -1, nil
}

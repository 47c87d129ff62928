package imap

import (
	"strconv"
	"strings"
)

// fetchMacros are RFC 9051 §6.4.5's shorthands (ALL, FAST, FULL).
var fetchMacros = map[string][]string{
	"ALL":  {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE"},
	"FAST": {"FLAGS", "INTERNALDATE", "RFC822.SIZE"},
	"FULL": {"FLAGS", "INTERNALDATE", "RFC822.SIZE", "ENVELOPE", "BODY"},
}

func (p *parser) parseFetch(cmd *Command) error {
	f := &Fetch{}
	cmd.Args = f
	var err error
	if f.Set, err = spThen(p, p.seqSet); err != nil {
		return err
	}
	if err := p.sp(); err != nil {
		return err
	}
	if p.peek() == '(' {
		err = p.list(false, func() error {
			it, err := p.fetchItem()
			f.Items = append(f.Items, it)
			return err
		})
	} else {
		start := p.pos
		name, _ := p.keyword()
		if m, ok := fetchMacros[name]; ok && p.peek() != '[' {
			f.Macro = name
			for _, n := range m {
				f.Items = append(f.Items, FetchItem{Name: n})
			}
		} else {
			p.pos = start
			var it FetchItem
			it, err = p.fetchItem()
			f.Items = []FetchItem{it}
		}
	}
	if err != nil || !p.maybe(' ') {
		return err
	}
	return p.list(false, func() error {
		m, err := p.keyword()
		if err != nil {
			return err
		}
		switch m {
		case "CHANGEDSINCE":
			f.ChangedSince, err = spThen(p, p.number64)
			if err == nil && f.ChangedSince == 0 {
				err = p.errorf("CHANGEDSINCE needs a non-zero mod-sequence")
			}
			return err
		case "VANISHED":
			if !cmd.UID {
				return p.errorf("VANISHED is only for UID FETCH")
			}
			f.Vanished = true
			return nil
		}
		return p.errorf("unknown FETCH modifier %s", m)
	})
}

// fetchItem reads one fetch-att (RFC 9051 §9, RFC 3516, RFC 7162).
func (p *parser) fetchItem() (FetchItem, error) {
	name := strings.ToUpper(p.run(func(c byte) bool { return isAtomChar(c) && c != '[' && c != '<' }))
	it := FetchItem{Name: name}
	switch name {
	case "ENVELOPE", "FLAGS", "INTERNALDATE", "RFC822", "RFC822.HEADER", "RFC822.SIZE",
		"RFC822.TEXT", "BODYSTRUCTURE", "UID", "MODSEQ":
		return it, nil
	case "BODY", "BODY.PEEK":
		if p.peek() != '[' {
			if name == "BODY.PEEK" {
				return it, p.errorf("BODY.PEEK needs a section")
			}
			return it, nil
		}
		it.Name, it.Peek = "BODY", name == "BODY.PEEK"
		var err error
		if it.Section, err = p.section(false); err != nil {
			return it, err
		}
		it.Partial, err = p.partial()
		return it, err
	case "BINARY", "BINARY.PEEK", "BINARY.SIZE":
		it.Name, it.Peek = strings.TrimSuffix(name, ".PEEK"), name == "BINARY.PEEK"
		var err error
		if it.Section, err = p.section(true); err != nil {
			return it, err
		}
		if name != "BINARY.SIZE" {
			it.Partial, err = p.partial()
		}
		return it, err
	}
	if name == "" {
		return it, p.errorf("expected a fetch item at %q", p.rest())
	}
	return it, p.errorf("unknown fetch item %s", name)
}

// section reads "[" section-spec "]", or section-binary when binary.
func (p *parser) section(binary bool) (*Section, error) {
	if err := p.expect('['); err != nil {
		return nil, err
	}
	s := &Section{}
	dot := false
	for p.peek() >= '0' && p.peek() <= '9' {
		n, err := p.nzNumber()
		if err != nil {
			return nil, err
		}
		s.Part = append(s.Part, int(n))
		if dot = p.maybe('.'); !dot {
			break
		}
	}
	if dot && p.peek() == ']' {
		return nil, p.errorf("section ends with a dot")
	}
	if p.peek() != ']' {
		if binary {
			return nil, p.errorf("BINARY takes only a part number")
		}
		spec := strings.ToUpper(p.run(func(c byte) bool { return isAtomChar(c) }))
		switch spec {
		case "HEADER", "TEXT":
		case "MIME":
			if len(s.Part) == 0 {
				return nil, p.errorf("MIME needs a part number")
			}
		case "HEADER.FIELDS", "HEADER.FIELDS.NOT":
			err := spThenErr(p, func() error {
				return p.list(false, func() error {
					f, err := p.astring()
					s.Fields = append(s.Fields, f)
					return err
				})
			})
			if err != nil {
				return nil, err
			}
		default:
			return nil, p.errorf("bad section %q", spec)
		}
		s.Specifier = spec
	}
	return s, p.expect(']')
}

// partial reads an optional "<" number "." nz-number ">".
func (p *parser) partial() (*Partial, error) {
	if !p.maybe('<') {
		return nil, nil
	}
	off, err := p.number64()
	if err != nil {
		return nil, err
	}
	if err := p.expect('.'); err != nil {
		return nil, err
	}
	n, err := p.number64()
	if err == nil && n == 0 {
		err = p.errorf("partial length must not be zero")
	}
	if err != nil {
		return nil, err
	}
	return &Partial{Offset: off, Count: n}, p.expect('>')
}

func (p *parser) parseStore(cmd *Command) error {
	s := &Store{}
	cmd.Args = s
	var err error
	if s.Set, err = spThen(p, p.seqSet); err != nil {
		return err
	}
	if err := p.sp(); err != nil {
		return err
	}
	if p.peek() == '(' {
		err := p.list(false, func() error {
			m, err := p.keyword()
			if err != nil || m != "UNCHANGEDSINCE" {
				return p.errorf("unknown STORE modifier %s", m)
			}
			s.HasUnchangedSince = true
			s.UnchangedSince, err = spThen(p, p.number64)
			return err
		})
		if err == nil {
			err = p.sp()
		}
		if err != nil {
			return err
		}
	}
	op, err := p.keyword()
	if err != nil {
		return err
	}
	switch {
	case strings.HasPrefix(op, "+"):
		s.Op, op = StoreAdd, op[1:]
	case strings.HasPrefix(op, "-"):
		s.Op, op = StoreRemove, op[1:]
	}
	switch op {
	case "FLAGS":
	case "FLAGS.SILENT":
		s.Silent = true
	default:
		return p.errorf("expected FLAGS, +FLAGS or -FLAGS, not %s", op)
	}
	if err := p.sp(); err != nil {
		return err
	}
	if p.peek() == '(' {
		s.Flags, err = p.flagList()
		return err
	}
	// RFC 3501 also allows the flags without parentheses.
	for {
		f, err := p.flag()
		if err != nil {
			return err
		}
		s.Flags = append(s.Flags, f)
		if !p.maybe(' ') {
			return nil
		}
	}
}

// String is the section's wire form, as FETCH responses repeat it.
func (s *Section) String() string {
	var sb strings.Builder
	for i, n := range s.Part {
		if i > 0 {
			sb.WriteByte('.')
		}
		sb.WriteString(strconv.Itoa(n))
	}
	if s.Specifier != "" {
		if len(s.Part) > 0 {
			sb.WriteByte('.')
		}
		sb.WriteString(s.Specifier)
	}
	if s.Fields != nil {
		sb.WriteString(" (")
		for i, f := range s.Fields {
			if i > 0 {
				sb.WriteByte(' ')
			}
			sb.WriteString(quoteAString(f))
		}
		sb.WriteByte(')')
	}
	return sb.String()
}

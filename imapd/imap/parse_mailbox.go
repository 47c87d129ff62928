package imap

import "strings"

// This file parses the commands of the authenticated state and before:
// RFC 9051 §6.1-6.3 with RFC 4959, 5161, 2971, 5258, 5819, 6154, 7162.

func (p *parser) parseLogin(cmd *Command) error {
	l := &Login{}
	cmd.Args = l
	var err error
	if l.User, err = spThen(p, p.astring); err != nil {
		return err
	}
	l.Password, err = spThen(p, p.astring)
	return err
}

func (p *parser) parseAuthenticate(cmd *Command) error {
	a := &Authenticate{}
	cmd.Args = a
	var err error
	if a.Mechanism, err = spThen(p, p.keyword); err != nil {
		return err
	}
	if p.maybe(' ') {
		ir := p.run(func(c byte) bool {
			return c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z' || c >= '0' && c <= '9' || c == '+' || c == '/' || c == '='
		})
		if ir == "" {
			return p.errorf("bad initial response")
		}
		a.InitialResponse = &ir
	}
	return nil
}

func (p *parser) parseSelect(cmd *Command) error {
	s := &Select{}
	cmd.Args = s
	var err error
	if s.Mailbox, err = spThen(p, p.mailbox); err != nil {
		return err
	}
	if !p.maybe(' ') {
		return nil
	}
	return p.list(false, func() error {
		name, err := p.keyword()
		if err != nil {
			return err
		}
		switch name {
		case "CONDSTORE":
			s.CondStore = true
			return nil
		case "QRESYNC":
			if err := p.sp(); err != nil {
				return err
			}
			return p.parseQResync(s)
		}
		return p.errorf("unknown SELECT parameter %s", name)
	})
}

func (p *parser) parseQResync(s *Select) error {
	q := &QResync{}
	s.QResync = q
	return p.list(false, func() error {
		var err error
		if q.UIDValidity, err = p.nzNumber(); err != nil {
			return err
		}
		if q.ModSeq, err = spThen(p, p.number64); err != nil {
			return err
		}
		if !p.maybe(' ') {
			return nil
		}
		if p.peek() != '(' {
			set, err := p.seqSet()
			if err != nil {
				return err
			}
			q.KnownUIDs = &set
			if !p.maybe(' ') {
				return nil
			}
		}
		var sets []SeqSet
		err = p.list(false, func() error {
			set, err := p.seqSet()
			sets = append(sets, set)
			return err
		})
		if err == nil && len(sets) != 2 {
			return p.errorf("QRESYNC seq-match-data needs two sets")
		}
		if err == nil {
			q.KnownSeqs, q.KnownSeqUIDs = &sets[0], &sets[1]
		}
		return err
	})
}

func (p *parser) parseCreate(cmd *Command) error {
	c := &Create{}
	cmd.Args = c
	var err error
	if c.Mailbox, err = spThen(p, p.mailbox); err != nil {
		return err
	}
	if !p.maybe(' ') {
		return nil
	}
	return p.list(false, func() error {
		name, err := p.keyword()
		if err != nil {
			return err
		}
		if name != "USE" {
			return p.errorf("unknown CREATE parameter %s", name)
		}
		if err := p.sp(); err != nil {
			return err
		}
		return p.list(false, func() error {
			f, err := p.flag()
			c.Use = append(c.Use, f)
			return err
		})
	})
}

func (p *parser) parseList(cmd *Command) error {
	l := &List{}
	cmd.Args = l
	if err := p.sp(); err != nil {
		return err
	}
	lsub := cmd.Name == "LSUB"
	if p.peek() == '(' && !lsub {
		l.Extended = true
		err := p.list(true, func() error {
			o, err := p.keyword()
			l.Select = append(l.Select, o)
			return err
		})
		if err == nil {
			err = p.sp()
		}
		if err != nil {
			return err
		}
	}
	var err error
	if l.Reference, err = p.mailbox(); err != nil {
		return err
	}
	if err := p.sp(); err != nil {
		return err
	}
	if p.peek() == '(' && !lsub {
		l.Extended = true
		err = p.list(false, func() error {
			pat, err := p.listMailbox()
			l.Patterns = append(l.Patterns, pat)
			return err
		})
	} else {
		var pat string
		pat, err = p.listMailbox()
		l.Patterns = []string{pat}
	}
	if err != nil || lsub || !p.maybe(' ') {
		return err
	}
	l.Extended = true
	kw, err := p.keyword()
	if err != nil || kw != "RETURN" {
		return p.errorf("expected RETURN")
	}
	l.Return = []string{}
	return spThenErr(p, func() error {
		return p.list(true, func() error {
			o, err := p.keyword()
			if err != nil {
				return err
			}
			if o == "STATUS" {
				l.Status, err = spThen(p, p.statusItems)
				return err
			}
			l.Return = append(l.Return, o)
			return nil
		})
	})
}

func spThenErr(p *parser, f func() error) error {
	if err := p.sp(); err != nil {
		return err
	}
	return f()
}

// statusItems are STATUS's and LIST-STATUS's items (RFC 9051 §6.3.11,
// RFC 7162 HIGHESTMODSEQ, RFC 8438 SIZE, RFC 7889 APPENDLIMIT).
func (p *parser) statusItems() ([]string, error) {
	items := []string{}
	err := p.list(false, func() error {
		it, err := p.keyword()
		if err != nil {
			return err
		}
		switch it {
		case "MESSAGES", "RECENT", "UIDNEXT", "UIDVALIDITY", "UNSEEN", "DELETED", "SIZE", "HIGHESTMODSEQ", "APPENDLIMIT", "MAILBOXID":
		default:
			return p.errorf("unknown status item %s", it)
		}
		items = append(items, it)
		return nil
	})
	return items, err
}

func (p *parser) parseStatus(cmd *Command) error {
	s := &Status{}
	cmd.Args = s
	var err error
	if s.Mailbox, err = spThen(p, p.mailbox); err != nil {
		return err
	}
	s.Items, err = spThen(p, p.statusItems)
	return err
}

func (p *parser) parseAppend(cmd *Command) error {
	a := &Append{}
	cmd.Args = a
	var err error
	if a.Mailbox, err = spThen(p, p.mailbox); err != nil {
		return err
	}
	if err := p.sp(); err != nil {
		return err
	}
	if p.peek() == '(' {
		if a.Flags, err = p.flagList(); err != nil {
			return err
		}
		if err := p.sp(); err != nil {
			return err
		}
	}
	if p.peek() == '"' {
		if a.Date, err = p.dateTime(); err != nil {
			return err
		}
		if err := p.sp(); err != nil {
			return err
		}
	}
	if p.matchKeyword("UTF8") {
		// RFC 6855 §4: UTF8 (~{n} message), a message with UTF-8 headers.
		a.UTF8 = true
		var msg []byte
		err := p.list(false, func() error {
			if p.peek() != '~' {
				return p.errorf("APPEND UTF8 needs a literal8")
			}
			var err error
			msg, err = p.literal()
			return err
		})
		a.Message = msg
		return err
	}
	a.Binary = p.peek() == '~'
	if p.peek() != '{' && !a.Binary {
		return p.errorf("APPEND needs the message as a literal")
	}
	msg, err := p.literal()
	a.Message = msg
	return err
}

func (p *parser) parseEnable(cmd *Command) error {
	e := &Enable{}
	cmd.Args = e
	for len(e.Caps) == 0 || p.maybe(' ') {
		c, err := spThenIf(p, len(e.Caps) == 0, p.keyword)
		if err != nil {
			return err
		}
		e.Caps = append(e.Caps, c)
	}
	return nil
}

// spThenIf reads SP first when first is true.
func spThenIf[T any](p *parser, first bool, f func() (T, error)) (T, error) {
	if first {
		return spThen(p, f)
	}
	return f()
}

func (p *parser) parseID(cmd *Command) error {
	id := &ID{}
	cmd.Args = id
	if err := p.sp(); err != nil {
		return err
	}
	if p.peek() != '(' {
		a, err := p.atom()
		if err != nil || !strings.EqualFold(a, "NIL") {
			return p.errorf("expected a list or NIL")
		}
		return nil
	}
	id.Params = []IDParam{}
	return p.list(false, func() error {
		k, err := p.string()
		if err != nil {
			return err
		}
		v, err := spThen(p, p.nstring)
		id.Params = append(id.Params, IDParam{Key: k, Value: v})
		return err
	})
}

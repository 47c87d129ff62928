package imap

import "errors"

// ParseCommand parses one command as the Reader gathered it: lines
// ending in CRLF with literals inline.
func ParseCommand(buf []byte, lim Limits) (*Command, error) { return parseCommand(buf, lim) }

func parseCommand(buf []byte, lim Limits) (*Command, error) {
	p := &parser{buf: buf, lim: lim}
	tag := p.run(isTagChar)
	if tag == "" {
		return nil, &Error{Status: "BAD", Text: "missing command tag"}
	}
	cmd := &Command{Tag: tag}
	err := p.sp()
	if err != nil {
		err = p.errorf("missing command name")
	}
	if err == nil {
		err = p.command(cmd)
	}
	if err == nil {
		err = p.eol()
	}
	if err != nil {
		var e *Error
		if errors.As(err, &e) {
			e.Tag = tag
			return nil, e
		}
		text := err.Error()
		if cmd.Name != "" {
			text = cmd.Name + ": " + text
		}
		return nil, &Error{Tag: tag, Status: "BAD", Text: text}
	}
	return cmd, nil
}

// command reads the name and dispatches on it.
func (p *parser) command(cmd *Command) error {
	name, err := p.keyword()
	if err != nil {
		return p.errorf("missing command name")
	}
	if name == "UID" {
		if err := p.sp(); err != nil {
			return err
		}
		if name, err = p.keyword(); err != nil {
			return err
		}
		switch name {
		case "FETCH", "SEARCH", "STORE", "COPY", "MOVE", "EXPUNGE", "SORT", "THREAD":
		default:
			return p.errorf("UID %s is not a command", name)
		}
		cmd.UID = true
	}
	cmd.Name = name
	switch name {
	case "CAPABILITY", "NOOP", "LOGOUT", "STARTTLS", "CHECK", "CLOSE", "UNSELECT", "IDLE", "NAMESPACE":
		return nil
	case "EXPUNGE":
		if !cmd.UID {
			return nil
		}
		set, err := spThen(p, p.seqSet)
		cmd.Args = &Expunge{Set: set}
		return err
	case "LOGIN":
		return p.parseLogin(cmd)
	case "AUTHENTICATE":
		return p.parseAuthenticate(cmd)
	case "SELECT", "EXAMINE":
		return p.parseSelect(cmd)
	case "CREATE":
		return p.parseCreate(cmd)
	case "DELETE", "SUBSCRIBE", "UNSUBSCRIBE", "GETQUOTAROOT", "GETQUOTA":
		mb, err := spThen(p, p.mailbox)
		cmd.Args = &MailboxArg{Mailbox: mb}
		return err
	case "SETQUOTA":
		q := &SetQuota{}
		cmd.Args = q
		if q.Root, err = spThen(p, p.astring); err != nil {
			return err
		}
		q.Limits = []QuotaLimit{}
		return spThenErr(p, func() error {
			return p.list(true, func() error {
				r, err := p.keyword()
				if err != nil {
					return err
				}
				n, err := spThen(p, p.number64)
				q.Limits = append(q.Limits, QuotaLimit{r, n})
				return err
			})
		})
	case "RENAME":
		r := &Rename{}
		cmd.Args = r
		if r.From, err = spThen(p, p.mailbox); err != nil {
			return err
		}
		r.To, err = spThen(p, p.mailbox)
		return err
	case "LIST", "LSUB":
		return p.parseList(cmd)
	case "STATUS":
		return p.parseStatus(cmd)
	case "APPEND":
		return p.parseAppend(cmd)
	case "ENABLE":
		return p.parseEnable(cmd)
	case "ID":
		return p.parseID(cmd)
	case "COMPRESS":
		m, err := spThen(p, p.keyword)
		cmd.Args = &Compress{Mechanism: m}
		return err
	case "SEARCH":
		return p.parseSearch(cmd)
	case "SORT":
		return p.parseSort(cmd)
	case "THREAD":
		return p.parseThread(cmd)
	case "FETCH":
		return p.parseFetch(cmd)
	case "STORE":
		return p.parseStore(cmd)
	case "COPY", "MOVE":
		c := &Copy{}
		cmd.Args = c
		if c.Set, err = spThen(p, p.seqSet); err != nil {
			return err
		}
		c.Mailbox, err = spThen(p, p.mailbox)
		return err
	}
	cmd.Name = "" // the text names it; "FROB: unknown command FROB" says it twice
	return p.errorf("unknown command %s", name)
}

// spThen reads SP and then what f reads.
func spThen[T any](p *parser, f func() (T, error)) (T, error) {
	if err := p.sp(); err != nil {
		var zero T
		return zero, err
	}
	return f()
}

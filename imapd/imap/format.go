package imap

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Format prints a command in a canonical wire form: keywords upper
// case, strings as atoms where they can be, else quoted, else as
// non-synchronizing literals, macros kept. Parsing the output gives the
// same command again; the golden tests and the fuzz target rely on it.
func Format(c *Command) string {
	f := &formatter{}
	f.w(c.Tag, " ")
	if c.UID {
		f.w("UID ")
	}
	f.w(c.Name)
	f.args(c)
	return f.sb.String()
}

type formatter struct{ sb strings.Builder }

func (f *formatter) w(ss ...string) {
	for _, s := range ss {
		f.sb.WriteString(s)
	}
}

func (f *formatter) list(items []string) string { return "(" + strings.Join(items, " ") + ")" }

// stringArg is s as a string (never an atom), for ID.
func stringArg(s string) string {
	if canQuote(s, true) {
		return quote(s)
	}
	return "{" + strconv.Itoa(len(s)) + "+}\r\n" + s
}

func num(n uint64) string { return strconv.FormatUint(n, 10) }

func (f *formatter) args(c *Command) {
	switch a := c.Args.(type) {
	case *Login:
		f.w(" ", quoteAString(a.User), " ", quoteAString(a.Password))
	case *Authenticate:
		f.w(" ", a.Mechanism)
		if a.InitialResponse != nil {
			f.w(" ", *a.InitialResponse)
		}
	case *MailboxArg:
		f.w(" ", quoteAString(a.Mailbox))
	case *Create:
		f.w(" ", quoteAString(a.Mailbox))
		if a.Use != nil {
			f.w(" (USE ", f.list(a.Use), ")")
		}
	case *SetQuota:
		var l []string
		for _, q := range a.Limits {
			l = append(l, q.Resource+" "+num(q.Limit))
		}
		f.w(" ", quoteAString(a.Root), " ", f.list(l))
	case *Rename:
		f.w(" ", quoteAString(a.From), " ", quoteAString(a.To))
	case *Select:
		f.w(" ", quoteAString(a.Mailbox))
		var params []string
		if a.CondStore {
			params = append(params, "CONDSTORE")
		}
		if q := a.QResync; q != nil {
			s := "QRESYNC (" + num(uint64(q.UIDValidity)) + " " + num(q.ModSeq)
			if q.KnownUIDs != nil {
				s += " " + q.KnownUIDs.String()
			}
			if q.KnownSeqs != nil {
				s += " (" + q.KnownSeqs.String() + " " + q.KnownSeqUIDs.String() + ")"
			}
			params = append(params, s+")")
		}
		if params != nil {
			f.w(" ", f.list(params))
		}
	case *List:
		if a.Select != nil {
			f.w(" ", f.list(a.Select))
		}
		f.w(" ", quoteAString(a.Reference), " ")
		pats := make([]string, len(a.Patterns))
		for i, p := range a.Patterns {
			pats[i] = quoteListMailbox(p)
		}
		if len(pats) == 1 && (c.Name == "LSUB" || a.Select != nil || a.Return != nil || !a.Extended) {
			f.w(pats[0])
		} else {
			f.w(f.list(pats))
		}
		if a.Return != nil {
			ret := append([]string(nil), a.Return...)
			if a.Status != nil {
				ret = append(ret, "STATUS "+f.list(a.Status))
			}
			f.w(" RETURN ", f.list(ret))
		}
	case *Status:
		f.w(" ", quoteAString(a.Mailbox), " ", f.list(a.Items))
	case *Append:
		f.w(" ", quoteAString(a.Mailbox))
		if a.Flags != nil {
			f.w(" ", f.list(a.Flags))
		}
		if !a.Date.IsZero() {
			f.w(` "`, a.Date.Format("02-Jan-2006 15:04:05 -0700"), `"`)
		}
		lit := "{" + strconv.Itoa(len(a.Message)) + "+}\r\n" + string(a.Message)
		if a.Sink != nil {
			// Not wire form: the message is in the sink, not here.
			lit = "{" + strconv.FormatInt(a.Size, 10) + "+} (in the sink)"
		}
		switch {
		case a.UTF8:
			f.w(" UTF8 (~", lit, ")")
		case a.Binary:
			f.w(" ~", lit)
		default:
			f.w(" ", lit)
		}
	case *Enable:
		f.w(" ", strings.Join(a.Caps, " "))
	case *ID:
		if a.Params == nil {
			f.w(" NIL")
			break
		}
		var kv []string
		for _, p := range a.Params {
			v := "NIL"
			if p.Value != nil {
				v = stringArg(*p.Value)
			}
			kv = append(kv, stringArg(p.Key)+" "+v)
		}
		f.w(" ", f.list(kv))
	case *Compress:
		f.w(" ", a.Mechanism)
	case *Search:
		f.searchReturn(a.ESearch, a.Return)
		if a.Charset != "" {
			f.w(" CHARSET ", a.Charset)
		}
		f.w(" ", formatKeys(a.Key))
	case *Sort:
		f.searchReturn(a.ESearch, a.Return)
		var crit []string
		for _, c := range a.Criteria {
			if c.Reverse {
				crit = append(crit, "REVERSE "+c.Key)
			} else {
				crit = append(crit, c.Key)
			}
		}
		f.w(" ", f.list(crit), " ", a.Charset, " ", formatKeys(a.Key))
	case *Thread:
		f.w(" ", a.Algorithm, " ", a.Charset, " ", formatKeys(a.Key))
	case *Fetch:
		f.w(" ", a.Set.String(), " ")
		if a.Macro != "" {
			f.w(a.Macro)
		} else {
			items := make([]string, len(a.Items))
			for i, it := range a.Items {
				items[i] = it.String()
			}
			f.w(f.list(items))
		}
		var mods []string
		if a.ChangedSince != 0 {
			mods = append(mods, "CHANGEDSINCE "+num(a.ChangedSince))
		}
		if a.Vanished {
			mods = append(mods, "VANISHED")
		}
		if mods != nil {
			f.w(" ", f.list(mods))
		}
	case *Store:
		f.w(" ", a.Set.String())
		if a.HasUnchangedSince {
			f.w(" (UNCHANGEDSINCE ", num(a.UnchangedSince), ")")
		}
		f.w(" ", [...]string{"", "+", "-"}[a.Op], "FLAGS")
		if a.Silent {
			f.w(".SILENT")
		}
		f.w(" ", f.list(a.Flags))
	case *Copy:
		f.w(" ", a.Set.String(), " ", quoteAString(a.Mailbox))
	case *Expunge:
		f.w(" ", a.Set.String())
	case nil:
	default:
		f.w(fmt.Sprintf(" %T", a))
	}
}

func (f *formatter) searchReturn(esearch bool, ret []string) {
	if esearch {
		f.w(" RETURN ", f.list(ret))
	}
}

// quoteListMailbox is like quoteAString but keeps wildcards unquoted.
func quoteListMailbox(s string) string {
	if s != "" && strings.IndexFunc(s, func(r rune) bool { return r > 0x7e || !isListChar(byte(r)) }) < 0 {
		return s
	}
	return quoteAString(s)
}

// String is the fetch item's wire form, as the FETCH response names it
// (without .PEEK there).
func (it FetchItem) String() string {
	s := it.Name
	if it.Peek {
		s += ".PEEK"
	}
	if it.Section != nil {
		s += "[" + it.Section.String() + "]"
	}
	if it.Partial != nil {
		s += "<" + num(it.Partial.Offset) + "." + num(it.Partial.Count) + ">"
	}
	return s
}

// formatKeys prints the top-level AND without parentheses.
func formatKeys(k *SearchKey) string {
	if k.Op != "AND" {
		return k.String()
	}
	parts := make([]string, len(k.Sub))
	for i, s := range k.Sub {
		parts[i] = s.String()
	}
	return strings.Join(parts, " ")
}

// String is the key's wire form.
func (k *SearchKey) String() string {
	date := func(t time.Time) string { return t.Format("2-Jan-2006") }
	switch k.Op {
	case "AND":
		return "(" + formatKeys(k) + ")"
	case "SEQ":
		return k.Set.String()
	case "UID":
		return "UID " + k.Set.String()
	case "NOT":
		return "NOT " + k.Sub[0].String()
	case "OR":
		return "OR " + k.Sub[0].String() + " " + k.Sub[1].String()
	case "BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO":
		return k.Op + " " + quoteAString(k.Value)
	case "KEYWORD", "UNKEYWORD":
		return k.Op + " " + k.Value
	case "HEADER":
		return "HEADER " + quoteAString(k.Field) + " " + quoteAString(k.Value)
	case "BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE":
		return k.Op + " " + date(k.Date)
	case "LARGER", "SMALLER", "OLDER", "YOUNGER":
		return k.Op + " " + num(k.Num)
	case "MODSEQ":
		if k.ModSeqEntry != "" {
			return "MODSEQ " + quote(k.ModSeqEntry) + " " + k.ModSeqType + " " + num(k.Num)
		}
		return "MODSEQ " + num(k.Num)
	}
	return k.Op
}

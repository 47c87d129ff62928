package imap

import (
	"strings"
	"time"

	"github.com/emersion/go-message/charset"
)

// SearchKey is one search criterion (RFC 9051 §6.4.4), a tree.
type SearchKey struct {
	// Op is the upper-case key: ALL, ANSWERED, BCC, BEFORE, BODY, CC,
	// DELETED, DRAFT, FLAGGED, FROM, HEADER, KEYWORD, LARGER, NEW, NOT,
	// OLD, ON, OR, RECENT, SEEN, SENTBEFORE, SENTON, SENTSINCE, SINCE,
	// SMALLER, SUBJECT, TEXT, TO, UID, UNANSWERED, UNDELETED, UNDRAFT,
	// UNFLAGGED, UNKEYWORD, UNSEEN, MODSEQ, OLDER, YOUNGER; SEQ for a
	// bare sequence set; AND for a parenthesised list (and the top
	// level).
	Op    string
	Field string    // HEADER's field name
	Value string    // the string, or the KEYWORD flag
	Num   uint64    // LARGER, SMALLER, MODSEQ, OLDER, YOUNGER
	Date  time.Time // BEFORE ... SENTSINCE
	Set   SeqSet    // SEQ, UID
	Sub   []*SearchKey
	// ModSeqEntry and ModSeqType are MODSEQ's optional entry name
	// ("/flags/\\Seen") and type (priv, shared, all) (RFC 7162 §3.1.5).
	ModSeqEntry, ModSeqType string
}

// searchCharset checks the charset now, so that a client learns of an
// unknown one with NO [BADCHARSET] (RFC 9051 §6.4.4) before anything runs.
func searchCharset(name string) error {
	up := strings.ToUpper(name)
	if up == "UTF-8" || up == "US-ASCII" {
		return nil
	}
	if _, err := charset.Reader(name, strings.NewReader("")); err != nil {
		return &Error{Status: "NO", Code: "BADCHARSET (UTF-8 US-ASCII)", Text: "unknown charset " + name}
	}
	return nil
}

func (p *parser) parseSearch(cmd *Command) error {
	s := &Search{}
	cmd.Args = s
	if err := p.sp(); err != nil {
		return err
	}
	var err error
	if s.Return, s.ESearch, err = p.searchReturn(); err != nil {
		return err
	}
	if s.Charset, err = p.searchCharsetOpt(true); err != nil {
		return err
	}
	s.Key, err = p.searchKeys()
	return err
}

// searchReturn reads [RETURN (opts) SP] (RFC 4731).
func (p *parser) searchReturn() ([]string, bool, error) {
	if !p.matchKeyword("RETURN") {
		return nil, false, nil
	}
	opts := []string{}
	err := func() error {
		return p.list(true, func() error {
			o, err := p.keyword()
			switch o {
			case "MIN", "MAX", "ALL", "COUNT", "SAVE":
			default:
				if err == nil {
					err = p.errorf("unknown RETURN option %s", o)
				}
			}
			opts = append(opts, o)
			return err
		})
	}()
	if err == nil {
		err = p.sp()
	}
	return opts, true, err
}

// matchKeyword consumes kw followed by SP or the end, case-insensitively.
func (p *parser) matchKeyword(kw string) bool {
	end := p.pos + len(kw)
	if end > len(p.buf)-2 || !strings.EqualFold(string(p.buf[p.pos:end]), kw) {
		return false
	}
	if c := p.buf[end]; c != ' ' && c != '\r' {
		return false
	}
	p.pos = end
	if p.peek() == ' ' {
		p.pos++
	}
	return true
}

// searchCharsetOpt reads "CHARSET name SP" (optional for SEARCH) or
// "name SP" (SORT, THREAD).
func (p *parser) searchCharsetOpt(optional bool) (string, error) {
	if optional && !p.matchKeyword("CHARSET") {
		return "", nil
	}
	cs, err := p.astring()
	if err != nil {
		return "", err
	}
	if err := searchCharset(cs); err != nil {
		return "", err
	}
	return strings.ToUpper(cs), p.sp()
}

// searchKeys reads 1*(search-key SP) as an AND.
func (p *parser) searchKeys() (*SearchKey, error) {
	and := &SearchKey{Op: "AND"}
	for {
		k, err := p.searchKey()
		if err != nil {
			return nil, err
		}
		and.Sub = append(and.Sub, k)
		if !p.maybe(' ') {
			return and, nil
		}
	}
}

func (p *parser) searchKey() (*SearchKey, error) {
	if err := p.enter(); err != nil {
		return nil, err
	}
	defer p.leave()
	c := p.peek()
	if c == '(' {
		and := &SearchKey{Op: "AND"}
		err := p.list(false, func() error {
			k, err := p.searchKey()
			and.Sub = append(and.Sub, k)
			return err
		})
		return and, err
	}
	if c == '*' || c == '$' || (c >= '1' && c <= '9') {
		set, err := p.seqSet()
		return &SearchKey{Op: "SEQ", Set: set}, err
	}
	op, err := p.keyword()
	if err != nil {
		return nil, p.errorf("expected a search key at %q", p.rest())
	}
	k := &SearchKey{Op: op}
	switch op {
	case "ALL", "ANSWERED", "DELETED", "FLAGGED", "NEW", "OLD", "RECENT", "SEEN",
		"UNANSWERED", "UNDELETED", "UNFLAGGED", "UNSEEN", "DRAFT", "UNDRAFT":
	case "BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO":
		k.Value, err = spThen(p, p.astring)
	case "KEYWORD", "UNKEYWORD":
		k.Value, err = spThen(p, p.atom)
	case "BEFORE", "ON", "SINCE", "SENTBEFORE", "SENTON", "SENTSINCE":
		k.Date, err = spThen(p, p.date)
	case "HEADER":
		if k.Field, err = spThen(p, p.astring); err == nil {
			k.Value, err = spThen(p, p.astring)
		}
	case "LARGER", "SMALLER":
		k.Num, err = spThen(p, p.number64)
	case "OLDER", "YOUNGER": // RFC 5032
		var n uint32
		n, err = spThen(p, p.nzNumber)
		k.Num = uint64(n)
	case "UID":
		k.Set, err = spThen(p, p.seqSet)
	case "NOT":
		var sub *SearchKey
		sub, err = spThen(p, p.searchKey)
		k.Sub = []*SearchKey{sub}
	case "OR":
		var a, b *SearchKey
		if a, err = spThen(p, p.searchKey); err == nil {
			b, err = spThen(p, p.searchKey)
		}
		k.Sub = []*SearchKey{a, b}
	case "MODSEQ":
		err = p.parseModSeqKey(k)
	default:
		return nil, p.errorf("unknown search key %s", op)
	}
	return k, err
}

// parseModSeqKey: MODSEQ [entry-name SP entry-type-req SP] mod-sequence-valzer.
func (p *parser) parseModSeqKey(k *SearchKey) error {
	if err := p.sp(); err != nil {
		return err
	}
	if p.peek() == '"' {
		var err error
		if k.ModSeqEntry, err = p.quoted(); err != nil {
			return err
		}
		t, err := spThen(p, p.keyword)
		if err != nil {
			return err
		}
		switch t {
		case "PRIV", "SHARED", "ALL":
		default:
			return p.errorf("bad MODSEQ entry type %s", t)
		}
		k.ModSeqType = strings.ToLower(t)
		if err := p.sp(); err != nil {
			return err
		}
	}
	var err error
	k.Num, err = p.number64()
	return err
}

func (p *parser) parseSort(cmd *Command) error {
	s := &Sort{}
	cmd.Args = s
	if err := p.sp(); err != nil {
		return err
	}
	var err error
	if s.Return, s.ESearch, err = p.searchReturn(); err != nil {
		return err
	}
	err = p.list(false, func() error {
		k, err := p.keyword()
		c := SortCriterion{}
		if k == "REVERSE" && err == nil {
			c.Reverse = true
			k, err = spThen(p, p.keyword)
		}
		switch k {
		case "ARRIVAL", "CC", "DATE", "FROM", "SIZE", "SUBJECT", "TO", "DISPLAYFROM", "DISPLAYTO":
		default:
			if err == nil {
				err = p.errorf("unknown sort key %s", k)
			}
		}
		c.Key = k
		s.Criteria = append(s.Criteria, c)
		return err
	})
	if err == nil {
		err = p.sp()
	}
	if err != nil {
		return err
	}
	if s.Charset, err = p.searchCharsetOpt(false); err != nil {
		return err
	}
	s.Key, err = p.searchKeys()
	return err
}

func (p *parser) parseThread(cmd *Command) error {
	t := &Thread{}
	cmd.Args = t
	var err error
	if t.Algorithm, err = spThen(p, p.keyword); err != nil {
		return err
	}
	if t.Algorithm != "REFERENCES" && t.Algorithm != "ORDEREDSUBJECT" {
		return p.errorf("unknown thread algorithm %s", t.Algorithm)
	}
	if err := p.sp(); err != nil {
		return err
	}
	if t.Charset, err = p.searchCharsetOpt(false); err != nil {
		return err
	}
	t.Key, err = p.searchKeys()
	return err
}

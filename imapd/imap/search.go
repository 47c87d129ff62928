package imap

import (
	"bytes"
	"fmt"
	"io"
	"mime"
	"net/mail"
	"sort"
	"strings"
	"time"
	"unicode/utf8"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/charset"
	"golang.org/x/text/cases"
)

// SearchData is what SEARCH looks at in one message; Message may be nil
// when Matcher.NeedsMessage says no key reads it.
type SearchData struct {
	SeqNum, UID  uint32
	Flags        []string // with \Recent when the session counts it recent
	InternalDate time.Time
	Size         int64
	ModSeq       uint64
	Message      *Message
}

// SearchContext is what a search needs of the mailbox and session.
type SearchContext struct {
	MaxSeq, MaxUID uint32 // what "*" means
	// SavedUIDs is "$" (RFC 5182) as the UIDs of the saved result: a
	// UID stays with its message through expunges, so "$" means the same
	// messages whether it stands for sequence numbers or UIDs.
	SavedUIDs SeqSet
	Now       time.Time
}

// Matcher evaluates a search key against messages. Strings are
// converted from the command's charset to UTF-8 and case-folded once.
// A Matcher is for one goroutine: it keeps a read buffer.
type Matcher struct {
	key     *SearchKey
	ctx     SearchContext
	needles map[*SearchKey]string
	buf     []byte
}

// NewMatcher prepares key, whose strings are in charset ("" for
// US-ASCII/UTF-8). It orders each AND's keys cheapest first, so that
// flags rule a message out before its body is read.
func NewMatcher(key *SearchKey, cs string, ctx SearchContext) (*Matcher, error) {
	m := &Matcher{key: reorder(key), ctx: ctx, needles: map[*SearchKey]string{}}
	if err := m.prepare(m.key, cs); err != nil {
		return nil, err
	}
	return m, nil
}

func (m *Matcher) prepare(k *SearchKey, cs string) error {
	switch k.Op {
	case "BCC", "BODY", "CC", "FROM", "SUBJECT", "TEXT", "TO", "HEADER":
		v := k.Value
		if up := strings.ToUpper(cs); up != "" && up != "UTF-8" && up != "US-ASCII" {
			r, err := charset.Reader(cs, strings.NewReader(v))
			if err != nil {
				return &Error{Status: "NO", Code: "BADCHARSET (UTF-8 US-ASCII)", Text: err.Error()}
			}
			b, err := io.ReadAll(r)
			if err != nil {
				return fmt.Errorf("converting a search string from %s: %w", cs, err)
			}
			v = string(b)
		}
		m.needles[k] = fold(v)
	}
	for _, s := range k.Sub {
		if err := m.prepare(s, cs); err != nil {
			return err
		}
	}
	return nil
}

// fold is the case folding SEARCH compares with (RFC 9051 §6.4.4:
// case-insensitive; full Unicode folding, so "STRASSE" finds "Straße").
func fold(s string) string {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return cases.Fold().String(s)
		}
	}
	return strings.ToLower(s) // the same for ASCII, and much faster
}

// cost ranks keys: 0 needs no message, 1 its header, 2 its body.
func cost(k *SearchKey) int {
	switch k.Op {
	case "BODY", "TEXT":
		return 2
	case "BCC", "CC", "FROM", "SUBJECT", "TO", "HEADER", "SENTBEFORE", "SENTON", "SENTSINCE":
		return 1
	}
	c := 0
	for _, s := range k.Sub {
		c = max(c, cost(s))
	}
	return c
}

func reorder(k *SearchKey) *SearchKey {
	if len(k.Sub) == 0 {
		return k
	}
	c := *k
	c.Sub = make([]*SearchKey, len(k.Sub))
	for i, s := range k.Sub {
		c.Sub[i] = reorder(s)
	}
	if c.Op == "AND" {
		sort.SliceStable(c.Sub, func(i, j int) bool { return cost(c.Sub[i]) < cost(c.Sub[j]) })
	}
	return &c
}

// NeedsMessage tells whether any key reads the message itself.
func (m *Matcher) NeedsMessage() bool { return cost(m.key) > 0 }

// Match tells whether the message matches.
func (m *Matcher) Match(d *SearchData) (bool, error) { return m.match(m.key, d) }

func (m *Matcher) match(k *SearchKey, d *SearchData) (bool, error) {
	switch k.Op {
	case "AND":
		for _, s := range k.Sub {
			if ok, err := m.match(s, d); !ok || err != nil {
				return false, err
			}
		}
		return true, nil
	case "OR":
		ok, err := m.match(k.Sub[0], d)
		if ok || err != nil {
			return ok, err
		}
		return m.match(k.Sub[1], d)
	case "NOT":
		ok, err := m.match(k.Sub[0], d)
		return !ok && err == nil, err
	case "ALL":
		return true, nil
	case "SEQ", "UID":
		if k.Set.Saved {
			return m.ctx.SavedUIDs.Contains(d.UID, m.ctx.MaxUID), nil
		}
		if k.Op == "SEQ" {
			return k.Set.Contains(d.SeqNum, m.ctx.MaxSeq), nil
		}
		return k.Set.Contains(d.UID, m.ctx.MaxUID), nil
	case "ANSWERED", "DELETED", "DRAFT", "FLAGGED", "SEEN", "RECENT":
		return hasFlag(d.Flags, `\`+k.Op), nil
	case "UNANSWERED", "UNDELETED", "UNDRAFT", "UNFLAGGED", "UNSEEN":
		return !hasFlag(d.Flags, `\`+k.Op[2:]), nil
	case "NEW":
		return hasFlag(d.Flags, `\Recent`) && !hasFlag(d.Flags, `\Seen`), nil
	case "OLD":
		return !hasFlag(d.Flags, `\Recent`), nil
	case "KEYWORD":
		return hasFlag(d.Flags, k.Value), nil
	case "UNKEYWORD":
		return !hasFlag(d.Flags, k.Value), nil
	case "LARGER":
		return d.Size > int64(min(k.Num, 1<<62)), nil
	case "SMALLER":
		return d.Size < int64(min(k.Num, 1<<62)), nil
	case "MODSEQ":
		return d.ModSeq >= k.Num, nil
	case "BEFORE", "ON", "SINCE":
		return compareDay(dayOf(d.InternalDate), k), nil
	case "OLDER":
		return !d.InternalDate.After(m.ctx.Now.Add(-time.Duration(k.Num) * time.Second)), nil
	case "YOUNGER":
		return !d.InternalDate.Before(m.ctx.Now.Add(-time.Duration(k.Num) * time.Second)), nil
	}
	if d.Message == nil {
		return false, fmt.Errorf("search key %s needs the message", k.Op)
	}
	hdr, err := d.Message.Header()
	if err != nil {
		return false, err
	}
	switch k.Op {
	case "SENTBEFORE", "SENTON", "SENTSINCE":
		t, err := mail.ParseDate(hdr.Header.Get("Date"))
		if err != nil {
			return false, nil // no usable Date: the message was sent on no day
		}
		return compareDay(dayOf(t), k), nil
	case "BCC", "CC", "FROM", "SUBJECT", "TO":
		return headerContains(&hdr.Header, k.Op, m.needles[k]), nil
	case "HEADER":
		return headerContains(&hdr.Header, k.Field, m.needles[k]), nil
	case "TEXT":
		if bytes.Contains([]byte(fold(decodeWords(string(hdr.Header.Raw)))), []byte(m.needles[k])) {
			return true, nil
		}
		return m.bodyContains(d.Message, m.needles[k])
	case "BODY":
		return m.bodyContains(d.Message, m.needles[k])
	}
	return false, fmt.Errorf("search key %s not supported", k.Op)
}

func hasFlag(flags []string, f string) bool {
	for _, g := range flags {
		if strings.EqualFold(g, f) {
			return true
		}
	}
	return false
}

// dayOf is the date of t in its own zone: RFC 9051 compares dates
// "disregarding time and timezone".
func dayOf(t time.Time) time.Time {
	y, mo, d := t.Date()
	return time.Date(y, mo, d, 0, 0, 0, 0, time.UTC)
}

func compareDay(day time.Time, k *SearchKey) bool {
	switch k.Op {
	case "BEFORE", "SENTBEFORE":
		return day.Before(k.Date)
	case "ON", "SENTON":
		return day.Equal(k.Date)
	}
	return !day.Before(k.Date)
}

// wordDecoder decodes RFC 2047 encoded words with go-message's charsets.
var wordDecoder = &mime.WordDecoder{CharsetReader: charset.Reader}

func decodeWords(s string) string {
	d, err := wordDecoder.DecodeHeader(s)
	if err != nil {
		return s
	}
	return d
}

// headerContains: any field of that name whose decoded value contains
// the needle; an empty needle matches any such field (RFC 9051 HEADER).
func headerContains(h *Header, name, needle string) bool {
	for _, v := range h.Values(name) {
		if strings.Contains(fold(decodeWords(v)), needle) {
			return true
		}
	}
	return false
}

// bodyContains searches the text of every part, transfer encoding and
// charset undone by go-message, streaming.
func (m *Matcher) bodyContains(msg *Message, needle string) (bool, error) {
	root, err := msg.Structure()
	if err != nil {
		return false, err
	}
	return m.partContains(msg, root, needle)
}

func (m *Matcher) partContains(msg *Message, p *Part, needle string) (bool, error) {
	for _, c := range p.Children {
		if ok, err := m.partContains(msg, c, needle); ok || err != nil {
			return ok, err
		}
	}
	if len(p.Children) > 0 {
		return false, nil
	}
	if e := p.Embedded; e != nil {
		if strings.Contains(fold(decodeWords(string(e.Header.Raw))), needle) {
			return true, nil
		}
		return m.partContains(msg, e, needle)
	}
	if p.Type != "text" && p.Type != "message" {
		return false, nil // attachments are not text; Dovecot skips them too
	}
	body := io.NewSectionReader(msg.r, p.BodyStart, p.End-p.BodyStart)
	e, err := message.New(*p.Header.message(), body)
	r := io.Reader(body)
	if e != nil && (err == nil || message.IsUnknownCharset(err)) {
		r = e.Body
	}
	if m.buf == nil {
		m.buf = make([]byte, 64<<10)
	}
	return readerContains(r, needle, m.buf)
}

// readerContains looks for needle (folded) in r's folded text, 64 KiB at
// a time, carrying a tail across chunks so that no match is missed.
func readerContains(r io.Reader, needle string, buf []byte) (bool, error) {
	if needle == "" {
		return true, nil
	}
	var carry, pending []byte
	for {
		n, err := r.Read(buf)
		chunk := buf[:n]
		if len(pending) > 0 {
			chunk = append(pending, chunk...)
		}
		pending = nil
		// Keep an incomplete UTF-8 sequence for the next round.
		if err == nil {
			cut := len(chunk)
			for i := 1; i <= utf8.UTFMax && i <= len(chunk); i++ {
				if utf8.RuneStart(chunk[len(chunk)-i]) {
					if !utf8.FullRune(chunk[len(chunk)-i:]) {
						cut = len(chunk) - i
					}
					break
				}
			}
			pending = append([]byte(nil), chunk[cut:]...)
			chunk = chunk[:cut]
		}
		text := append(carry, fold(string(chunk))...)
		if bytes.Contains(text, []byte(needle)) {
			return true, nil
		}
		if keep := len(needle) + utf8.UTFMax; len(text) > keep {
			text = text[len(text)-keep:]
		}
		carry = append(carry[:0], text...)
		if err == io.EOF {
			return false, nil
		}
		if err != nil {
			return false, fmt.Errorf("reading a body part: %w", err)
		}
	}
}

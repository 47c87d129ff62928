package imap

import (
	"bufio"
	"strings"
)

// Envelope is FETCH ENVELOPE (RFC 9051 §7.5.2): header values as sent
// (unfolded, encoded words kept, as Dovecot and UW do), nil for NIL.
type Envelope struct {
	Date, Subject                      *string
	From, Sender, ReplyTo, To, Cc, Bcc []Address
	InReplyTo, MessageID               *string
}

// Address is one address structure. A group is a start marker (Host nil,
// Mailbox the group's name) and an end marker (all nil) around members.
type Address struct {
	Name, Route, Mailbox, Host *string
}

// missingHost stands in for an address without a domain: a NIL host
// would make clients take it for a group marker (UW imapd's choice).
const missingHost = ".MISSING-HOST-NAME."

// Envelope builds the envelope from the message's top-level header.
func (m *Message) Envelope() (*Envelope, error) {
	p, err := m.Header()
	if err != nil {
		return nil, err
	}
	return EnvelopeOf(&p.Header), nil
}

// EnvelopeOf builds the envelope of a header: the message's, or an
// embedded message/rfc822's.
func EnvelopeOf(h *Header) *Envelope {
	field := func(name string) *string {
		if !h.Has(name) {
			return nil
		}
		v := strings.TrimSpace(h.Get(name))
		return &v
	}
	addrs := func(name string) []Address {
		if !h.Has(name) {
			return nil
		}
		return ParseAddressList(h.Get(name))
	}
	e := &Envelope{
		Date:      field("Date"),
		Subject:   field("Subject"),
		From:      addrs("From"),
		Sender:    addrs("Sender"),
		ReplyTo:   addrs("Reply-To"),
		To:        addrs("To"),
		Cc:        addrs("Cc"),
		Bcc:       addrs("Bcc"),
		InReplyTo: field("In-Reply-To"),
		MessageID: field("Message-Id"),
	}
	// RFC 9051 §7.5.2: a missing or empty Sender or Reply-To is From.
	if len(e.Sender) == 0 {
		e.Sender = e.From
	}
	if len(e.ReplyTo) == 0 {
		e.ReplyTo = e.From
	}
	return e
}

// ParseAddressList parses an address list (RFC 5322 §3.4) leniently:
// whatever the header holds gives the best structure it can, never an
// error, as clients show the envelope rather than the raw header.
func ParseAddressList(s string) []Address {
	var out []Address
	var cur strings.Builder
	var comment string
	inGroup := false
	flush := func() {
		if a, ok := parseMailbox(cur.String(), comment); ok {
			out = append(out, a)
		}
		cur.Reset()
		comment = ""
	}
	for i := 0; i < len(s); i++ {
		c := s[i]
		switch c {
		case '"':
			j := i + 1
			for j < len(s) && s[j] != '"' {
				if s[j] == '\\' {
					j++
				}
				j++
			}
			cur.WriteString(s[i:min(j+1, len(s))])
			i = j
		case '(':
			depth, j := 1, i+1
			for ; j < len(s) && depth > 0; j++ {
				switch s[j] {
				case '\\':
					j++
				case '(':
					depth++
				case ')':
					depth--
				}
			}
			comment = strings.TrimSpace(s[i+1 : max(i+1, min(j-1, len(s)))])
			i = j - 1
		case '<':
			j := strings.IndexByte(s[i:], '>')
			if j < 0 {
				j = len(s) - i - 1
			}
			cur.WriteString(s[i : i+j+1])
			i += j
		case ',':
			flush()
		case ':':
			if !inGroup && !strings.Contains(cur.String(), "@") {
				name := unquote(strings.TrimSpace(cur.String()))
				out = append(out, Address{Mailbox: &name})
				cur.Reset()
				inGroup = true
				continue
			}
			cur.WriteByte(c)
		case ';':
			if inGroup {
				flush()
				out = append(out, Address{})
				inGroup = false
				continue
			}
			cur.WriteByte(c)
		default:
			cur.WriteByte(c)
		}
	}
	flush()
	if inGroup {
		out = append(out, Address{})
	}
	return out
}

// parseMailbox parses one "name <route:local@domain>" or "local@domain
// (comment)".
func parseMailbox(s, comment string) (Address, bool) {
	s = strings.TrimSpace(s)
	if s == "" {
		return Address{}, false
	}
	var a Address
	spec := s
	if lt := strings.IndexByte(s, '<'); lt >= 0 {
		if name := unquote(strings.TrimSpace(s[:lt])); name != "" {
			a.Name = &name
		}
		spec = strings.TrimSuffix(strings.TrimSpace(s[lt+1:]), ">")
		if colon := strings.IndexByte(spec, ':'); colon >= 0 && strings.HasPrefix(spec, "@") {
			route := spec[:colon]
			a.Route = &route
			spec = spec[colon+1:]
		}
	} else if comment != "" {
		a.Name = &comment
	}
	spec = strings.TrimSpace(spec)
	if spec == "" {
		// "<>" is the null reverse path; show it as an empty mailbox.
		empty, host := "", missingHost
		a.Mailbox, a.Host = &empty, &host
		return a, true
	}
	local, host := spec, missingHost
	if at := strings.LastIndexByte(spec, '@'); at >= 0 {
		local, host = spec[:at], spec[at+1:]
	}
	local = unquote(local)
	a.Mailbox, a.Host = &local, &host
	return a, true
}

// unquote removes the quotes around a quoted-string and its escapes.
func unquote(s string) string {
	if len(s) < 2 || s[0] != '"' || s[len(s)-1] != '"' {
		return s
	}
	var sb strings.Builder
	for i := 1; i < len(s)-1; i++ {
		if s[i] == '\\' && i+1 < len(s)-1 {
			i++
		}
		sb.WriteByte(s[i])
	}
	return sb.String()
}

// Envelope writes an envelope structure.
func (w *Writer) Envelope(e *Envelope) *Writer {
	w.Open().NString(e.Date).SP().NString(e.Subject)
	for _, l := range [][]Address{e.From, e.Sender, e.ReplyTo, e.To, e.Cc, e.Bcc} {
		w.SP().addresses(l)
	}
	return w.SP().NString(e.InReplyTo).SP().NString(e.MessageID).Close()
}

func (w *Writer) addresses(l []Address) *Writer {
	if len(l) == 0 {
		return w.Atom("NIL")
	}
	w.Open()
	for _, a := range l {
		w.Open().NString(a.Name).SP().NString(a.Route).SP().NString(a.Mailbox).SP().NString(a.Host).Close()
	}
	return w.Close()
}

// EnvelopeRenderer renders ENVELOPE values into bytes, for a cache of
// them (FetchData.Envelope), reusing one buffer.
type EnvelopeRenderer struct {
	w   *Writer
	out sliceWriter
}

type sliceWriter struct{ b []byte }

func (s *sliceWriter) Write(p []byte) (int, error) { s.b = append(s.b, p...); return len(p), nil }

// Render returns e as Writer.Envelope writes it in the given mode (see
// Writer.UTF8), and whether the bytes are the same in either mode (all
// ASCII). They are valid until the next Render.
func (r *EnvelopeRenderer) Render(e *Envelope, utf8Mode bool) (b []byte, anyMode bool) {
	if r.w == nil {
		r.w = &Writer{bw: bufio.NewWriterSize(&r.out, 4<<10)}
	}
	r.out.b = r.out.b[:0]
	r.w.UTF8 = utf8Mode
	r.w.Envelope(e)
	r.w.bw.Flush()
	for _, c := range r.out.b {
		if c >= 0x80 {
			return r.out.b, false
		}
	}
	return r.out.b, true
}

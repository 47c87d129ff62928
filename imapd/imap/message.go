package imap

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"github.com/emersion/go-message"
	"github.com/emersion/go-message/textproto"
)

// Message is one stored message as IMAP sees it: its bytes, CRLF line
// ends, behind an io.ReaderAt, so that only the parts a FETCH names are
// read. Header reads the header alone; Structure scans the body for MIME
// boundaries (needed for BODYSTRUCTURE and numbered parts).
type Message struct {
	r    io.ReaderAt
	size int64
	hdr  *Part // the top-level header, once read
	root *Part // the whole structure, once scanned
}

// maxHeader bounds a header section kept in memory; what lies beyond is
// still served by BODY[] and BODY[HEADER] but not parsed (Postfix's
// header_size_limit is 102400, so local never stores more than that).
const maxHeader = 1 << 20

// maxPartDepth bounds MIME nesting, and maxParts the parts of one
// message (Dovecot's limits are of that order): a 10 MB message could
// otherwise hold two million parts. Deeper or further parts are not
// split out; their bytes stay in the body of the part around them.
const (
	maxPartDepth = 50
	maxParts     = 10000
)

// NewMessage wraps size octets read through r.
func NewMessage(r io.ReaderAt, size int64) *Message { return &Message{r: r, size: size} }

// Size is RFC822.SIZE.
func (m *Message) Size() int64 { return m.size }

// Part is one MIME entity of a message, by offsets into it.
type Part struct {
	Start     int64 // the first octet of its header (its MIME header for a body part)
	BodyStart int64 // the first octet after the header's empty line
	End       int64 // the octet after its body
	Header    Header
	// Type and Subtype are lower case ("text", "plain"); Params' names
	// lower case too, values as decoded by go-message.
	Type, Subtype string
	Params        map[string]string
	Lines         int64   // lines of the body, for text/* and message/rfc822
	Children      []*Part // a multipart's parts
	Embedded      *Part   // a message/rfc822's message
}

// Header is a header section: fields in order, raw, for HEADER.FIELDS,
// and parsed by go-message for values.
type Header struct {
	Raw    []byte  // the whole section, with its final empty line when present
	Fields []Field // in order
	h      message.Header
	parsed bool // h is built: only Content-Type and friends need it
}

// Field is one header field, with its folded lines as sent.
type Field struct {
	Name string // as sent
	Raw  []byte // "Name: value" with its continuation lines and CRLF
}

// Get is the field's unfolded value, the first if repeated, "" if absent.
// Get, Has and Values scan Fields (headerscan.go) rather than go-message's
// parsed header: ENVELOPE and header SEARCH over 10,000 messages spent
// most of their time building it, for the ten fields they read.
func (h *Header) Get(name string) string {
	for i := range h.Fields {
		if h.Fields[i].Name != "" && fieldIs(h.Fields[i].Raw, name) {
			return fieldValue(h.Fields[i].Raw)
		}
	}
	return ""
}

// Has tells whether the field is present.
func (h *Header) Has(name string) bool {
	for i := range h.Fields {
		if h.Fields[i].Name != "" && fieldIs(h.Fields[i].Raw, name) {
			return true
		}
	}
	return false
}

// Values are all values of the field.
func (h *Header) Values(name string) []string {
	var vs []string
	for i := range h.Fields {
		if h.Fields[i].Name != "" && fieldIs(h.Fields[i].Raw, name) {
			vs = append(vs, fieldValue(h.Fields[i].Raw))
		}
	}
	return vs
}

// message is the header parsed by go-message, built on first use.
func (h *Header) message() *message.Header {
	if !h.parsed {
		var th textproto.Header
		// go-message's Header keeps the last added first; add in reverse
		// so that its Get gives the first field, as RFC 5322 readers expect.
		for i := len(h.Fields) - 1; i >= 0; i-- {
			if h.Fields[i].Name != "" {
				th.AddRaw(h.Fields[i].Raw)
			}
		}
		h.h = message.Header{Header: th}
		h.parsed = true
	}
	return &h.h
}

// Header reads and parses the top-level header only.
func (m *Message) Header() (*Part, error) {
	if m.root != nil {
		return m.root, nil
	}
	if m.hdr == nil {
		p, err := readPartHeader(m.r, 0, m.size)
		if err != nil {
			return nil, err
		}
		m.hdr = p
	}
	return m.hdr, nil
}

// Structure reads the whole MIME structure: headers of all parts, and
// the body scanned for boundaries and line counts.
func (m *Message) Structure() (*Part, error) {
	if m.root == nil {
		parts := 0
		p, err := parsePart(m.r, 0, m.size, "text/plain", 0, &parts)
		if err != nil {
			return nil, err
		}
		m.root = p
	}
	return m.root, nil
}

// readPartHeader reads the header section beginning at start.
func readPartHeader(r io.ReaderAt, start, end int64) (*Part, error) {
	p := &Part{Start: start, End: end}
	// Small parts get a small buffer: a message of many parts must not
	// cost 4 KiB each.
	br := bufio.NewReaderSize(io.NewSectionReader(r, start, end-start), int(min(4096, max(16, end-start))))
	raw := make([]byte, 0, 2048)
	for len(raw) < maxHeader {
		line, err := br.ReadSlice('\n')
		if errors.Is(err, bufio.ErrBufferFull) {
			raw = append(raw, line...)
			continue
		}
		raw = append(raw, line...)
		if err == io.EOF {
			break // a message of header only, or no header at all
		}
		if err != nil {
			return nil, fmt.Errorf("reading a header at %d: %w", start, err)
		}
		if len(line) <= 2 && (string(line) == "\r\n" || string(line) == "\n") {
			break
		}
	}
	p.BodyStart = start + int64(len(raw))
	p.Header = parseHeader(raw)
	return p, nil
}

// parseHeader splits a header section into fields, leniently: a line
// without a colon is no field and is skipped (BODY[HEADER] still has it,
// from the raw bytes), and continuation lines after it are dropped too.
func parseHeader(raw []byte) Header {
	h := Header{Raw: raw, Fields: make([]Field, 0, 16)}
	// A field and its continuation lines are contiguous in raw, so each
	// Raw is a slice of it (capped, so that no append can reach the next).
	fieldStart := -1
	for off := 0; off < len(raw); {
		end := bytes.IndexByte(raw[off:], '\n') + 1
		if end == 0 {
			end = len(raw) - off
		}
		line := raw[off : off+end]
		lineStart := off
		off += end
		if len(bytes.TrimRight(line, "\r\n")) == 0 {
			break
		}
		if (line[0] == ' ' || line[0] == '\t') && fieldStart >= 0 {
			h.Fields[len(h.Fields)-1].Raw = raw[fieldStart:off:off]
			continue
		}
		name, _, ok := bytes.Cut(line, []byte(":"))
		if !ok {
			fieldStart = -1 // a line without a colon ends nothing; it is dropped
			continue
		}
		fieldStart = lineStart
		h.Fields = append(h.Fields, Field{Name: string(bytes.TrimSpace(name)), Raw: raw[lineStart:off:off]})
	}
	return h
}

// parsePart parses the entity at [start, end): its header, then its
// body by type. defType is text/plain, or message/rfc822 inside
// multipart/digest (RFC 2046 §5.1.5).
func parsePart(r io.ReaderAt, start, end int64, defType string, depth int, parts *int) (*Part, error) {
	p, err := readPartHeader(r, start, end)
	if err != nil {
		return nil, err
	}
	p.contentType(defType)
	*parts++
	if depth >= maxPartDepth || *parts >= maxParts {
		if p.Type == "multipart" || p.Type == "message" {
			p.Type, p.Subtype = "application", "octet-stream" // shown whole, not split
		}
		return p, nil
	}
	switch {
	case p.Type == "multipart":
		b := p.Params["boundary"]
		if b == "" {
			p.Type, p.Subtype, p.Params = "text", "plain", map[string]string{"charset": "us-ascii"}
			break
		}
		child := "text/plain"
		if p.Subtype == "digest" {
			child = "message/rfc822"
		}
		bounds, err := scanParts(r, p.BodyStart, p.End, b)
		if err != nil {
			return nil, err
		}
		for _, span := range bounds {
			if *parts >= maxParts {
				break
			}
			c, err := parsePart(r, span[0], span[1], child, depth+1, parts)
			if err != nil {
				return nil, err
			}
			p.Children = append(p.Children, c)
		}
	case p.Type == "message" && (p.Subtype == "rfc822" || p.Subtype == "global"):
		if p.Embedded, err = parsePart(r, p.BodyStart, p.End, "text/plain", depth+1, parts); err != nil {
			return nil, err
		}
	}
	if p.Type == "text" || p.Type == "message" && p.Embedded != nil {
		if p.Lines, err = countLines(r, p.BodyStart, p.End); err != nil {
			return nil, err
		}
	}
	return p, nil
}

// contentType fills Type, Subtype and Params, with RFC 2045 §5.2's
// default when the field is missing or broken.
func (p *Part) contentType(def string) {
	t, params, err := p.Header.message().ContentType()
	// go-message answers text/plain for a missing field; here the default
	// depends on the parent (multipart/digest's is message/rfc822).
	if err != nil || !strings.Contains(t, "/") || strings.TrimSpace(p.Header.Get("Content-Type")) == "" {
		t, params = def, nil
	}
	p.Type, p.Subtype, _ = strings.Cut(strings.ToLower(t), "/")
	p.Params = params
	if p.Params == nil {
		p.Params = map[string]string{}
	}
	if p.Type == "text" && p.Params["charset"] == "" {
		p.Params["charset"] = "us-ascii"
	}
}

// scanParts finds the body parts of a multipart between its boundary
// lines (RFC 2046 §5.1.1): the CRLF before a boundary line belongs to
// the boundary; the preamble and epilogue belong to no part.
func scanParts(r io.ReaderAt, start, end int64, boundary string) ([][2]int64, error) {
	delim := []byte("--" + boundary)
	br := bufio.NewReaderSize(io.NewSectionReader(r, start, end-start), 16<<10)
	var spans [][2]int64
	off, partStart := start, int64(-1)
	atLineStart := true
	prevEOL := int64(0) // length of the line end before this line
	for {
		line, err := br.ReadSlice('\n')
		lineStart := off
		off += int64(len(line))
		if atLineStart && bytes.HasPrefix(line, delim) {
			tail := bytes.TrimRight(line[len(delim):], " \t\r\n")
			closing := bytes.Equal(tail, []byte("--"))
			if len(tail) == 0 || closing {
				if partStart >= 0 {
					spans = append(spans, [2]int64{partStart, max(partStart, lineStart-prevEOL)})
				}
				partStart = off
				if closing {
					return spans, nil
				}
			}
		}
		atLineStart = err == nil
		switch {
		case bytes.HasSuffix(line, []byte("\r\n")):
			prevEOL = 2
		case bytes.HasSuffix(line, []byte("\n")):
			prevEOL = 1
		default:
			prevEOL = 0
		}
		if err == io.EOF {
			break
		}
		if err != nil && !errors.Is(err, bufio.ErrBufferFull) {
			return nil, fmt.Errorf("scanning a multipart at %d: %w", start, err)
		}
	}
	// No closing boundary: the last part runs to the end, as readers
	// of truncated mail expect.
	if partStart >= 0 && partStart <= end {
		spans = append(spans, [2]int64{partStart, end})
	}
	return spans, nil
}

// countLines counts the lines of [start, end), a last unterminated line
// included.
func countLines(r io.ReaderAt, start, end int64) (int64, error) {
	var n int64
	buf := make([]byte, 32<<10)
	last := byte('\n')
	for off := start; off < end; {
		k, err := r.ReadAt(buf[:min(int64(len(buf)), end-off)], off)
		n += int64(bytes.Count(buf[:k], []byte{'\n'}))
		if k > 0 {
			last = buf[k-1]
		}
		off += int64(k)
		if err != nil && !(err == io.EOF && off >= end) {
			return 0, fmt.Errorf("counting lines: %w", err)
		}
		if k == 0 {
			break
		}
	}
	if last != '\n' {
		n++
	}
	return n, nil
}

package intake

import (
	"bytes"
	"errors"
	"slices"

	"postern.dev/postern/libmail/message"
)

// header is the header section held back until its end is known, so that
// it can be ended at header_size_limit, counted for hops and completed
// with the fields a submission lacks, before any of it is stored.
type header struct {
	buf  []byte
	done bool // the header section has ended and been stored
}

// collect adds p to the header section held back and, once the section's
// end is known, stores the section and returns the part of p that
// follows what it took. The section ends at its empty line (RFC 5322
// §2.1) if that comes within header_size_limit. Otherwise intake ends it
// after the last whole line within the limit with an empty line of its
// own, so the rest is body (header text past header_size_limit "forces
// the start of the message body", in the words of Postfix's older
// mail_params.h; newer Postfix drops what exceeds it): every agent then
// finds the end of the header of any message taken in, within a bound it
// can afford, and no byte the source sent is dropped. A single line
// longer than the limit is broken near the limit. Whatever the pieces,
// the result is the same.
func (w *Writer) collect(p []byte) []byte {
	limit := w.cfg.HeaderLimit
	old := len(w.head.buf)
	// Two bytes past the limit show whether an empty line follows a
	// header section of exactly the limit.
	take := min(len(p), limit+2-old)
	w.head.buf = append(w.head.buf, p[:take]...)
	h, rest := w.head.buf, p[take:]
	if bytes.HasPrefix(h, crlf) { // no header section at all
		w.endHeader(0, false, false)
		return rest
	}
	if h[0] == ' ' || h[0] == '\t' {
		// A first line that continues nothing: no header section either.
		// Stored as it is, it would continue the field before it (the
		// Received: added) for every later reader, and the lines after it
		// would be header to them but not to the hop count. An empty line
		// inserted keeps it body for everyone.
		w.endHeader(0, false, true)
		return rest
	}
	if i := bytes.Index(h[max(0, old-3):], crlfCRLF); i >= 0 {
		w.endHeader(max(0, old-3)+i+2, false, false)
		return rest
	}
	if len(h) < limit+2 {
		return nil // not known yet
	}
	w.cutHeader()
	return rest
}

// cutHeader ends a header section held back that is longer than the
// limit: after its last line end within the limit, or at the limit.
func (w *Writer) cutHeader() {
	h, limit := w.head.buf, w.cfg.HeaderLimit
	w.cut = true
	if k := bytes.LastIndexByte(h[:limit], '\n') + 1; k > 0 {
		w.endHeader(k, false, true)
		return
	}
	// One line longer than the limit: broken where its first part and the
	// line end added fit in the limit. (Not between CR and LF: a CR there
	// would have its LF within the limit, a line end found above.)
	w.endHeader(max(limit-2, 1), true, true)
}

// endHeldHeader stores what is still held back when the message ends
// inside its header section: all of it, or cut at the limit.
func (w *Writer) endHeldHeader() {
	if len(w.head.buf) > w.cfg.HeaderLimit {
		w.cutHeader()
		return
	}
	w.endHeader(len(w.head.buf), false, false)
}

// endHeader stores the header section held back. Its first n bytes are
// the header section; lineEnd and emptyLine say that a line end and an
// empty line are inserted after them (a cut); the rest of what is held
// follows. The fields (message.Fields: up to the empty line, or to the
// first line that is no field) are counted for hops and shown to the
// taps, and the fields a submission lacks are added after them, where
// every reader of the header finds them.
func (w *Writer) endHeader(n int, lineEnd, emptyLine bool) {
	h := w.head.buf
	w.head.done = true
	var last []byte // a last field without its line end
	var kept []byte // the fields stored, when Drop took some out
	dropped, pos := false, 0
	fe := message.Fields(h[:n], func(name, field []byte) {
		start := pos
		pos += len(field)
		complete := field[len(field)-1] == '\n'
		if w.drop != nil && complete && w.drop(name, field) {
			if !dropped {
				dropped, kept = true, append([]byte(nil), h[:start]...)
			}
		} else {
			w.fact(name, field)
			if dropped {
				kept = append(kept, field...)
			}
		}
		if !complete {
			last = field // shown to the taps once its line end is known
			return
		}
		for _, t := range w.taps {
			t.Header(field)
		}
	})
	if fe < n && w.signer != nil {
		// A line that is no field ends the header without an empty line:
		// verifiers read such a message in different ways (some refuse
		// it), so a signature would only mislead. No goroutine runs
		// before HeaderEnd, so the signer is just dropped.
		w.taps = slices.DeleteFunc(w.taps, func(t Tap) bool { return t == Tap(w.signer) })
		w.signer = nil
	}
	var added []byte
	if w.add {
		added = w.missing()
	}
	if dropped {
		w.put(kept)
	} else {
		w.put(h[:fe])
	}
	ended := false
	if last != nil {
		if lineEnd || len(added) > 0 {
			w.put(crlf)
			ended = true
			if len(w.taps) > 0 {
				last = append(last[:len(last):len(last)], crlf...)
			}
		}
		for _, t := range w.taps {
			t.Header(last)
		}
	}
	if len(added) > 0 {
		w.put(added)
		if len(w.taps) > 0 {
			message.Fields(added, func(_, f []byte) {
				for _, t := range w.taps {
					t.Header(f)
				}
			})
		}
	}
	for _, t := range w.taps {
		t.HeaderEnd()
	}
	switch {
	case fe < n:
		// A line that is no field ended the fields early: from it on,
		// everything is body, the inserted line ends included.
		w.body(h[fe:n])
		if lineEnd {
			w.body(crlf)
		}
		if emptyLine {
			w.body(crlf)
		}
		w.body(h[n:])
	case emptyLine:
		if lineEnd && !ended {
			w.put(crlf)
		}
		w.put(crlf) // the empty line that ends the header: not body
		w.body(h[n:])
	case bytes.HasPrefix(h[n:], crlf):
		w.put(h[n : n+2])
		w.body(h[n+2:])
	default:
		w.body(h[n:])
	}
	w.head.buf = nil
}

var (
	received  = []byte("Received")
	messageID = []byte("Message-ID")
	date      = []byte("Date")
	from      = []byte("From")
)

// fact notes what intake needs of one field: Received: fields count hops
// (Postfix's hopcount_limit counts them alone; Delivered-To: loops are
// local's to find), and whether Date: and Message-ID: are there.
func (w *Writer) fact(name, field []byte) {
	switch {
	case bytes.EqualFold(name, received):
		w.hops++
	case bytes.EqualFold(name, messageID):
		w.hasMsgID = true
		if w.msgID == "" {
			w.msgID = fieldBody(field)
		}
	case bytes.EqualFold(name, date):
		w.hasDate = true
	case bytes.EqualFold(name, from):
		w.hasFrom = true
	}
}

// fieldBody is a raw field's body, unfolded (RFC 5322 §2.2.3) and trimmed.
func fieldBody(field []byte) string {
	_, v, _ := bytes.Cut(field, []byte(":"))
	if bytes.IndexByte(v, '\n') >= 0 {
		v = bytes.ReplaceAll(v, crlf, nil)
		v = bytes.ReplaceAll(v, []byte("\n"), nil)
	}
	return string(bytes.TrimSpace(v))
}

// missing returns the Date:, Message-ID: and From: fields a submission
// lacks, in the forms Postfix's cleanup adds: the arrival time in the
// server's zone, the queue ID at myhostname, unique as the ID is, and
// the From: the source gave (Source.From, local mail only).
func (w *Writer) missing() []byte {
	var b []byte
	if !w.hasFrom && w.from != "" {
		b = append(b, "From: "...)
		b = append(b, w.from...)
		b = append(b, crlf...)
	}
	if !w.hasDate {
		b = append(b, "Date: "...)
		b = message.AppendDate(b, w.arrival)
		b = append(b, crlf...)
	}
	if !w.hasMsgID {
		id := "<" + string(w.id) + "@" + w.cfg.Hostname + ">"
		b = append(b, "Message-ID: "...)
		b = append(b, id...)
		b = append(b, crlf...)
		w.msgID = id
	}
	return b
}

// checkFields checks that b is one or more whole header fields in CRLF
// form, for Prepend.
func checkFields(b []byte) error {
	if bytes.IndexByte(b, 0) >= 0 {
		return ErrNUL
	}
	for i, c := range b {
		switch {
		case c == '\n' && (i == 0 || b[i-1] != '\r'):
			return ErrBareLF
		case c == '\r' && (i+1 == len(b) || b[i+1] != '\n'):
			return ErrBareCR
		}
	}
	n := 0
	if end := message.Fields(b, func(_, _ []byte) { n++ }); n == 0 || end != len(b) {
		return errors.New("not header fields")
	}
	return nil
}

package esmtp

import (
	"bufio"
	"bytes"
)

// dataWriter writes message data in DATA form. The queue keeps the
// message as it goes on the wire, CRLF line ends and dot-unstuffed, so
// two changes are left for the way out:
//
//   - RFC 5321 §4.5.2 transparency: a line that starts with '.' gets one
//     more.
//   - Lines longer than limit octets (smtp_line_length_limit, without the
//     CRLF) are broken, as Postfix's smtp does, by inserting CRLF and a
//     space: RFC 5321 §4.5.3.1.6 allows 998 octets, and strict servers
//     refuse longer lines. The space makes the rest a continuation
//     line in a header (RFC 5322 §2.2.3 folding) and, in a body, keeps it
//     from being taken for a MIME boundary or a header field, which
//     limits the damage to MIME structure; the space counts towards the
//     limit of the line it starts. The stuffed dot does not count
//     (§4.5.3.1.6). The break can fall inside a multi-byte character,
//     as in Postfix; the alternative, refusing the message, helps nobody.
//
// Lines that need neither go through in runs, so a large message costs a
// few writes and no allocation. A CR at the end of one Write is held
// back until the next shows whether an LF follows, so that a CRLF split
// between writes is not counted as content. Close ends the data with
// the final dot.
type dataWriter struct {
	w      *bufio.Writer
	limit  int  // smtp_line_length_limit; 0: no limit
	col    int  // octets on the current output line, without a stuffed dot
	bol    bool // at the start of a line of the message
	cr     bool // the last Write ended in a CR, not yet written
	folded bool // a line was broken
}

func newDataWriter(w *bufio.Writer, limit int) *dataWriter {
	// A continuation line starts with the space: a limit of 1 would leave
	// no room for text (NewConfig refuses limits that small anyway).
	if limit == 1 {
		limit = 2
	}
	return &dataWriter{w: w, limit: max(limit, 0), bol: true}
}

var (
	crlf      = []byte("\r\n")
	crlfSpace = []byte("\r\n ")
	dotEnd    = []byte(".\r\n")
)

func (d *dataWriter) Write(p []byte) (int, error) {
	n := len(p)
	if d.cr {
		d.cr = false
		if len(p) > 0 && p[0] == '\n' {
			if _, err := d.w.Write(crlf); err != nil {
				return 0, err
			}
			d.col, d.bol = 0, true
			p = p[1:]
		} else if err := d.content([]byte{'\r'}); err != nil {
			return 0, err
		}
	}
	run := 0 // p[run:k] goes out as it is
	k := 0
	for k < len(p) {
		if d.bol {
			// The fast path: a whole line that starts with no dot and
			// fits the limit joins the run.
			if i := bytes.IndexByte(p[k:], '\n'); i >= 0 && p[k] != '.' {
				clen := i
				if i > 0 && p[k+i-1] == '\r' {
					clen--
				}
				if d.limit == 0 || clen <= d.limit {
					k += i + 1
					continue
				}
			}
		}
		if _, err := d.w.Write(p[run:k]); err != nil {
			return 0, err
		}
		next, err := d.line(p[k:])
		if err != nil {
			return 0, err
		}
		k += next
		run = k
	}
	if _, err := d.w.Write(p[run:k]); err != nil {
		return 0, err
	}
	return n, nil
}

// line writes the rest of the current line from p, or all of p when it
// holds no line end, and returns how much of p it took.
func (d *dataWriter) line(p []byte) (int, error) {
	i := bytes.IndexByte(p, '\n')
	if i < 0 {
		text := p
		if len(text) > 0 && text[len(text)-1] == '\r' {
			text, d.cr = text[:len(text)-1], true
		}
		return len(p), d.content(text)
	}
	text, eol := p[:i], p[i:i+1]
	if i > 0 && p[i-1] == '\r' {
		text, eol = p[:i-1], p[i-1:i+1]
	}
	if err := d.content(text); err != nil {
		return 0, err
	}
	if _, err := d.w.Write(eol); err != nil {
		return 0, err
	}
	d.col, d.bol = 0, true
	return i + 1, nil
}

// content writes text that holds no line end: stuffed, and broken where
// it would pass the limit. A line that fills the limit exactly is broken
// only when more text follows, not before its CRLF.
func (d *dataWriter) content(text []byte) error {
	if len(text) == 0 {
		return nil
	}
	if d.bol {
		d.bol = false
		if text[0] == '.' {
			if err := d.w.WriteByte('.'); err != nil {
				return err
			}
		}
	}
	for d.limit > 0 && d.col+len(text) > d.limit {
		room := d.limit - d.col
		if _, err := d.w.Write(text[:room]); err != nil {
			return err
		}
		text = text[room:]
		if _, err := d.w.Write(crlfSpace); err != nil {
			return err
		}
		d.col, d.folded = 1, true
	}
	_, err := d.w.Write(text)
	d.col += len(text)
	return err
}

// Close writes the final dot, on a line of its own: after a CRLF that
// a message without a final line end (none should reach the queue so)
// does not have.
func (d *dataWriter) Close() error {
	if d.cr {
		d.cr = false
		if err := d.content([]byte{'\r'}); err != nil {
			return err
		}
	}
	if !d.bol {
		if _, err := d.w.Write(crlf); err != nil {
			return err
		}
		d.col, d.bol = 0, true
	}
	_, err := d.w.Write(dotEnd)
	return err
}

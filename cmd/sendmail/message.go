package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
)

// errMessage is a message sendmail refuses (EX_DATAERR).
var errMessage = errors.New("message refused")

// input reads the message from standard input line by line, as
// sendmail(1) defines it: a line with only "." ends it unless -i, a
// leading "From " line (a Unix mailbox separator) is dropped, line ends
// become LF. Every line it returns ends in LF.
type input struct {
	r          *bufio.Reader
	ignoreDots bool
	limit      int64 // message_size_limit
	n          int64
	line       int
	done       bool
}

func newInput(r io.Reader, ignoreDots bool, limit int64) *input {
	return &input{r: bufio.NewReaderSize(r, 64<<10), ignoreDots: ignoreDots, limit: limit}
}

// next returns the next line, or io.EOF at the end of the message.
func (in *input) next() ([]byte, error) {
	if in.done {
		return nil, io.EOF
	}
	for {
		line, err := in.r.ReadBytes('\n')
		if len(line) == 0 && err != nil {
			in.done = true
			if err == io.EOF {
				return nil, io.EOF
			}
			return nil, err
		}
		in.line++
		if err == nil {
			line = line[:len(line)-1]
		} else if err != io.EOF {
			return nil, err
		}
		// Carriage returns before the line end are line end: CRLF
		// becomes LF, and so do the CRCRLF some PHP scripts write.
		line = bytes.TrimRight(line, "\r")
		if bytes.IndexByte(line, '\r') >= 0 {
			return nil, fmt.Errorf("%w: line %d has a carriage return inside it", errMessage, in.line)
		}
		if bytes.IndexByte(line, 0) >= 0 {
			return nil, fmt.Errorf("%w: line %d has a NUL byte", errMessage, in.line)
		}
		if !in.ignoreDots && len(line) == 1 && line[0] == '.' {
			in.done = true
			return nil, io.EOF
		}
		if in.line == 1 && bytes.HasPrefix(line, []byte("From ")) {
			continue
		}
		in.n += int64(len(line)) + 2 // as stored, with CRLF
		if in.n > in.limit {
			return nil, fmt.Errorf("%w: message larger than message_size_limit (%d bytes)", errMessage, in.limit)
		}
		return append(line, '\n'), nil
	}
}

// header is a message's header section as read: raw lines grouped into
// fields, and the line that ended it (the empty line, or the first body
// line when no empty line came).
type header struct {
	fields [][]byte // each field's raw lines, LF-terminated
	end    []byte   // the line that ended the header; nil at EOF
}

// readHeader reads the header section, at most limit bytes of it; past
// that, or at a line that is no field, the header ends and that line
// starts the body.
func readHeader(in *input, limit int) (*header, error) {
	h := &header{}
	size := 0
	for {
		line, err := in.next()
		if err == io.EOF {
			return h, nil
		}
		if err != nil {
			return nil, err
		}
		size += len(line)
		switch {
		case size > limit:
			h.end = line
			return h, nil
		case (line[0] == ' ' || line[0] == '\t') && len(h.fields) > 0:
			last := len(h.fields) - 1
			h.fields[last] = append(h.fields[last], line...)
		case fieldName(line) != "":
			h.fields = append(h.fields, line)
		default:
			h.end = line
			return h, nil
		}
	}
}

// fieldName is the name of the field a line starts ("" if it starts
// none: RFC 5322 §3.6.8 field names are printable ASCII but colon).
func fieldName(line []byte) string {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return ""
	}
	for _, c := range line[:i] {
		if c < '!' || c > '~' {
			return ""
		}
	}
	return string(line[:i])
}

// fieldBody is a field's body, unfolded.
func fieldBody(f []byte) string {
	_, v, _ := bytes.Cut(f, []byte(":"))
	return strings.TrimSpace(strings.ReplaceAll(string(v), "\n", ""))
}

// extract finds the recipients of -t and removes the Bcc: fields. As in
// Postfix, the Resent- fields are used instead of To:, Cc: and Bcc: when
// the message has any (it is being resent), and every Bcc: and
// Resent-Bcc: goes, so no recipient sees who else got a blind copy.
func (h *header) extract() ([]string, error) {
	resent := false
	for _, f := range h.fields {
		switch strings.ToLower(fieldName(f)) {
		case "resent-to", "resent-cc", "resent-bcc":
			resent = true
		}
	}
	var rcpts []string
	kept := h.fields[:0]
	for _, f := range h.fields {
		name := strings.ToLower(fieldName(f))
		want := name == "to" || name == "cc" || name == "bcc"
		if resent {
			want = name == "resent-to" || name == "resent-cc" || name == "resent-bcc"
		}
		if want {
			list, err := parseList(fieldBody(f))
			if err != nil {
				return nil, fmt.Errorf("%s: %w", fieldName(f), err)
			}
			rcpts = append(rcpts, list...)
		}
		if name != "bcc" && name != "resent-bcc" {
			kept = append(kept, f)
		}
	}
	h.fields = kept
	return rcpts, nil
}

// writeTo writes the header as it now is.
func (h *header) writeTo(w io.Writer) error {
	for _, f := range h.fields {
		if _, err := w.Write(f); err != nil {
			return err
		}
	}
	if h.end != nil {
		if _, err := w.Write(h.end); err != nil {
			return err
		}
	}
	return nil
}

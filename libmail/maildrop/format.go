package maildrop

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// Magic is the first line of every maildrop file.
const Magic = "postern-maildrop 1"

// Bounds on what a reader accepts from a file.
const (
	MaxLine       = 4096  // one envelope line, its newline included
	MaxRecipients = 10000 // recipients of one file
)

// ErrFormat marks a file that is not a well-formed maildrop file.
var ErrFormat = errors.New("malformed maildrop file")

// Envelope is what sendmail asks for, besides the message. Only the
// recipients are certain; the sender is a request that pickup honours
// for trusted users only.
type Envelope struct {
	HasSender  bool   // -f or -r was given
	Sender     string // their value; "" with HasSender is the null sender
	FullName   string // -F: the name in a From: field pickup adds
	EnvID      string // -V: RFC 3461 ENVID
	Ret        string // -R: FULL or HDRS
	Body       string // -B: 7BIT or 8BITMIME
	Recipients []Recipient
}

// Recipient is one recipient with its RFC 3461 NOTIFY request (-N, or
// RCPT's NOTIFY under -bs): NEVER, a comma list of SUCCESS, FAILURE and
// DELAY, or "" for the default.
type Recipient struct {
	Addr   string
	Notify string
}

// WriteEnvelope writes the file's text up to the message, the empty line
// included.
func WriteEnvelope(w io.Writer, e *Envelope) error {
	if len(e.Recipients) == 0 {
		return errors.New("maildrop: no recipients")
	}
	var b bytes.Buffer
	b.WriteString(Magic + "\n")
	if e.HasSender {
		fmt.Fprintf(&b, "sender %s\n", strconv.Quote(e.Sender))
	}
	for _, kv := range []struct{ k, v string }{{"fullname", e.FullName}, {"envid", e.EnvID}, {"ret", e.Ret}, {"body", e.Body}} {
		if kv.v != "" {
			fmt.Fprintf(&b, "%s %s\n", kv.k, strconv.Quote(kv.v))
		}
	}
	for _, r := range e.Recipients {
		if r.Notify != "" {
			fmt.Fprintf(&b, "rcpt %s %s\n", strconv.Quote(r.Addr), strconv.Quote(r.Notify))
		} else {
			fmt.Fprintf(&b, "rcpt %s\n", strconv.Quote(r.Addr))
		}
	}
	b.WriteString("\n")
	_, err := w.Write(b.Bytes())
	return err
}

// ReadEnvelope reads the text up to the message and leaves r at its
// first byte. Nothing in it is trusted: every line is bounded, unknown
// and repeated keys are refused, and the values are checked only for
// their form (the caller checks addresses).
func ReadEnvelope(r *bufio.Reader) (*Envelope, error) {
	line, err := readLine(r)
	if err != nil {
		return nil, err
	}
	if line != Magic {
		return nil, fmt.Errorf("%w: first line is not %q", ErrFormat, Magic)
	}
	e := &Envelope{}
	seen := map[string]bool{}
	for {
		line, err := readLine(r)
		if err != nil {
			return nil, err
		}
		if line == "" {
			break
		}
		key, raw, ok := strings.Cut(line, " ")
		if !ok {
			return nil, fmt.Errorf("%w: line %q has no value", ErrFormat, clip(line))
		}
		vals, err := unquoteAll(raw)
		if err != nil || len(vals) > 2 || len(vals) == 2 && key != "rcpt" {
			return nil, fmt.Errorf("%w: bad value in %q", ErrFormat, clip(line))
		}
		v := vals[0]
		if key != "rcpt" {
			if seen[key] {
				return nil, fmt.Errorf("%w: %s given twice", ErrFormat, key)
			}
			seen[key] = true
		}
		switch key {
		case "sender":
			e.HasSender, e.Sender = true, v
		case "fullname":
			e.FullName = v
		case "envid":
			e.EnvID = v
		case "ret":
			if v != "FULL" && v != "HDRS" {
				return nil, fmt.Errorf("%w: ret %q", ErrFormat, clip(v))
			}
			e.Ret = v
		case "body":
			if v != "7BIT" && v != "8BITMIME" {
				return nil, fmt.Errorf("%w: body %q", ErrFormat, clip(v))
			}
			e.Body = v
		case "rcpt":
			if len(e.Recipients) >= MaxRecipients {
				return nil, fmt.Errorf("%w: more than %d recipients", ErrFormat, MaxRecipients)
			}
			if v == "" {
				return nil, fmt.Errorf("%w: empty recipient", ErrFormat)
			}
			r := Recipient{Addr: v}
			if len(vals) == 2 {
				if !ValidNotify(vals[1]) {
					return nil, fmt.Errorf("%w: notify %q", ErrFormat, clip(vals[1]))
				}
				r.Notify = vals[1]
			}
			e.Recipients = append(e.Recipients, r)
		default:
			return nil, fmt.Errorf("%w: unknown key %q", ErrFormat, clip(key))
		}
	}
	if len(e.Recipients) == 0 {
		return nil, fmt.Errorf("%w: no recipients", ErrFormat)
	}
	return e, nil
}

// unquoteAll reads the quoted strings of a line, separated by single
// spaces; none may hold a NUL, CR or LF.
func unquoteAll(raw string) ([]string, error) {
	var vals []string
	for {
		q, err := strconv.QuotedPrefix(raw)
		if err != nil {
			return nil, err
		}
		v, err := strconv.Unquote(q)
		if err != nil || strings.ContainsAny(v, "\x00\r\n") {
			return nil, ErrFormat
		}
		vals = append(vals, v)
		raw = raw[len(q):]
		if raw == "" {
			return vals, nil
		}
		if raw[0] != ' ' || len(vals) == 2 {
			return nil, ErrFormat
		}
		raw = raw[1:]
	}
}

// ValidNotify reports whether v is an RFC 3461 NOTIFY value: NEVER, or
// a list of SUCCESS, FAILURE and DELAY without repeats.
func ValidNotify(v string) bool {
	if v == "NEVER" {
		return true
	}
	seen := map[string]bool{}
	for _, w := range strings.Split(v, ",") {
		if (w != "SUCCESS" && w != "FAILURE" && w != "DELAY") || seen[w] {
			return false
		}
		seen[w] = true
	}
	return true
}

// readLine reads one envelope line of at most MaxLine bytes, without its
// newline.
func readLine(r *bufio.Reader) (string, error) {
	var b []byte
	for {
		chunk, err := r.ReadSlice('\n')
		b = append(b, chunk...)
		if len(b) > MaxLine {
			return "", fmt.Errorf("%w: envelope line longer than %d bytes", ErrFormat, MaxLine)
		}
		switch {
		case err == nil:
			return string(b[:len(b)-1]), nil
		case errors.Is(err, bufio.ErrBufferFull):
			continue
		case errors.Is(err, io.EOF):
			return "", fmt.Errorf("%w: file ends inside the envelope", ErrFormat)
		default:
			return "", err
		}
	}
}

// clip shortens what a log line quotes from a hostile file.
func clip(s string) string {
	if len(s) > 64 {
		s = s[:64] + "..."
	}
	return s
}

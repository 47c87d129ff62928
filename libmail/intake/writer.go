package intake

import (
	"crypto/tls"
	"errors"
	"fmt"
	"time"

	"postern.dev/postern/libmail/dkim"
	"postern.dev/postern/libmail/queue"
)

// Why a message is refused. The protocol layer turns them into its
// replies (smtpd: 554 5.6.0, 552 5.3.4, 554 5.4.6); any other error from
// a Writer is the queue's (a write error: 451 4.3.0).
var (
	ErrBareLF = errors.New("bare LF in the message")
	ErrBareCR = errors.New("bare CR in the message")
	ErrNUL    = errors.New("NUL in the message")
	ErrTooBig = errors.New("message larger than message_size_limit")
	ErrHops   = errors.New("too many hops: more Received: fields than hopcount_limit")
)

// DefaultHopLimit is Postfix's hopcount_limit: more Received: fields than
// this means a mail loop.
const DefaultHopLimit = 50

// Config is what intake needs from the parameters; one serves every
// message of a server.
type Config struct {
	Hostname    string // myhostname: Received:'s "by", and Message-ID:'s right side
	MailName    string // mail_name: the comment after "by"
	SizeLimit   int64  // message_size_limit: the most bytes a source may send
	HeaderLimit int    // header_size_limit: past it the rest is body
	HopLimit    int    // the most Received: fields; 0 means DefaultHopLimit
	// DKIM holds the keys (dkim_signing_keys) that sign the messages of
	// sources that ask for it (Source.Sign); nil: none.
	DKIM *dkim.Keys
}

// LineEnds says how a source ends its lines.
type LineEnds int

const (
	// StrictCRLF is SMTP's: every line ends in CRLF (RFC 5321 §2.3.8), and
	// a bare CR or LF refuses the whole message, so that the sequences of
	// SMTP smuggling can mean nothing downstream.
	StrictCRLF LineEnds = iota
	// LF is a local submission's: lines end in LF, as Unix programs write
	// them, or in CRLF; both are stored as CRLF. A CR that does not end a
	// line still refuses the message: the queue holds CRLF lines only.
	LF
)

// Source is what intake needs to know of one message's origin besides
// its envelope.
type Source struct {
	LineEnds LineEnds
	// TLS is the session's TLS state, named in Received: "(using ...)".
	TLS *tls.ConnectionState
	// AddMissing asks for Date: and Message-ID: when the message has none:
	// for submissions and local mail, whose sender is the originator's
	// agent (RFC 6409 §8.2, §8.3; RFC 5321 §6.4 allows it to "an SMTP
	// server ... used as the target of ... an initial posting" and forbids
	// it to relays).
	AddMissing bool
	// From is the From: field body added, with AddMissing, to a message
	// that has no From: (local mail, as Postfix's cleanup does: the
	// sender, with the full name sendmail -F or the password file gave);
	// "" adds none.
	From string
	// UID is the submitting user's ID for a local submission (an envelope
	// without ClientAddr), named in Received: as Postfix's pickup does.
	UID int
	// Sign asks for DKIM signatures (RFC 6376) by the keys of the From:
	// domain in Config.DKIM: for mail whose sender the server vouches
	// for, that of authenticated clients, of clients in mynetworks, and
	// local submissions. The body is hashed as it streams in, and End
	// prepends the signatures. A message with no key for its From:
	// domain, or whose header is not ended by an empty line (a line that
	// is no field ends it), is not signed.
	Sign bool
	// Taps see the message as it streams through (see Tap).
	Taps []Tap
	// Drop, when set, says which of the source's header fields are not
	// stored: Authentication-Results: fields that claim this server's
	// authserv-id, which only this server may write (RFC 8601 §5). Taps
	// still see them, as received: a DKIM signature may cover them.
	Drop func(name, field []byte) bool
}

// Writer takes one message into a queue entry. The protocol layer feeds
// it the message bytes as they arrive, in pieces of any size (Write), then
// calls End, may Prepend header fields decided at the end, and calls
// Commit, or Abort.
type Writer struct {
	q       entry
	cfg     *Config
	id      queue.ID
	arrival time.Time
	lines   LineEnds
	add     bool
	from    string // Source.From
	taps    []Tap
	drop    func(name, field []byte) bool
	signer  *dkim.Signer // one of taps, for Source.Sign

	size   int64 // bytes the source sent
	err    error // the first problem; the rest of the message is only counted
	prevCR bool  // the last piece ended in CR
	ended  bool  // End was called

	head     header
	hops     int    // Received: fields, the one intake adds included
	msgID    string // the first non-empty Message-ID:, or the one added
	hasMsgID bool
	hasDate  bool
	hasFrom  bool
	cut      bool // the header was ended at header_size_limit
	closed   bool // Commit or Abort was called
}

// Create starts queue entry id with env and writes the Received: field
// (RFC 5321 §4.4) that heads every message taken in. Received: names the
// envelope's facts: the HELO name, the client, the protocol (with the
// transmission type of RFC 3848 and RFC 6531 §3.7.3), the queue ID, the
// recipient when there is only one, and the arrival time.
func Create(spool *queue.Spool, id queue.ID, env *queue.Envelope, cfg *Config, src *Source) (*Writer, error) {
	q, err := spool.Create(id, env)
	if err != nil {
		return nil, err
	}
	return newWriter(q, id, env, cfg, src), nil
}

// entry is where a Writer stores the message: a *queue.Writer, or a
// buffer in tests.
type entry interface {
	Write(p []byte) (int, error)
	Prepend(field []byte) error
	Record(recs ...queue.Record)
	Commit() error
	Abort()
}

func newWriter(q entry, id queue.ID, env *queue.Envelope, cfg *Config, src *Source) *Writer {
	w := &Writer{q: q, cfg: cfg, id: id, arrival: env.Arrival, lines: src.LineEnds, add: src.AddMissing, from: src.From, taps: src.Taps, drop: src.Drop}
	if src.Sign && cfg.DKIM.Len() > 0 {
		w.signer = dkim.NewSigner(cfg.DKIM)
		w.taps = append(w.taps[:len(w.taps):len(w.taps)], w.signer)
	}
	rec := appendReceived(make([]byte, 0, 320), cfg, env, id, src)
	w.put(rec)
	for _, t := range w.taps {
		t.Header(rec)
	}
	w.hops = 1
	return w
}

// ID returns the message's queue ID.
func (w *Writer) ID() queue.ID { return w.id }

// Write takes the next bytes of the message: for SMTP, dot-unstuffed
// (RFC 5321 §4.5.2), without the final "." line. It never fails, so a
// caller can always read on to the end of the message and answer once:
// the first problem is kept, and End returns it; after it the bytes are
// only counted.
func (w *Writer) Write(p []byte) (int, error) {
	n := len(p)
	if n == 0 || w.ended {
		return n, nil
	}
	w.size += int64(n)
	if w.err != nil {
		return n, nil
	}
	if over := w.size - w.cfg.SizeLimit; over > 0 {
		// A problem within the limit comes first, as it would if the
		// source had sent the piece in two.
		if within := p[:max(0, int64(n)-over)]; len(within) > 0 {
			w.valid(within)
		}
		w.fail(ErrTooBig)
		return n, nil
	}
	if w.valid(p) {
		if w.lines == LF {
			w.writeLF(p)
		} else {
			w.stream(p)
		}
	}
	return n, nil
}

// Err returns the first problem found so far, for a protocol layer that
// refuses the rest of a message early (BDAT chunks after a bad one).
func (w *Writer) Err() error { return w.err }

// End says the message is complete. It ends a header section that was
// still held back, checks the hop count, tells the taps, and returns why
// the message must be refused, if it must.
func (w *Writer) End() error {
	if w.ended {
		return w.err
	}
	w.ended = true
	if w.err == nil && w.prevCR {
		w.fail(ErrBareCR) // the last piece ended in a CR without its LF
	}
	if w.err == nil && !w.head.done {
		w.endHeldHeader()
	}
	if w.err == nil && w.hops > w.hopLimit() {
		w.fail(ErrHops)
	}
	if w.err == nil {
		for _, t := range w.taps {
			t.End()
		}
		w.sign()
	}
	return w.err
}

// sign prepends the DKIM-Signature fields the signer made, if any. A
// failure to sign refuses the message for now (a write error to the
// protocol layer: 451): mail that was to be signed must not leave
// unsigned, where its domain's DMARC policy may have it rejected.
func (w *Writer) sign() {
	if w.signer == nil {
		return
	}
	fields, err := w.signer.Fields()
	if err != nil {
		w.fail(fmt.Errorf("intake %s: %w", w.id, err))
		return
	}
	if fields == "" {
		return
	}
	if err := w.q.Prepend([]byte(fields)); err != nil {
		w.fail(fmt.Errorf("intake %s: dkim: %w", w.id, err))
	}
}

// DKIMKeys returns the keys that signed the message (Source.Sign), for
// the log. Valid after End.
func (w *Writer) DKIMKeys() []*dkim.Key {
	if w.signer == nil || w.err != nil {
		return nil
	}
	return w.signer.Keys()
}

func (w *Writer) hopLimit() int {
	if w.cfg.HopLimit > 0 {
		return w.cfg.HopLimit
	}
	return DefaultHopLimit
}

// MessageID returns the message's Message-ID: field body, or the one
// intake added, for the log; "" if it has none. Valid after End.
func (w *Writer) MessageID() string { return w.msgID }

// HeaderCut reports whether the header section was longer than
// header_size_limit and ended there (the rest is body). Valid after End.
func (w *Writer) HeaderCut() bool { return w.cut }

// Prepend adds header fields decided once the whole message is in, such
// as Authentication-Results: or DKIM-Signature:, on top of the message.
// They are stored with the entry in the same commit (see
// queue.Writer.Prepend); each call puts its fields above those of earlier
// calls. field holds one or more whole fields, lines separated by CRLF,
// with or without the final CRLF. Taps do not see them.
func (w *Writer) Prepend(field string) error {
	if !w.ended {
		return fmt.Errorf("intake %s: Prepend before End", w.id)
	}
	if w.err != nil {
		return w.err
	}
	b := []byte(field)
	if len(b) < 2 || b[len(b)-2] != '\r' || b[len(b)-1] != '\n' {
		b = append(b, crlf...)
	}
	if err := checkFields(b); err != nil {
		return fmt.Errorf("intake %s: prepend: %w", w.id, err)
	}
	return w.q.Prepend(b)
}

// Quarantine marks the message for its recipients' Junk folders (DMARC
// p=quarantine, say): the entry carries the reason from its commit on
// (queue.QuarantineRecord), and local delivers to the Junk folder
// instead of the inbox. Valid after End.
func (w *Writer) Quarantine(reason string) error {
	if !w.ended {
		return fmt.Errorf("intake %s: Quarantine before End", w.id)
	}
	if w.err != nil {
		return w.err
	}
	w.q.Record(queue.QuarantineRecord{Reason: reason})
	return nil
}

// Commit stores the message, its prepended fields with it, durably (see
// queue.Writer.Commit). It calls End if the caller did not, and commits
// nothing if End reports a problem. On error the entry is gone.
func (w *Writer) Commit() error {
	if err := w.End(); err != nil {
		w.Abort()
		return err
	}
	w.closed = true
	if err := w.q.Commit(); err != nil {
		return fmt.Errorf("intake %s: %w", w.id, err)
	}
	return nil
}

// Abort discards the message. Taps that hold resources until End are
// told (Aborter).
func (w *Writer) Abort() {
	if !w.closed {
		w.closed = true
		w.q.Abort()
		for _, t := range w.taps {
			if a, ok := t.(Aborter); ok {
				a.Abort()
			}
		}
	}
	w.fail(errors.New("message aborted"))
}

func (w *Writer) fail(err error) {
	if w.err == nil {
		w.err = err
	}
}

// put stores bytes of the message.
func (w *Writer) put(p []byte) {
	if _, err := w.q.Write(p); err != nil {
		w.fail(fmt.Errorf("intake %s: %w", w.id, err))
	}
}

// body stores bytes of the body and shows them to the taps.
func (w *Writer) body(p []byte) {
	if len(p) == 0 {
		return
	}
	w.put(p)
	for _, t := range w.taps {
		t.Body(p)
	}
}

// stream passes checked bytes in CRLF form on: into the header held back
// until its end is known, then to the body.
func (w *Writer) stream(p []byte) {
	if len(p) == 0 {
		return
	}
	if !w.head.done {
		if p = w.collect(p); len(p) == 0 {
			return
		}
	}
	w.body(p)
}

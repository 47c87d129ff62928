package downgrade

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"mime"
	"strings"
)

// MaxDepth is how deep multiparts and message/rfc822 parts are walked
// into, Postfix's default mime_nesting_limit. A composite part deeper
// than that is opaque: left alone if it is 7-bit, not convertible if not.
const MaxDepth = 100

const (
	readSize    = 64 << 10 // longest input line seen whole; longer ones come in pieces
	fieldCap    = 8 << 10  // octets of a Content-Type or Content-Transfer-Encoding field kept
	maxBoundary = 200      // RFC 2046 §5.1.1 allows 70; some senders use more
)

// Plan is what Scan found, and what Write does with a message.
type Plan struct {
	// EightBit says whether the message has an octet over 127 at all.
	// Without one, the message can go to any server as it is.
	EightBit bool
	// Reason says why the message cannot be converted ("8-bit octets in
	// a message header"); "" when it can.
	Reason string

	acts []action // per entity, in the order the walk meets them
}

// action is what Write does to one entity (the message, a body part,
// the message inside a message/rfc822 part).
type action uint8

const (
	actQP          action = 1 << iota // encode the content as quoted-printable
	act7bit                           // relabel as 7bit
	actMIMEVersion                    // add MIME-Version: 1.0 (a message, top-level or in message/rfc822, without it gets a label)
)

// errStop ends a scan that found the message not convertible.
var errStop = errors.New("downgrade: not convertible")

// ErrPlan means Write met a message other than the one the plan was
// made for.
var ErrPlan = errors.New("downgrade: the message does not fit the plan")

// Scan reads a message in SMTP wire form (CRLF line ends, not
// dot-stuffed) and plans its conversion. The error is r's.
func Scan(r io.Reader) (*Plan, error) {
	w := newWalker(r, nil, &Plan{})
	w.entity(0, "text/plain", true)
	if w.err != nil && w.err != errStop {
		return nil, w.err
	}
	return w.plan, nil
}

// Write copies the message from r to out, converted as p says. p must
// come from Scan of the same message, convertible (Reason ""). Errors
// are out's and r's, or ErrPlan.
func Write(out io.Writer, r io.Reader, p *Plan) error {
	if p.Reason != "" {
		return fmt.Errorf("downgrade: %s", p.Reason)
	}
	w := newWalker(r, out, p)
	w.entity(0, "text/plain", true)
	if w.err == nil && w.next != len(p.acts) {
		w.err = ErrPlan
	}
	return w.err
}

// walker walks the MIME structure of a message line by line. Scanning
// (out nil) it records an action per entity; writing, it copies the
// input to out and applies them.
type walker struct {
	r    *bufio.Reader
	out  io.Writer
	plan *Plan
	next int      // writing: the entity whose action comes next
	err  error    // the first error; it ends the walk
	bnds [][]byte // "--boundary" of each enclosing multipart, innermost last

	// The piece of input at hand: a line with its line end, a part of a
	// line longer than the reader's buffer, or the last octets of a
	// message without a final line end.
	piece  []byte
	loaded bool // piece is read and not yet consumed
	start  bool // piece starts a line
	full   bool // piece ends a line
	eof    bool
	bol    bool // the next piece starts a line

	qp  qpEncoder
	enc []byte // the encoded piece
}

func newWalker(r io.Reader, out io.Writer, p *Plan) *walker {
	return &walker{r: bufio.NewReaderSize(r, readSize), out: out, plan: p, bol: true}
}

// fill reads the next piece unless one is at hand. It reports false at
// the end of the input or after an error.
func (w *walker) fill() bool {
	if w.err != nil || w.eof {
		return false
	}
	if w.loaded {
		return true
	}
	line, err := w.r.ReadSlice('\n')
	switch {
	case err == nil, err == bufio.ErrBufferFull:
	case err == io.EOF:
		if len(line) == 0 {
			w.eof = true
			return false
		}
	default:
		w.err = err
		return false
	}
	w.piece, w.loaded, w.start = line, true, w.bol
	w.full = line[len(line)-1] == '\n'
	return true
}

// consume is done with the piece at hand.
func (w *walker) consume() {
	w.loaded = false
	w.bol = w.full
}

func (w *walker) emit(b []byte) {
	if w.out == nil || w.err != nil || len(b) == 0 {
		return
	}
	if _, err := w.out.Write(b); err != nil {
		w.err = err
	}
}

// pass copies the piece at hand and consumes it.
func (w *walker) pass() {
	w.emit(w.piece)
	w.consume()
}

// stop records why the message cannot be converted and ends the scan.
func (w *walker) stop(reason string) {
	if w.plan.Reason == "" {
		w.plan.Reason = reason
	}
	w.err = errStop
}

// boundary reports whether the piece at hand is a delimiter line of an
// enclosing multipart (RFC 2046 §5.1.1: "--" boundary, "--" more for the
// close delimiter, then transport padding), and whose: the index into
// bnds.
func (w *walker) boundary() (idx int, closing, ok bool) {
	if !w.start || !w.full || len(w.bnds) == 0 || !bytes.HasPrefix(w.piece, dashes) {
		return 0, false, false
	}
	line := bytes.TrimRight(w.piece, "\r\n")
	for i := len(w.bnds) - 1; i >= 0; i-- {
		rest, found := bytes.CutPrefix(line, w.bnds[i])
		if !found {
			continue
		}
		rest, closing = bytes.CutPrefix(rest, dashes)
		if len(bytes.Trim(rest, " \t")) == 0 {
			return i, closing, true
		}
	}
	return 0, false, false
}

var dashes = []byte("--")

// atEnd reports whether the walk of a part's content must stop here: at
// the end of the input, after an error, or at a boundary line.
func (w *walker) atEnd() bool {
	if !w.fill() {
		return true
	}
	_, _, ok := w.boundary()
	return ok
}

// open starts an entity and returns its index in the plan and, when
// writing, its action.
func (w *walker) open() (int, action) {
	if w.out == nil {
		w.plan.acts = append(w.plan.acts, 0)
		return len(w.plan.acts) - 1, 0
	}
	if w.next >= len(w.plan.acts) {
		w.err = ErrPlan
		return 0, 0
	}
	w.next++
	return w.next - 1, w.plan.acts[w.next-1]
}

// header is what an entity's header says about its content.
type header struct {
	ctype, cte []byte // the first Content-Type and Content-Transfer-Encoding fields, as they were
	mimeVer    bool   // it has MIME-Version
	eightBit   bool   // a field has an octet over 127
}

// Field kinds, for the header walk.
const (
	fOther = iota
	fType
	fEncoding
)

// entity walks one entity from its header on: the message, a body part,
// or the message in a message/rfc822 part (message is true for the
// first and the last: their header is a message's, where a label needs
// MIME-Version, RFC 2045 §4). It returns at the end of the
// input or at a boundary line of an enclosing multipart, which it leaves
// at hand.
func (w *walker) entity(depth int, defType string, message bool) {
	id, act := w.open()
	var h header
	field, keep := fOther, false // the field at hand; keep: it is the first of its kind
	blank := false               // the header ended with its empty line
	for w.fill() {
		if w.start {
			if _, _, ok := w.boundary(); ok {
				break
			}
			if isBlank(w.piece) {
				blank = true
				break
			}
			if w.piece[0] != ' ' && w.piece[0] != '\t' {
				name, ok := fieldName(w.piece)
				if !ok {
					break // not a header field: the content begins without an empty line
				}
				field, keep = fOther, false
				switch {
				case strings.EqualFold(name, "Content-Type"):
					field, keep = fType, h.ctype == nil
				case strings.EqualFold(name, "Content-Transfer-Encoding"):
					field, keep = fEncoding, h.cte == nil
				case strings.EqualFold(name, "MIME-Version"):
					h.mimeVer = true
				}
			}
		}
		if has8(w.piece) {
			h.eightBit = true
		}
		if keep {
			switch field {
			case fType:
				h.ctype = appendCap(h.ctype, w.piece)
			case fEncoding:
				h.cte = appendCap(h.cte, w.piece)
			}
		}
		if field == fEncoding && act&(actQP|act7bit) != 0 {
			w.consume() // replaced below
			continue
		}
		w.pass()
	}
	if w.err != nil {
		return
	}
	if h.eightBit && w.out == nil {
		w.plan.EightBit = true
		w.stop("8-bit octets in a message header")
		return
	}
	if act != 0 {
		if act&actMIMEVersion != 0 {
			w.emit([]byte("MIME-Version: 1.0\r\n"))
		}
		if act&actQP != 0 {
			w.emit([]byte("Content-Transfer-Encoding: quoted-printable\r\n"))
		} else if act&act7bit != 0 {
			w.emit([]byte("Content-Transfer-Encoding: 7bit\r\n"))
		}
		if !blank {
			w.emit([]byte("\r\n"))
		}
	}
	if blank {
		w.pass()
	}

	k := classify(&h, defType, depth)
	if w.out == nil && k.composite() && (k.cte == "8bit" || k.cte == "binary") {
		w.plan.acts[id] |= act7bit
	}
	switch k.kind {
	case kindMultipart:
		w.multipart(depth, k.boundary, k.digest)
	case kindMessage:
		w.entity(depth+1, "text/plain", true)
	default:
		w.leaf(id, act, &h, message, k)
	}
}

// multipart walks the content of a multipart: preamble, body parts,
// close delimiter, epilogue.
func (w *walker) multipart(depth int, boundary string, digest bool) {
	me := len(w.bnds)
	w.bnds = append(w.bnds, append([]byte("--"), boundary...))
	defer func() { w.bnds = w.bnds[:me] }()
	w.text("a multipart preamble")
	for w.fill() {
		i, closing, _ := w.boundary()
		if i != me {
			return // an enclosing multipart's boundary ends this one too
		}
		w.pass()
		if closing {
			// Past the close delimiter, this boundary is text again.
			w.bnds = w.bnds[:me]
			w.text("a multipart epilogue")
			return
		}
		def := "text/plain"
		if digest {
			def = "message/rfc822" // RFC 2046 §5.1.5
		}
		w.entity(depth+1, def, false)
	}
}

// text copies lines up to a boundary; it cannot be converted.
func (w *walker) text(where string) {
	for !w.atEnd() {
		if w.out == nil && has8(w.piece) {
			w.plan.EightBit = true
			w.stop("8-bit octets in " + where)
			return
		}
		w.pass()
	}
}

// leaf walks the content of a part that is not walked into: converted
// to quoted-printable when it is 8-bit and may be, copied otherwise.
func (w *walker) leaf(id int, act action, h *header, message bool, k class) {
	if w.out != nil {
		w.qp = qpEncoder{}
		for !w.atEnd() {
			if act&actQP != 0 {
				w.enc = w.qp.encode(w.enc[:0], w.piece, w.full)
				w.emit(w.enc)
				w.consume()
				continue
			}
			w.pass()
		}
		if w.qp.col != 0 {
			// The content ended inside an encoded line (a bare LF or
			// no line end before the boundary or the end): the line
			// break that follows belongs to the delimiter (RFC 2046
			// §5.1.1) and adds nothing to the content.
			w.emit([]byte("\r\n"))
		}
		return
	}
	eight := false
	for !w.atEnd() {
		eight = eight || has8(w.piece)
		w.consume()
	}
	if w.err != nil {
		return
	}
	switch {
	case eight && k.why != "":
		w.plan.EightBit = true
		w.stop("8-bit octets in " + k.why)
	case eight:
		w.plan.EightBit = true
		w.plan.acts[id] |= actQP
		if message && !h.mimeVer {
			w.plan.acts[id] |= actMIMEVersion
		}
	case k.cte == "8bit" || k.cte == "binary":
		w.plan.acts[id] |= act7bit
	}
}

// Kinds of entity content.
const (
	kindLeaf = iota
	kindMultipart
	kindMessage
)

// class is what the walk does with an entity's content.
type class struct {
	kind     int
	cte      string // the Content-Transfer-Encoding, lower case; "" if none
	boundary string // kindMultipart
	digest   bool   // multipart/digest: parts are message/rfc822 by default
	why      string // a leaf that cannot be encoded: what it is
}

func (k class) composite() bool { return k.kind != kindLeaf }

// classify decides from an entity's header how its content is walked.
func classify(h *header, defType string, depth int) class {
	k := class{cte: encodingOf(h.cte)}
	identity := k.cte == "" || k.cte == "7bit" || k.cte == "8bit" || k.cte == "binary"
	ctype, params := defType, map[string]string(nil)
	if h.ctype != nil {
		t, p, err := mime.ParseMediaType(fieldValue(h.ctype))
		switch {
		case t == "":
			// RFC 2045 §5.2: an unreadable Content-Type is the default.
		case err != nil:
			ctype = t // parameters unreadable: no boundary
		default:
			ctype, params = t, p
		}
	}
	major, _, _ := strings.Cut(ctype, "/")
	switch {
	case major == "multipart":
		b := params["boundary"]
		switch {
		case !identity:
			k.why = "a multipart encoded as " + k.cte
		case b == "" || len(b) > maxBoundary:
			k.why = "a multipart without a usable boundary"
		case depth >= MaxDepth:
			k.why = fmt.Sprintf("MIME parts nested deeper than %d levels", MaxDepth)
		default:
			k.kind, k.boundary, k.digest = kindMultipart, b, ctype == "multipart/digest"
		}
	case ctype == "message/rfc822":
		switch {
		case !identity:
			k.why = "a message/rfc822 part encoded as " + k.cte
		case depth >= MaxDepth:
			k.why = fmt.Sprintf("MIME parts nested deeper than %d levels", MaxDepth)
		default:
			k.kind = kindMessage
		}
	case major == "message" && !strings.HasPrefix(ctype, "message/global"):
		// RFC 2046 §5.2: message/partial and message/external-body must
		// be 7bit, and delivery-status and most others are never
		// encoded; RFC 6532 §3.5 allows it for message/global.
		k.why = "a " + ctype + " part"
	case !identity:
		k.why = "a part encoded as " + k.cte
	}
	return k
}

// encodingOf reads a Content-Transfer-Encoding field: its first word,
// lower case.
func encodingOf(field []byte) string {
	if field == nil {
		return ""
	}
	v := fieldValue(field)
	if i := strings.IndexAny(v, " \t(;"); i >= 0 {
		v = v[:i]
	}
	return strings.ToLower(v)
}

// fieldValue unfolds a field and returns what follows its colon.
func fieldValue(field []byte) string {
	_, v, _ := bytes.Cut(field, []byte(":"))
	v = bytes.ReplaceAll(v, []byte("\r\n"), nil)
	v = bytes.ReplaceAll(v, []byte("\n"), nil)
	return strings.TrimSpace(string(v))
}

// fieldName returns the name of the header field that line starts
// (RFC 5322 §3.6.8: printable ASCII but the colon; §4.5 allows blanks
// before the colon).
func fieldName(line []byte) (string, bool) {
	i := bytes.IndexByte(line, ':')
	if i <= 0 {
		return "", false
	}
	name := bytes.TrimRight(line[:i], " \t")
	if len(name) == 0 {
		return "", false
	}
	for _, c := range name {
		if c < '!' || c > '~' {
			return "", false
		}
	}
	return string(name), true
}

func isBlank(line []byte) bool {
	return len(line) == 2 && line[0] == '\r' && line[1] == '\n' || len(line) == 1 && line[0] == '\n'
}

func appendCap(dst, b []byte) []byte {
	if room := fieldCap - len(dst); len(b) > room {
		b = b[:max(room, 0)]
	}
	if dst == nil {
		dst = make([]byte, 0, len(b))
	}
	return append(dst, b...)
}

func has8(b []byte) bool {
	for _, c := range b {
		if c >= 0x80 {
			return true
		}
	}
	return false
}

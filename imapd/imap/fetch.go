package imap

import (
	"errors"
	"fmt"
	"io"
	"time"
)

// FetchData is what FETCH shows of one message besides its bytes.
type FetchData struct {
	SeqNum, UID  uint32
	Flags        []string
	InternalDate time.Time
	Size         int64  // RFC822.SIZE, so that a FAST fetch opens no file
	ModSeq       uint64 // shown when the items ask for MODSEQ
	// Message is the message's bytes; it may be nil when
	// NeedsMessage(items) is false, or when ENVELOPE is the only item
	// that reads it and Envelope is set.
	Message *Message
	// Envelope, if set, is the ENVELOPE item's value as rendered
	// before (EnvelopeRenderer), written as is.
	Envelope []byte
}

// NeedsMessage tells whether any item reads the message's bytes.
func NeedsMessage(items []FetchItem) bool {
	for _, it := range items {
		switch it.Name {
		case "FLAGS", "UID", "INTERNALDATE", "MODSEQ", "RFC822.SIZE":
		default:
			return true
		}
	}
	return false
}

// SetsSeen tells whether fetching the items sets \Seen (RFC 9051
// §6.4.5): BODY[...] and BINARY[...] without .PEEK, RFC822, RFC822.TEXT.
func SetsSeen(items []FetchItem) bool {
	for _, it := range items {
		switch {
		case it.Name == "RFC822" || it.Name == "RFC822.TEXT":
			return true
		case (it.Name == "BODY" || it.Name == "BINARY") && it.Section != nil && !it.Peek:
			return true
		}
	}
	return false
}

// fetchValue is one item's data, computed before anything is written,
// so that an error (UNKNOWN-CTE) leaves no half-written response.
type fetchValue struct {
	r      io.Reader
	n      int64
	nilVal bool
	part   *Part
	env    *Envelope
}

// Fetch writes "* n FETCH (...)" for the items. An error before the
// response is started is the caller's to answer (ErrUnknownCTE: NO
// [UNKNOWN-CTE]); a section naming a missing part is NIL.
func (w *Writer) Fetch(d *FetchData, items []FetchItem) error {
	vals := make([]fetchValue, len(items))
	for i, it := range items {
		v, err := fetchPrepare(d, it)
		if err != nil {
			return fmt.Errorf("FETCH %s: %w", it, err)
		}
		vals[i] = v
	}
	w.Untagged().Number(uint64(d.SeqNum)).Atom(" FETCH (")
	for i, it := range items {
		if i > 0 {
			w.SP()
		}
		v := vals[i]
		switch it.Name {
		case "FLAGS":
			w.Atom("FLAGS ").Flags(d.Flags)
		case "UID":
			w.Atom("UID ").Number(uint64(d.UID))
		case "INTERNALDATE":
			w.Atom("INTERNALDATE ").DateTime(d.InternalDate)
		case "MODSEQ":
			w.Atom("MODSEQ (").Number(d.ModSeq).Close()
		case "RFC822.SIZE":
			w.Atom("RFC822.SIZE ").Number(uint64(d.Size))
		case "ENVELOPE":
			w.Atom("ENVELOPE ")
			if d.Envelope != nil {
				w.Bytes(d.Envelope)
			} else {
				w.Envelope(v.env)
			}
		case "BODYSTRUCTURE":
			w.Atom("BODYSTRUCTURE ").BodyStructure(v.part, true)
		case "BINARY.SIZE":
			w.Atom("BINARY.SIZE[" + it.Section.String() + "] ")
			if v.nilVal {
				w.Atom("NIL")
			} else {
				w.Number(uint64(v.n))
			}
		default:
			if it.Name == "BODY" && it.Section == nil {
				w.Atom("BODY ").BodyStructure(v.part, false)
				break
			}
			w.Atom(responseName(it)).SP()
			if v.nilVal {
				w.Atom("NIL")
			} else {
				w.Literal(v.r, v.n, it.Name == "BINARY")
			}
		}
	}
	return w.Close().End()
}

// responseName is how the response names a body item: without .PEEK,
// a partial by its origin only (RFC 9051 §7.5.2).
func responseName(it FetchItem) string {
	if it.Section == nil {
		return it.Name
	}
	s := it.Name + "[" + it.Section.String() + "]"
	if it.Partial != nil {
		s += "<" + num(it.Partial.Offset) + ">"
	}
	return s
}

func fetchPrepare(d *FetchData, it FetchItem) (fetchValue, error) {
	var v fetchValue
	var err error
	m := d.Message
	switch it.Name {
	case "FLAGS", "UID", "INTERNALDATE", "MODSEQ", "RFC822.SIZE":
		return v, nil
	case "ENVELOPE":
		if d.Envelope != nil {
			return v, nil
		}
	}
	if m == nil {
		return v, errors.New("the message is needed and was not given")
	}
	switch it.Name {
	case "ENVELOPE":
		v.env, err = m.Envelope()
	case "BODYSTRUCTURE":
		v.part, err = m.Structure()
	case "RFC822":
		v.r, v.n, err = m.Section(&Section{})
	case "RFC822.HEADER":
		v.r, v.n, err = m.Section(&Section{Specifier: "HEADER"})
	case "RFC822.TEXT":
		v.r, v.n, err = m.Section(&Section{Specifier: "TEXT"})
	case "BINARY.SIZE":
		v.n, err = m.BinarySize(it.Section.Part)
	case "BINARY":
		v.r, v.n, err = m.Binary(it.Section.Part)
	case "BODY":
		if it.Section == nil {
			v.part, err = m.Structure()
			break
		}
		v.r, v.n, err = m.Section(it.Section)
	default:
		return v, fmt.Errorf("unknown item %s", it.Name)
	}
	if errors.Is(err, ErrNoSuchPart) {
		return fetchValue{nilVal: true}, nil
	}
	if err == nil && v.r != nil {
		v.r, v.n, err = it.Partial.Apply(v.r, v.n)
	}
	return v, err
}

// ResponseItems are the items a FETCH response carries for the command:
// what was asked, with UID first for UID FETCH (RFC 9051 §6.4.9) and
// MODSEQ added for CHANGEDSINCE (RFC 7162 §3.1.4.1), each once.
func ResponseItems(f *Fetch, uid bool) []FetchItem {
	has := func(name string) bool {
		for _, it := range f.Items {
			if it.Name == name {
				return true
			}
		}
		return false
	}
	var items []FetchItem
	if uid && !has("UID") {
		items = append(items, FetchItem{Name: "UID"})
	}
	items = append(items, f.Items...)
	if f.ChangedSince != 0 && !has("MODSEQ") {
		items = append(items, FetchItem{Name: "MODSEQ"})
	}
	return items
}

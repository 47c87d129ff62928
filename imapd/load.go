package imapd

import (
	"bytes"
	"io"
	"strings"

	"postern.dev/postern/imapd/imap"
	"postern.dev/postern/libmail/mailbox"
)

// level is how much of a message a command reads: ENVELOPE and most
// header searches need only the folder's header cache, never the file.
type level int

const (
	loadNone   level = iota
	loadCached       // mailbox.CachedFields, from the header cache
	loadHeader       // the header section
	loadFull         // the whole message
)

// cachedField tells whether the header cache holds the field.
func cachedField(name string) bool {
	for _, f := range mailbox.CachedFields {
		if strings.EqualFold(f, name) {
			return true
		}
	}
	return false
}

// load reads what level asks of a message, into the session's buffer
// (reused: the message is used before the next load).
func (s *session) load(uid uint32, lvl level) (*imap.Message, error) {
	var rc io.ReadCloser
	var err error
	switch lvl {
	case loadNone:
		return nil, nil
	case loadCached:
		h, err := s.sel.CachedHeader(s.ctx, uid)
		if err != nil {
			return nil, err
		}
		return imap.NewMessage(bytes.NewReader(h), int64(len(h))), nil
	case loadHeader:
		rc, err = s.sel.OpenHeader(s.ctx, uid)
	default:
		rc, err = s.sel.Open(s.ctx, uid)
	}
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	b := bytes.NewBuffer(s.buf[:0])
	if _, err := b.ReadFrom(rc); err != nil {
		return nil, err
	}
	s.buf = b.Bytes()
	return imap.NewMessage(bytes.NewReader(s.buf), int64(len(s.buf))), nil
}

// fetchLevel is what a FETCH's items read.
func fetchLevel(items []imap.FetchItem) level {
	lvl := loadNone
	for _, it := range items {
		l := loadFull
		switch it.Name {
		case "FLAGS", "UID", "INTERNALDATE", "MODSEQ", "RFC822.SIZE":
			l = loadNone
		case "ENVELOPE":
			l = loadCached
		case "RFC822.HEADER":
			l = loadHeader
		case "BODY":
			sec := it.Section
			if sec == nil || len(sec.Part) > 0 {
				break
			}
			switch sec.Specifier {
			case "HEADER", "HEADER.FIELDS.NOT":
				l = loadHeader
			case "HEADER.FIELDS":
				l = loadCached
				for _, f := range sec.Fields {
					if !cachedField(f) {
						l = loadHeader
					}
				}
			}
		}
		lvl = max(lvl, l)
	}
	return lvl
}

// searchLevel is what a search key reads.
func searchLevel(k *imap.SearchKey) level {
	if k == nil {
		return loadNone
	}
	lvl := loadNone
	switch k.Op {
	case "BODY", "TEXT":
		return loadFull
	case "FROM", "TO", "CC", "BCC", "SUBJECT", "SENTBEFORE", "SENTON", "SENTSINCE":
		lvl = loadCached
	case "HEADER":
		lvl = loadHeader
		if cachedField(k.Field) {
			lvl = loadCached
		}
	}
	for _, sub := range k.Sub {
		lvl = max(lvl, searchLevel(sub))
	}
	return lvl
}

// keyUses tells whether op is anywhere in the key.
func keyUses(k *imap.SearchKey, op string) bool {
	if k == nil {
		return false
	}
	if k.Op == op {
		return true
	}
	for _, sub := range k.Sub {
		if keyUses(sub, op) {
			return true
		}
	}
	return false
}

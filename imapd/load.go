package imapd

import (
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

// load gives the message as level asks: the cached header fields from
// the folder's cache, or a stream of the header or the whole message,
// read only as far as the command's items need (NewMessageStream). The
// caller calls done when it is through with the message.
func (s *session) load(msg mailbox.Message, lvl level) (m *imap.Message, done func(), err error) {
	uid := msg.UID
	var rc io.ReadCloser
	switch lvl {
	case loadNone:
		return nil, func() {}, nil
	case loadCached:
		h, err := s.sel.CachedHeader(s.ctx, uid)
		if err != nil {
			return nil, nil, err
		}
		return imap.NewMessageBytes(h), func() {}, nil
	case loadHeader:
		rc, err = s.sel.OpenHeader(s.ctx, uid)
	default:
		rc, err = s.sel.Open(s.ctx, uid)
	}
	if err != nil {
		return nil, nil, err
	}
	return imap.NewMessageStream(rc, msg.Size), func() { rc.Close() }, nil
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

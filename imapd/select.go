package imapd

import (
	"postern.dev/postern/imapd/imap"
	"postern.dev/postern/libmail/mailbox"
)

// cmdSelect is SELECT and EXAMINE, with CONDSTORE and QRESYNC
// (RFC 7162 §3.1.8, §3.2.5).
func (s *session) cmdSelect(c *imap.Command) error {
	a := c.Args.(*imap.Select)
	if a.QResync != nil && !s.qresync {
		return s.reply(c.Tag, "BAD", "", "QRESYNC is not enabled.")
	}
	if s.sel != nil {
		s.sel.Close()
		s.sel, s.saved = nil, nil
		if s.qresync {
			s.w.Status("", "OK", "CLOSED", "Previous mailbox closed.")
		}
	}
	name, err := s.mailboxName(a.Mailbox)
	if err != nil {
		return s.reply(c.Tag, "BAD", "", "Invalid mailbox name.")
	}
	readOnly := c.Name == "EXAMINE"
	f, err := s.store.Select(s.ctx, name, readOnly)
	if err != nil {
		return s.storeError(c.Tag, err)
	}
	s.sel = f
	if a.CondStore {
		s.condstore = true
	}
	msgs := f.Messages()
	s.sendFlags()
	s.w.Exists(uint32(len(msgs)))
	if !s.rev2 {
		s.w.Untagged().Number(uint64(s.recent())).Atom(" RECENT").End()
		for i, m := range msgs {
			if !m.Has(`\Seen`) {
				s.w.Status("", "OK", "UNSEEN "+itoa(uint64(i+1)), "First unseen.")
				break
			}
		}
	}
	s.w.Status("", "OK", "UIDVALIDITY "+itoa(uint64(f.UIDValidity())), "UIDs valid")
	s.w.Status("", "OK", "UIDNEXT "+itoa(uint64(f.UIDNext())), "Predicted next UID")
	s.w.Status("", "OK", "HIGHESTMODSEQ "+itoa(f.HighestModSeq()), "Highest")
	if s.rev2 {
		s.w.List("LIST", &imap.ListEntry{Name: f.Name(), Delim: mailbox.Delimiter})
	}
	if q := a.QResync; q != nil && q.UIDValidity == f.UIDValidity() {
		s.qresyncSelect(q)
	}
	code := "READ-WRITE"
	if readOnly {
		code = "READ-ONLY"
	}
	return s.reply(c.Tag, "OK", code, "Select completed.")
}

// qresyncSelect sends what changed since the client's modseq: the
// vanished UIDs (the known ones no longer there, as no expunge history
// is kept, RFC 7162 §3.2.5.2) and the messages changed since.
func (s *session) qresyncSelect(q *imap.QResync) {
	msgs := s.sel.Messages()
	known := imap.SeqSet{Ranges: []imap.Range{{Start: 1, Stop: 0}}}
	if q.KnownUIDs != nil {
		known = *q.KnownUIDs
	}
	if gone := missingUIDs(known, msgs, s.sel.UIDNext()); len(gone) > 0 {
		s.w.Untagged().Atom("VANISHED (EARLIER) ").Set(imap.SeqSet{Ranges: gone}).End()
	}
	for i, m := range msgs {
		if m.ModSeq > q.ModSeq {
			s.fetchFlags(uint32(i+1), m, true)
		}
	}
}

// cmdClose is CLOSE (expunging silently unless read-only) and UNSELECT
// (RFC 3691).
func (s *session) cmdClose(c *imap.Command) error {
	if c.Name == "CLOSE" && !s.sel.ReadOnly() {
		if _, err := s.sel.Expunge(s.ctx, nil); err != nil {
			s.cfg.Logf("error: close %s: %v", s.sel.Name(), err)
		}
	}
	s.sel.Close()
	s.sel, s.saved = nil, nil
	return s.reply(c.Tag, "OK", "", c.Name+" completed.")
}

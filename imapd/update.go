package imapd

import (
	"errors"

	"postern.dev/postern/libmail/mailbox"
)

// errGone ends a session whose selected folder vanished or whose UIDs
// changed: RFC 3501 §2.3.1.1 leaves it nothing else to do.
var errGone = errors.New("selected folder gone")

// update tells the client what changed in the selected folder since
// the last command: other sessions' flag changes, deliveries and
// expunges. When the command does not allow EXPUNGE it does not Sync
// at all, since the snapshot's sequence numbers must stay as the client
// knows them; the next command reports it all.
func (s *session) update(expunges bool) error {
	if s.sel == nil || !expunges {
		return nil
	}
	ch, err := s.sel.Sync(s.ctx)
	if errors.Is(err, mailbox.ErrNoFolder) {
		s.w.Status("", "BYE", "", "Selected mailbox was deleted, have to disconnect.")
		return errGone
	}
	if err != nil {
		s.cfg.Logf("error: sync %s: %v", s.sel.Name(), err)
		return nil
	}
	return s.sendChanges(ch)
}

// sendChanges writes Sync's changes in the order RFC 3501 §7.4.1 and
// RFC 7162 §3.2.10 want: expunges, then EXISTS, then flag changes.
func (s *session) sendChanges(ch mailbox.Changes) error {
	if ch.Reset {
		s.w.Status("", "BYE", "", "Mailbox UIDVALIDITY changed, have to disconnect.")
		return errGone
	}
	s.sendExpunged(ch.Expunged)
	if len(ch.New) > 0 {
		s.w.Exists(uint32(len(s.sel.Messages())))
		if !s.rev2 {
			s.w.Untagged().Number(uint64(s.recent())).Atom(" RECENT").End()
		}
	}
	for _, u := range ch.Updated {
		s.fetchFlags(u.Seq, u.Message, s.qresync)
	}
	return s.w.Err()
}

// sendExpunged writes EXPUNGE, or VANISHED under QRESYNC.
func (s *session) sendExpunged(ex []mailbox.Expunged) {
	if len(ex) == 0 {
		return
	}
	s.stats.Expunged += int64(len(ex))
	if s.qresync {
		uids := make([]uint32, len(ex))
		for i, e := range ex {
			uids[i] = e.UID
		}
		s.w.Vanished(uids, false)
		return
	}
	for _, e := range ex {
		s.w.Expunge(e.Seq)
	}
}

// fetchFlags writes "* n FETCH (FLAGS (...))" for a flag change, with
// UID when asked and MODSEQ under CONDSTORE (RFC 7162 §3.1.4).
func (s *session) fetchFlags(seq uint32, m mailbox.Message, uid bool) {
	s.w.Untagged().Number(uint64(seq)).Atom(" FETCH (")
	if uid {
		s.w.Atom("UID ").Number(uint64(m.UID)).SP()
	}
	s.w.Atom("FLAGS ").Flags(s.flagsOf(m))
	if s.condstore {
		s.w.Atom(" MODSEQ (").Number(m.ModSeq).Close()
	}
	s.w.Close().End()
}

// flagsOf is a message's flags as this session shows them: with
// \Recent for IMAP4rev1 (RFC 9051 removed it).
func (s *session) flagsOf(m mailbox.Message) []string {
	if !m.Recent || s.rev2 {
		return m.Flags
	}
	f := make([]string, 0, len(m.Flags)+1)
	f = append(f, m.Flags...)
	return append(f, `\Recent`)
}

// recent counts the messages this session sees as \Recent.
func (s *session) recent() int {
	n := 0
	for _, m := range s.sel.Messages() {
		if m.Recent {
			n++
		}
	}
	return n
}

// systemFlags are the flags every folder takes.
var systemFlags = []string{`\Answered`, `\Flagged`, `\Deleted`, `\Seen`, `\Draft`}

// sendFlags writes the FLAGS response and PERMANENTFLAGS code of a
// selected folder.
func (s *session) sendFlags() {
	f := s.sel
	flags := append(append([]string(nil), systemFlags...), f.Keywords()...)
	s.w.Untagged().Atom("FLAGS ").Flags(flags).End()
	if f.ReadOnly() {
		s.w.Status("", "OK", "PERMANENTFLAGS ()", "Read-only mailbox.")
		return
	}
	perm := flags
	if len(f.Keywords()) < mailbox.MaxKeywords {
		perm = append(perm, `\*`)
	}
	w := s.w.Untagged().Atom("OK [PERMANENTFLAGS ").Flags(perm)
	w.Atom("] Flags permitted.").End()
}

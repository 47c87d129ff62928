package imapd

import (
	"errors"

	"postern.dev/postern/imapd/imap"
	"postern.dev/postern/libmail/mailbox"
)

// cmdCopy is COPY and MOVE (RFC 6851) with UIDPLUS's COPYUID.
func (s *session) cmdCopy(c *imap.Command) error {
	a := c.Args.(*imap.Copy)
	idx, err := s.resolve(a.Set, c.UID)
	if err != nil {
		return s.reply(c.Tag, "BAD", "", "Error in IMAP command "+c.Name+": Invalid messageset")
	}
	dest, err := s.mailboxName(a.Mailbox)
	if err != nil {
		return s.reply(c.Tag, "BAD", "", "Invalid mailbox name.")
	}
	if len(idx) == 0 {
		return s.done(c, "", "No messages found.")
	}
	if c.Name == "MOVE" && s.sel.ReadOnly() {
		return s.reply(c.Tag, "NO", "READ-ONLY", "Mailbox is read-only.")
	}
	uids := uidsOf(s.sel.Messages(), idx)
	var res mailbox.CopyResult
	if c.Name == "MOVE" {
		res, err = s.sel.Move(s.ctx, uids, dest)
	} else {
		res, err = s.sel.Copy(s.ctx, uids, dest)
	}
	if errors.Is(err, mailbox.ErrNoFolder) {
		return s.reply(c.Tag, "NO", "TRYCREATE", "Mailbox doesn't exist: "+dest)
	}
	if err != nil {
		return s.storeError(c.Tag, err)
	}
	code := ""
	if len(res.Source) > 0 {
		code = "COPYUID " + itoa(uint64(res.UIDValidity)) + " " + imap.SetOf(res.Source).String() + " " + imap.SetOf(res.Dest).String()
	}
	if c.Name == "MOVE" {
		// COPYUID goes ahead of the expunges (RFC 6851 §4.3).
		if code != "" {
			s.w.Status("", "OK", code, "Moved UIDs.")
		}
		s.sendExpunged(res.Expunged)
		return s.done(c, "", "Move completed.")
	}
	return s.done(c, code, "Copy completed.")
}

// cmdExpunge is EXPUNGE and UID EXPUNGE (RFC 4315 §2.1).
func (s *session) cmdExpunge(c *imap.Command) error {
	if s.sel.ReadOnly() {
		return s.reply(c.Tag, "NO", "READ-ONLY", "Mailbox is read-only.")
	}
	var uids []uint32
	if c.UID {
		idx, err := s.resolve(c.Args.(*imap.Expunge).Set, true)
		if err != nil {
			return s.reply(c.Tag, "BAD", "", "Error in IMAP command EXPUNGE: Invalid messageset")
		}
		uids = append(make([]uint32, 0, len(idx)), uidsOf(s.sel.Messages(), idx)...)
	}
	ex, err := s.sel.Expunge(s.ctx, uids)
	if err != nil {
		return s.storeError(c.Tag, err)
	}
	s.sendExpunged(ex)
	code := ""
	if s.condstore {
		code = "HIGHESTMODSEQ " + itoa(s.sel.HighestModSeq())
	}
	return s.done(c, code, "Expunge completed.")
}

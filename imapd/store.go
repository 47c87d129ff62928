package imapd

import (
	"strings"

	"postern.dev/postern/imapd/imap"
	"postern.dev/postern/libmail/mailbox"
)

// cmdStore is STORE and UID STORE, with CONDSTORE's UNCHANGEDSINCE and
// MODIFIED (RFC 7162 §3.1.3).
func (s *session) cmdStore(c *imap.Command) error {
	a := c.Args.(*imap.Store)
	idx, err := s.resolve(a.Set, c.UID)
	if err != nil {
		return s.reply(c.Tag, "BAD", "", "Error in IMAP command STORE: Invalid messageset")
	}
	if s.sel.ReadOnly() {
		return s.reply(c.Tag, "NO", "READ-ONLY", "Mailbox is read-only.")
	}
	if a.HasUnchangedSince {
		s.condstore = true
	}
	var flags []string
	for _, f := range a.Flags {
		if !strings.EqualFold(f, `\Recent`) { // the server's, not the client's
			flags = append(flags, f)
		}
	}
	op := map[imap.StoreOp]mailbox.FlagOp{imap.StoreReplace: mailbox.FlagsReplace, imap.StoreAdd: mailbox.FlagsAdd, imap.StoreRemove: mailbox.FlagsRemove}[a.Op]
	msgs := s.sel.Messages()
	uids := uidsOf(msgs, idx)
	keywords := len(s.sel.Keywords())
	var res mailbox.StoreResult
	if a.HasUnchangedSince && a.UnchangedSince == 0 {
		res.Failed = uids // every message has a modseq above 0
	} else if len(uids) > 0 {
		res, err = s.sel.StoreFlags(s.ctx, uids, op, flags, a.UnchangedSince)
		if err != nil {
			return s.storeError(c.Tag, err)
		}
	}
	failed := map[uint32]bool{}
	for _, u := range res.Failed {
		failed[u] = true
	}
	msgs = s.sel.Messages()
	if len(s.sel.Keywords()) != keywords {
		s.sendFlags() // a new keyword (RFC 3501 §7.2.6)
	}
	if !a.Silent {
		for _, i := range idx {
			if !failed[msgs[i].UID] {
				s.fetchFlags(uint32(i+1), msgs[i], c.UID || s.qresync)
			}
		}
	} else if s.condstore {
		// .SILENT still reports the new modseqs (RFC 7162 §3.1.3).
		for _, u := range res.Updated {
			s.w.Untagged().Number(uint64(u.Seq)).Atom(" FETCH (")
			if c.UID || s.qresync { // QRESYNC: every FETCH has UID (RFC 7162 §3.2.4)
				s.w.Atom("UID ").Number(uint64(u.UID)).SP()
			}
			s.w.Atom("MODSEQ (").Number(u.ModSeq).Atom("))").End()
		}
	}
	code := ""
	if len(res.Failed) > 0 {
		nums := res.Failed
		if !c.UID {
			nums = nil
			for _, i := range indexesOf(msgs, res.Failed) {
				nums = append(nums, uint32(i+1))
			}
		}
		code = "MODIFIED " + imap.SetOf(nums).String()
	}
	return s.done(c, code, "Store completed.")
}

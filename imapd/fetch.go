package imapd

import (
	"errors"
	"slices"

	"postern.dev/postern/imapd/imap"
	"postern.dev/postern/libmail/mailbox"
)

// cmdFetch is FETCH and UID FETCH, with CONDSTORE's CHANGEDSINCE and
// QRESYNC's VANISHED (RFC 7162 §3.1.4, §3.2.6).
func (s *session) cmdFetch(c *imap.Command) error {
	a := c.Args.(*imap.Fetch)
	if a.Vanished && (!c.UID || !s.qresync || a.ChangedSince == 0) {
		return s.reply(c.Tag, "BAD", "", "VANISHED needs UID FETCH, QRESYNC and CHANGEDSINCE.")
	}
	idx, err := s.resolve(a.Set, c.UID)
	if err != nil {
		return s.reply(c.Tag, "BAD", "", "Error in IMAP command FETCH: Invalid messageset")
	}
	items := imap.ResponseItems(a, c.UID)
	for _, it := range items {
		if it.Name == "MODSEQ" {
			s.condstore = true // RFC 7162 §3.1.4
		}
	}
	if a.Vanished {
		if gone := missingUIDs(a.Set, s.sel.Messages(), s.sel.UIDNext()); len(gone) > 0 {
			s.w.Untagged().Atom("VANISHED (EARLIER) ").Set(imap.SeqSet{Ranges: gone}).End()
		}
	}
	// Fetching a body sets \Seen first, so that the responses show it.
	var seen map[uint32]bool
	if imap.SetsSeen(items) && !s.sel.ReadOnly() {
		msgs := s.sel.Messages()
		var uids []uint32
		for _, i := range idx {
			if !msgs[i].Has(`\Seen`) {
				uids = append(uids, msgs[i].UID)
			}
		}
		if len(uids) > 0 {
			res, err := s.sel.StoreFlags(s.ctx, uids, mailbox.FlagsAdd, []string{`\Seen`}, 0)
			if err != nil {
				return s.storeError(c.Tag, err)
			}
			seen = map[uint32]bool{}
			for _, u := range res.Updated {
				seen[u.UID] = true
			}
		}
	}
	withFlags := items
	if seen != nil && !hasItem(items, "FLAGS") {
		withFlags = append(append([]imap.FetchItem(nil), items...), imap.FetchItem{Name: "FLAGS"})
	}
	lvl := fetchLevel(items)
	// A cached ENVELOPE spares reading the header for it; what the
	// other items read is read all the same.
	env := hasItem(items, "ENVELOPE")
	var restLvl level
	if env {
		restLvl = fetchLevel(slices.DeleteFunc(slices.Clone(items), func(it imap.FetchItem) bool { return it.Name == "ENVELOPE" }))
	}
	msgs := s.sel.Messages()
	gone := false
	for _, i := range idx {
		m := msgs[i]
		if a.ChangedSince > 0 && m.ModSeq <= a.ChangedSince {
			continue
		}
		d := imap.FetchData{SeqNum: uint32(i + 1), UID: m.UID, Flags: s.flagsOf(m), InternalDate: m.Date, Size: m.Size, ModSeq: m.ModSeq}
		l := lvl
		if env {
			if d.Envelope, _ = s.sel.CachedItem(s.ctx, m.UID, envelopeItem); d.Envelope != nil {
				l = restLvl
			}
		}
		var release func()
		d.Message, release, err = s.load(m, l)
		if errors.Is(err, mailbox.ErrNoMessage) {
			gone = true
			continue
		}
		if err != nil {
			return s.storeError(c.Tag, err)
		}
		if env && d.Envelope == nil {
			d.Envelope = s.renderEnvelope(m.UID, d.Message)
		}
		it := items
		if seen[m.UID] {
			it = withFlags
		}
		err = s.w.Fetch(&d, it)
		release()
		if err != nil {
			if errors.Is(err, imap.ErrUnknownCTE) {
				return s.reply(c.Tag, "NO", "UNKNOWN-CTE", "Unknown Content-Transfer-Encoding.")
			}
			if s.w.Err() != nil {
				return err
			}
			s.cfg.Logf("error: fetch uid %d: %v", m.UID, err)
			return s.reply(c.Tag, "NO", "SERVERBUG", "Internal error occurred. Refer to server log for more information.")
		}
		s.stats.Fetched++
	}
	if gone {
		s.update(expungeAllowed(c))
		return s.reply(c.Tag, "NO", "EXPUNGEISSUED", "Some messages were also expunged.")
	}
	return s.done(c, "", "Fetch completed.")
}

// envelopeItem is the key of rendered ENVELOPEs in the folder's cache
// (mailbox.Folder.CachedItem); a change to how ENVELOPE is rendered must
// bump its version.
const envelopeItem = "imap-envelope.1"

// renderEnvelope renders the message's ENVELOPE and caches it when the
// bytes are the same whether or not the client enabled UTF-8 (nearly
// always: headers are ASCII). It returns nil when the envelope cannot
// be made, for the writer to report as before.
func (s *session) renderEnvelope(uid uint32, m *imap.Message) []byte {
	e, err := m.Envelope()
	if err != nil {
		return nil
	}
	b, anyMode := s.envr.Render(e, s.w.UTF8)
	if anyMode {
		s.sel.CacheItem(s.ctx, uid, envelopeItem, b)
	}
	return b
}

func hasItem(items []imap.FetchItem, name string) bool {
	for _, it := range items {
		if it.Name == name {
			return true
		}
	}
	return false
}

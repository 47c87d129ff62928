package imapd

import (
	"errors"

	"postern.dev/postern/imapd/imap"
	"postern.dev/postern/libmail/mailbox"
)

// match runs a search key over the snapshot and returns the matching
// indexes and their highest modseq. A refusal (BADCHARSET) is answered
// here and reported by answered.
func (s *session) match(c *imap.Command, key *imap.SearchKey, charset string) (idx []int, hi uint64, answered bool, err error) {
	msgs := s.sel.Messages()
	sctx := imap.SearchContext{MaxSeq: uint32(len(msgs)), SavedUIDs: imap.SetOf(s.saved), Now: s.cfg.Now()}
	if len(msgs) > 0 {
		sctx.MaxUID = msgs[len(msgs)-1].UID
	}
	mt, err := imap.NewMatcher(key, charset, sctx)
	if err != nil {
		var perr *imap.Error
		if errors.As(err, &perr) {
			return nil, 0, true, s.reply(c.Tag, perr.Status, perr.Code, perr.Text)
		}
		return nil, 0, true, s.reply(c.Tag, "BAD", "", "Error in IMAP command "+c.Name+": "+err.Error())
	}
	if keyUses(key, "MODSEQ") {
		s.condstore = true
	}
	lvl := loadNone
	if mt.NeedsMessage() {
		lvl = max(searchLevel(key), loadCached)
	}
	var pf *prefilter
	if lvl == loadCached && !s.cfg.noPrefilter {
		pf = newPrefilter(key, charset)
	}
	var bf *bodyFilter
	if lvl == loadFull && !s.cfg.noPrefilter {
		bf = newBodyFilter(key, charset)
	}
	var d imap.SearchData
	for i, m := range msgs {
		if pf != nil {
			if h, err := s.sel.CachedHeader(s.ctx, m.UID); err == nil && pf.rejects(h) {
				continue
			}
		}
		if bf != nil && s.bodyRejects(bf, m) {
			continue
		}
		d = imap.SearchData{SeqNum: uint32(i + 1), UID: m.UID, Flags: s.flagsOf(m), InternalDate: m.Date, Size: m.Size, ModSeq: m.ModSeq}
		var release func()
		if d.Message, release, err = s.load(m, lvl); err != nil {
			continue // expunged meanwhile: it matches nothing
		}
		ok, err := mt.Match(&d)
		release()
		if err != nil {
			s.cfg.Logf("error: search uid %d: %v", m.UID, err)
			continue
		}
		if ok {
			idx = append(idx, i)
			hi = max(hi, m.ModSeq)
		}
	}
	if !keyUses(key, "MODSEQ") {
		hi = 0
	}
	return idx, hi, false, nil
}

// numbers are the indexes as the command shows them: UIDs or sequence
// numbers.
func (s *session) numbers(idx []int, uid bool) []uint32 {
	msgs := s.sel.Messages()
	nums := make([]uint32, len(idx))
	for i, j := range idx {
		if uid {
			nums[i] = msgs[j].UID
		} else {
			nums[i] = uint32(j + 1)
		}
	}
	return nums
}

// cmdSearch is SEARCH with ESEARCH (RFC 4731) and SEARCHRES (RFC 5182).
func (s *session) cmdSearch(c *imap.Command) error {
	a := c.Args.(*imap.Search)
	idx, hi, answered, err := s.match(c, a.Key, a.Charset)
	if answered {
		return err
	}
	res := imap.SearchResult{Tag: c.Tag, UID: c.UID, Nums: s.numbers(idx, c.UID), ModSeq: hi}
	s.save(a.Return, idx)
	if a.ESearch {
		s.w.ESearch(a.Return, &res)
	} else {
		s.w.Search("SEARCH", &res)
	}
	return s.done(c, "", "Search completed.")
}

// save keeps the result for "$" when RETURN has SAVE: with MIN or MAX
// only those (RFC 5182 §2.1).
func (s *session) save(ret []string, idx []int) {
	saveIt, other := false, false
	var lo, hi bool
	for _, r := range ret {
		switch r {
		case "SAVE":
			saveIt = true
		case "MIN":
			lo = true
		case "MAX":
			hi = true
		default:
			other = true
		}
	}
	if !saveIt {
		return
	}
	uids := uidsOf(s.sel.Messages(), idx)
	if (lo || hi) && !other && len(uids) > 0 {
		var keep []uint32
		if lo {
			keep = append(keep, uids[0])
		}
		if hi && (len(keep) == 0 || uids[len(uids)-1] != keep[0]) {
			keep = append(keep, uids[len(uids)-1])
		}
		uids = keep
	}
	s.saved = uids
}

// sortItems are what SORT and THREAD look at, from the header cache.
func (s *session) sortItems(idx []int) []imap.SortItem {
	msgs := s.sel.Messages()
	items := make([]imap.SortItem, 0, len(idx))
	for _, i := range idx {
		m := msgs[i]
		it := imap.SortItem{SeqNum: uint32(i + 1), UID: m.UID, InternalDate: m.Date, Size: m.Size}
		if msg, _, err := s.load(m, loadCached); err == nil {
			if p, err := msg.Header(); err == nil {
				it.Header = &p.Header
			}
		}
		if it.Header == nil {
			it.Header = &imap.Header{}
		}
		items = append(items, it)
	}
	return items
}

// cmdSort is SORT (RFC 5256, RFC 5957) with ESORT (RFC 5267).
func (s *session) cmdSort(c *imap.Command) error {
	a := c.Args.(*imap.Sort)
	idx, hi, answered, err := s.match(c, a.Key, a.Charset)
	if answered {
		return err
	}
	items := s.sortItems(idx)
	imap.SortMessages(items, a.Criteria)
	res := imap.SearchResult{Tag: c.Tag, UID: c.UID, ModSeq: hi}
	for _, it := range items {
		if c.UID {
			res.Nums = append(res.Nums, it.UID)
		} else {
			res.Nums = append(res.Nums, it.SeqNum)
		}
	}
	if a.ESearch {
		s.w.ESearch(a.Return, &res)
	} else {
		s.w.Search("SORT", &res)
	}
	return s.done(c, "", "Sort completed.")
}

// cmdThread is THREAD REFERENCES and ORDEREDSUBJECT (RFC 5256).
func (s *session) cmdThread(c *imap.Command) error {
	a := c.Args.(*imap.Thread)
	idx, _, answered, err := s.match(c, a.Key, a.Charset)
	if answered {
		return err
	}
	items := s.sortItems(idx)
	var roots []*imap.ThreadNode
	switch a.Algorithm {
	case "REFERENCES":
		roots = imap.ThreadReferences(items, c.UID)
	case "ORDEREDSUBJECT":
		roots = imap.ThreadOrderedSubject(items, c.UID)
	default:
		return s.reply(c.Tag, "BAD", "", "Unknown thread algorithm.")
	}
	s.w.Untagged().Atom("THREAD")
	if len(roots) > 0 {
		s.w.SP().Thread(roots)
	}
	s.w.End()
	return s.done(c, "", "Thread completed.")
}

// bodyRejects runs the body filter over the message's file.
func (s *session) bodyRejects(bf *bodyFilter, m mailbox.Message) bool {
	rc, err := s.sel.Open(s.ctx, m.UID)
	if err != nil {
		return false // the Matcher's load reports it
	}
	defer rc.Close()
	return bf.rejects(rc, m.Size)
}

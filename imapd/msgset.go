package imapd

import (
	"errors"
	"sort"

	"postern.dev/postern/imapd/imap"
	"postern.dev/postern/libmail/mailbox"
)

// errBadSet is a sequence number past the end of the folder.
var errBadSet = errors.New("invalid messageset")

// resolve turns a command's set into indexes of the snapshot, ascending
// and each once. A sequence set naming a number past the end is an
// error (BAD); a UID set just names fewer messages. "$" is the saved
// search result, which is kept as UIDs.
func (s *session) resolve(set imap.SeqSet, uid bool) ([]int, error) {
	msgs := s.sel.Messages()
	if set.Saved {
		return indexesOf(msgs, s.saved), nil
	}
	if len(msgs) == 0 {
		if uid {
			return nil, nil
		}
		return nil, errBadSet
	}
	var idx []int
	if !uid {
		n := uint32(len(msgs))
		for _, r := range set.Ranges {
			a, b := orStar(r.Start, n), orStar(r.Stop, n)
			if a > b {
				a, b = b, a
			}
			if a == 0 || b > n {
				return nil, errBadSet
			}
			for i := a; i <= b; i++ {
				idx = append(idx, int(i-1))
			}
		}
	} else {
		maxUID := msgs[len(msgs)-1].UID
		for _, r := range set.Ranges {
			a, b := orStar(r.Start, maxUID), orStar(r.Stop, maxUID)
			if a > b {
				a, b = b, a
			}
			i := sort.Search(len(msgs), func(i int) bool { return msgs[i].UID >= a })
			for ; i < len(msgs) && msgs[i].UID <= b; i++ {
				idx = append(idx, i)
			}
		}
	}
	if len(set.Ranges) > 1 {
		sort.Ints(idx)
		idx = dedup(idx)
	}
	return idx, nil
}

func orStar(n, max uint32) uint32 {
	if n == 0 {
		return max
	}
	return n
}

func dedup(idx []int) []int {
	out := idx[:0]
	for i, v := range idx {
		if i == 0 || v != idx[i-1] {
			out = append(out, v)
		}
	}
	return out
}

// indexesOf finds the UIDs (ascending) in the snapshot.
func indexesOf(msgs []mailbox.Message, uids []uint32) []int {
	var idx []int
	for _, u := range uids {
		i := sort.Search(len(msgs), func(i int) bool { return msgs[i].UID >= u })
		if i < len(msgs) && msgs[i].UID == u {
			idx = append(idx, i)
		}
	}
	return idx
}

// uidsOf lists the UIDs at the indexes.
func uidsOf(msgs []mailbox.Message, idx []int) []uint32 {
	uids := make([]uint32, len(idx))
	for i, j := range idx {
		uids[i] = msgs[j].UID
	}
	return uids
}

// missingUIDs is the part of set (capped below uidNext) that is not in
// the snapshot, as ranges: QRESYNC's VANISHED (EARLIER), computed
// without listing a client's "1:4000000000".
func missingUIDs(set imap.SeqSet, msgs []mailbox.Message, uidNext uint32) []imap.Range {
	if uidNext <= 1 {
		return nil
	}
	top := uidNext - 1
	var out []imap.Range
	add := func(a, b uint32) {
		if n := len(out); n > 0 && out[n-1].Stop+1 >= a {
			out[n-1].Stop = max(out[n-1].Stop, b)
			return
		}
		out = append(out, imap.Range{Start: a, Stop: b})
	}
	rs := append([]imap.Range(nil), set.Ranges...)
	for i := range rs {
		rs[i].Start, rs[i].Stop = orStar(rs[i].Start, top), orStar(rs[i].Stop, top)
		if rs[i].Start > rs[i].Stop {
			rs[i].Start, rs[i].Stop = rs[i].Stop, rs[i].Start
		}
	}
	sort.Slice(rs, func(i, j int) bool { return rs[i].Start < rs[j].Start })
	for _, r := range rs {
		a, b := r.Start, min(r.Stop, top)
		if a > b {
			continue
		}
		i := sort.Search(len(msgs), func(i int) bool { return msgs[i].UID >= a })
		cur := a
		for ; i < len(msgs) && msgs[i].UID <= b; i++ {
			if msgs[i].UID > cur {
				add(cur, msgs[i].UID-1)
			}
			cur = msgs[i].UID + 1
		}
		if cur <= b {
			add(cur, b)
		}
	}
	return out
}

package mailbox

import "slices"

// view is a session's snapshot of a folder and the diff that moves it to
// a newer list of the folder's messages. Both stores use it, so that
// their Sync reports changes the same way.
type view struct {
	msgs []Message // ascending UID
	hint int       // the index seqOf last found
}

// seqOf returns the sequence number of uid, or 0. Commands walk the
// snapshot in order, so the message after the last one found is tried
// before a binary search.
func (v *view) seqOf(uid uint32) uint32 {
	if i := v.hint + 1; i < len(v.msgs) && v.msgs[i].UID == uid {
		v.hint = i
		return uint32(i + 1)
	}
	i, ok := slices.BinarySearchFunc(v.msgs, uid, func(m Message, u uint32) int { return int(int64(m.UID) - int64(u)) })
	if !ok {
		return 0
	}
	v.hint = i
	return uint32(i + 1)
}

// update replaces the snapshot with latest (ascending UID) and returns
// the differences. A message of latest with a UID below the snapshot's
// highest that the snapshot lacks cannot happen (UIDs only grow); it
// would be ignored.
func (v *view) update(latest []Message) Changes {
	var ch Changes
	if len(v.msgs) == 0 {
		// A first sync (SELECT): everything is new, nothing to compare.
		v.msgs = latest
		ch.New = latest[:len(latest):len(latest)]
		return ch
	}
	// Both lists ascend by UID: one merge finds expunges and changes.
	kept := make([]Message, 0, max(len(v.msgs), len(latest)))
	var gone []Expunged
	j := 0
	for i, m := range v.msgs {
		for j < len(latest) && latest[j].UID < m.UID {
			j++ // not in the snapshot, below its highest UID: ignored
		}
		if j == len(latest) || latest[j].UID != m.UID {
			gone = append(gone, Expunged{Seq: uint32(i + 1), UID: m.UID})
			continue
		}
		n := &latest[j]
		recent := m.Recent
		if n.ModSeq != m.ModSeq || !sameFlags(n.Flags, m.Flags) {
			m = *n
			m.Recent = recent
			ch.Updated = append(ch.Updated, Updated{Seq: uint32(len(kept) + 1), Message: m})
		}
		kept = append(kept, m)
	}
	// Expunges, highest sequence first.
	for i := len(gone) - 1; i >= 0; i-- {
		ch.Expunged = append(ch.Expunged, gone[i])
	}
	last := v.msgs[len(v.msgs)-1].UID
	for _, m := range latest {
		if m.UID > last {
			kept = append(kept, m)
			ch.New = append(ch.New, m)
		}
	}
	v.msgs = kept
	return ch
}

// reset empties the snapshot and returns every message as expunged, for a
// UIDVALIDITY change.
func (v *view) reset() []Expunged {
	out := make([]Expunged, 0, len(v.msgs))
	for i := len(v.msgs) - 1; i >= 0; i-- {
		out = append(out, Expunged{Seq: uint32(i + 1), UID: v.msgs[i].UID})
	}
	v.msgs = nil
	return out
}

// set replaces one message in the snapshot (after the session's own
// change) and returns its sequence number.
func (v *view) set(m Message) uint32 {
	seq := v.seqOf(m.UID)
	if seq != 0 {
		m.Recent = v.msgs[seq-1].Recent
		v.msgs[seq-1] = m
	}
	return seq
}

// remove drops uids from the snapshot and returns them as expunges in
// reporting order.
func (v *view) remove(uids []uint32) []Expunged {
	gone := map[uint32]bool{}
	for _, u := range uids {
		gone[u] = true
	}
	var out []Expunged
	for i := len(v.msgs) - 1; i >= 0; i-- {
		if gone[v.msgs[i].UID] {
			out = append(out, Expunged{Seq: uint32(i + 1), UID: v.msgs[i].UID})
		}
	}
	v.msgs = slices.DeleteFunc(v.msgs, func(m Message) bool { return gone[m.UID] })
	return out
}

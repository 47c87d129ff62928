package mailbox

import (
	"bufio"
	"io"
	"slices"
	"strings"
)

// dovecotUIDList is Dovecot's per-folder UID file. A folder that has one
// and no index of ours is a Maildir moving over from Dovecot: its
// UIDVALIDITY and UIDs are adopted, so that clients keep their caches
// (and POP3 clients the messages they left), instead of seeing every
// message anew.
const dovecotUIDList = "dovecot-uidlist"

// parseUIDList reads a dovecot-uidlist in version 3 ("3 V<validity>
// N<next> ...", then "<uid> [<ext> ...] :<file base>") or version 1
// ("1 <validity> <next>", then "<uid> <file base>"). It returns nil if
// the file is anything else or breaks the index's invariants; the index
// is then built from the files as for a new folder.
func parseUIDList(r io.Reader) *index {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	if !sc.Scan() {
		return nil
	}
	h := strings.Fields(sc.Text())
	var ix index
	var version string
	if len(h) > 0 {
		version = h[0]
	}
	switch version {
	case "1":
		if len(h) < 3 {
			return nil
		}
		v, err1 := parseUint(h[1], 32)
		n, err2 := parseUint(h[2], 32)
		if err1 != nil || err2 != nil {
			return nil
		}
		ix.UIDValidity, ix.UIDNext = uint32(v), uint32(n)
	case "3":
		for _, f := range h[1:] {
			if len(f) < 2 {
				continue
			}
			n, err := parseUint(f[1:], 32)
			switch f[0] {
			case 'V':
				if err != nil {
					return nil
				}
				ix.UIDValidity = uint32(n)
			case 'N':
				if err != nil {
					return nil
				}
				ix.UIDNext = uint32(n)
			}
		}
	default:
		return nil
	}
	if ix.UIDValidity == 0 || ix.UIDNext == 0 {
		return nil
	}
	ix.HighestModSeq, ix.FirstRecent = 1, ix.UIDNext
	for sc.Scan() {
		line := sc.Text()
		var uidText, base string
		if version == "1" {
			var ok bool
			if uidText, base, ok = strings.Cut(line, " "); !ok {
				return nil
			}
		} else {
			var rest string
			var ok bool
			if uidText, rest, ok = strings.Cut(line, " "); !ok {
				return nil
			}
			// Extension fields (W<vsize>, S<size>, G<guid> ...) come
			// before the name, which follows a colon.
			if i := strings.Index(" "+rest, " :"); i >= 0 {
				base = rest[i+1:]
			} else {
				return nil
			}
		}
		base, _, _ = strings.Cut(base, ":") // Dovecot keeps no info, but be safe
		uid, err := parseUint(uidText, 32)
		if err != nil || uid == 0 || uint32(uid) >= ix.UIDNext || !validBase(base) {
			return nil
		}
		if n := len(ix.Entries); n > 0 && uint32(uid) <= ix.Entries[n-1].UID {
			return nil
		}
		// Size -1: date and size are read from the file when the scan
		// finds it (describe).
		ix.Entries = append(ix.Entries, entry{UID: uint32(uid), ModSeq: 1, Size: -1, Base: base})
	}
	if sc.Err() != nil {
		return nil
	}
	bases := make([]string, len(ix.Entries))
	for i, e := range ix.Entries {
		bases[i] = e.Base
	}
	slices.Sort(bases)
	if len(slices.Compact(bases)) != len(ix.Entries) {
		return nil
	}
	return &ix
}

// adopted reports whether e came from dovecot-uidlist and its date and
// size are not known yet.
func (e *entry) adopted() bool { return e.Size < 0 }

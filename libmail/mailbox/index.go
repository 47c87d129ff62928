package mailbox

import (
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// indexMagic opens every index file; the number is the format version.
// Version 2 adds the directories' mtimes to the header; version 1 is
// still read (its UIDs are kept; the folder is scanned once and the
// index written back as version 2).
const (
	indexMagic   = "postern-index 2"
	indexMagicV1 = "postern-index 1"
)

// index is a folder's state kept beside its messages (file indexFile): the
// UIDs given so far and what IMAP needs that the file names cannot hold.
// The file names stay the truth about which messages exist and their
// flags; the index adds identity (UID), change order (modseq), size and
// date, and is rebuilt, with a new UIDVALIDITY, when it cannot be trusted.
type index struct {
	UIDValidity   uint32
	UIDNext       uint32
	HighestModSeq uint64
	// FirstRecent is the lowest UID no session has claimed as \Recent.
	FirstRecent uint32
	// CurTime and NewTime are the mtimes (Unix nanoseconds) of cur/ and
	// new/ when the index last matched their contents, 0 if unknown. A
	// folder whose directories still carry them needs no readdir.
	CurTime, NewTime int64
	Entries          []entry // ascending UID
}

// entry is one message: its UID, the modseq of its last change, its
// internal date (Unix seconds), its size with CRLF line ends, its info
// (the flag letters after ":2,") and the base of its file name (the part
// before ':', which stays when flags change).
type entry struct {
	UID    uint32
	ModSeq uint64
	Date   int64
	Size   int64
	Info   string
	Base   string
}

var errCorrupt = errors.New("corrupt index")

// parseIndex reads an index file:
//
//	postern-index 2
//	<uidvalidity> <uidnext> <highestmodseq> <firstrecent> <cur mtime> <new mtime>
//	<uid> <modseq> <date> <size> :2,<info> <base>
//	...
//
// (version 1: the header line without the two mtimes). Anything that
// breaks the invariants (UIDs ascending and below uidnext, modseqs at
// most highestmodseq, unique bases) makes the whole file untrusted:
// errCorrupt.
func parseIndex(r io.Reader) (*index, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return nil, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	return parseIndexData(string(data))
}

// parseIndexData is parseIndex on the file's text. It runs at every
// SELECT, so it avoids per-message allocations: each entry's info and
// base are slices of s.
func parseIndexData(s string) (*index, error) {
	bad := func(line int, why string) error {
		return fmt.Errorf("%w: line %d: %s", errCorrupt, line, why)
	}
	next := func() (string, bool) {
		if s == "" {
			return "", false
		}
		i := strings.IndexByte(s, '\n')
		if i < 0 {
			l := s
			s = ""
			return l, true
		}
		l := s[:i]
		s = s[i+1:]
		return l, true
	}
	magic, _ := next()
	if magic != indexMagic && magic != indexMagicV1 {
		return nil, bad(1, "not a postern index")
	}
	head, ok := next()
	if !ok {
		return nil, bad(2, "no header")
	}
	var ix index
	var h [6]uint64
	want := []int{63, 32, 63, 32, 63, 63} // bits; uidvalidity is checked below
	nf := 4
	if magic == indexMagic {
		nf = 6
	}
	for i := range nf {
		var f string
		f, head, ok = strings.Cut(head, " ")
		if (i < nf-1) != ok {
			return nil, bad(2, fmt.Sprintf("header needs %d fields", nf))
		}
		v, err := parseUint(f, want[i])
		if err != nil {
			return nil, bad(2, "bad header numbers")
		}
		h[i] = v
	}
	if h[0] == 0 || h[0] > 1<<32-1 || h[1] == 0 || h[3] == 0 || h[3] > h[1] {
		return nil, bad(2, "bad header numbers")
	}
	ix.UIDValidity, ix.UIDNext, ix.HighestModSeq, ix.FirstRecent = uint32(h[0]), uint32(h[1]), h[2], uint32(h[3])
	ix.CurTime, ix.NewTime = int64(h[4]), int64(h[5])
	n := strings.Count(s, "\n") + 1
	ix.Entries = make([]entry, 0, n)
	bases := make(map[string]struct{}, n)
	line := 2
	for {
		l, ok := next()
		if !ok {
			break
		}
		line++
		var f [5]string
		for i := range f {
			var found bool
			if f[i], l, found = strings.Cut(l, " "); !found {
				return nil, bad(line, "entry needs 6 fields")
			}
		}
		uid, err1 := parseUint(f[0], 32)
		ms, err2 := parseUint(f[1], 63)
		date, err3 := parseUint(f[2], 63)
		size, err4 := parseUint(f[3], 63)
		if err1 != nil || err2 != nil || err3 != nil || err4 != nil {
			return nil, bad(line, "bad number")
		}
		info, ok := strings.CutPrefix(f[4], ":2,")
		if !ok || !validInfo(info) {
			return nil, bad(line, "bad info")
		}
		if _, dup := bases[l]; dup || !validBase(l) {
			return nil, bad(line, "bad or duplicate file name")
		}
		bases[l] = struct{}{}
		if uid == 0 || uint32(uid) >= ix.UIDNext || (len(ix.Entries) > 0 && uint32(uid) <= ix.Entries[len(ix.Entries)-1].UID) {
			return nil, bad(line, "UID out of order")
		}
		if ms == 0 || ms > ix.HighestModSeq {
			return nil, bad(line, "modseq above the highest")
		}
		ix.Entries = append(ix.Entries, entry{UID: uint32(uid), ModSeq: ms, Date: int64(date), Size: int64(size), Info: info, Base: l})
	}
	return &ix, nil
}

// format writes the index in the form parseIndex reads (version 2).
func (ix *index) format() []byte {
	b := make([]byte, 0, 96+80*len(ix.Entries))
	b = append(b, indexMagic+"\n"...)
	b = fmt.Appendf(b, "%d %d %d %d %d %d\n", ix.UIDValidity, ix.UIDNext, ix.HighestModSeq, ix.FirstRecent, ix.CurTime, ix.NewTime)
	for _, e := range ix.Entries {
		b = strconv.AppendUint(b, uint64(e.UID), 10)
		b = append(b, ' ')
		b = strconv.AppendUint(b, e.ModSeq, 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, e.Date, 10)
		b = append(b, ' ')
		b = strconv.AppendInt(b, e.Size, 10)
		b = append(b, " :2,"...)
		b = append(b, e.Info...)
		b = append(b, ' ')
		b = append(b, e.Base...)
		b = append(b, '\n')
	}
	return b
}

// validBase accepts the file names the index can hold: no separators,
// no ':' (which starts the info), nothing that breaks the line format.
func validBase[T string | []byte](s T) bool {
	if len(s) == 0 || s[0] == '.' {
		return false
	}
	for i := range len(s) {
		if c := s[i]; c == '/' || c == ':' || c == '\n' || c == '\r' || c == 0 {
			return false
		}
	}
	return true
}

// validInfo accepts flag letters: ASCII letters, no spaces.
func validInfo(s string) bool {
	for i := range len(s) {
		if c := s[i]; !(c >= 'A' && c <= 'Z' || c >= 'a' && c <= 'z') {
			return false
		}
	}
	return true
}

func parseUint(s string, bits int) (uint64, error) {
	if len(s) == 0 || s[0] == '.' {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseUint(s, 10, bits)
}

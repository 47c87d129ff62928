package mailbox

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strconv"
	"strings"
)

// indexMagic opens every index file; the number is the format version.
const indexMagic = "postern-index 1"

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
	Entries     []entry // ascending UID
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
//	postern-index 1
//	<uidvalidity> <uidnext> <highestmodseq> <firstrecent>
//	<uid> <modseq> <date> <size> :2,<info> <base>
//	...
//
// Anything that breaks the invariants (UIDs ascending and below uidnext,
// modseqs at most highestmodseq, unique bases) makes the whole file
// untrusted: errCorrupt.
func parseIndex(r io.Reader) (*index, error) {
	sc := bufio.NewScanner(r)
	sc.Buffer(make([]byte, 0, 4096), 64<<10)
	bad := func(line int, why string) error {
		return fmt.Errorf("%w: line %d: %s", errCorrupt, line, why)
	}
	if !sc.Scan() || sc.Text() != indexMagic {
		return nil, bad(1, "not a postern index")
	}
	if !sc.Scan() {
		return nil, bad(2, "no header")
	}
	var ix index
	h := strings.Split(sc.Text(), " ")
	if len(h) != 4 {
		return nil, bad(2, "header needs 4 fields")
	}
	v, err1 := parseUint(h[0], 32)
	n, err2 := parseUint(h[1], 32)
	m, err3 := parseUint(h[2], 63)
	fr, err4 := parseUint(h[3], 32)
	if err := errors.Join(err1, err2, err3, err4); err != nil || v == 0 || n == 0 || fr == 0 || fr > n {
		return nil, bad(2, "bad header numbers")
	}
	ix.UIDValidity, ix.UIDNext, ix.HighestModSeq, ix.FirstRecent = uint32(v), uint32(n), m, uint32(fr)
	bases := map[string]bool{}
	line := 2
	for sc.Scan() {
		line++
		f := strings.SplitN(sc.Text(), " ", 6)
		if len(f) != 6 {
			return nil, bad(line, "entry needs 6 fields")
		}
		uid, err1 := parseUint(f[0], 32)
		ms, err2 := parseUint(f[1], 63)
		date, err3 := parseUint(f[2], 63)
		size, err4 := parseUint(f[3], 63)
		if err := errors.Join(err1, err2, err3, err4); err != nil {
			return nil, bad(line, "bad number")
		}
		info, ok := strings.CutPrefix(f[4], ":2,")
		if !ok || !validInfo(info) {
			return nil, bad(line, "bad info")
		}
		if !validBase(f[5]) || bases[f[5]] {
			return nil, bad(line, "bad or duplicate file name")
		}
		bases[f[5]] = true
		if uid == 0 || uint32(uid) >= ix.UIDNext || (len(ix.Entries) > 0 && uint32(uid) <= ix.Entries[len(ix.Entries)-1].UID) {
			return nil, bad(line, "UID out of order")
		}
		if ms == 0 || ms > ix.HighestModSeq {
			return nil, bad(line, "modseq above the highest")
		}
		ix.Entries = append(ix.Entries, entry{UID: uint32(uid), ModSeq: ms, Date: int64(date), Size: int64(size), Info: info, Base: f[5]})
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%w: %v", errCorrupt, err)
	}
	return &ix, nil
}

// format writes the index in the form parseIndex reads.
func (ix *index) format() []byte {
	var b bytes.Buffer
	b.Grow(64 + 80*len(ix.Entries))
	b.WriteString(indexMagic + "\n")
	fmt.Fprintf(&b, "%d %d %d %d\n", ix.UIDValidity, ix.UIDNext, ix.HighestModSeq, ix.FirstRecent)
	var n []byte
	for _, e := range ix.Entries {
		n = strconv.AppendUint(n[:0], uint64(e.UID), 10)
		n = append(n, ' ')
		n = strconv.AppendUint(n, e.ModSeq, 10)
		n = append(n, ' ')
		n = strconv.AppendInt(n, e.Date, 10)
		n = append(n, ' ')
		n = strconv.AppendInt(n, e.Size, 10)
		n = append(n, " :2,"...)
		n = append(n, e.Info...)
		n = append(n, ' ')
		n = append(n, e.Base...)
		n = append(n, '\n')
		b.Write(n)
	}
	return b.Bytes()
}

// validBase accepts the file names the index can hold: no separators,
// no ':' (which starts the info), nothing that breaks the line format.
func validBase(s string) bool {
	if s == "" || s[0] == '.' {
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
	if s == "" || s[0] == '+' {
		return 0, strconv.ErrSyntax
	}
	return strconv.ParseUint(s, 10, bits)
}

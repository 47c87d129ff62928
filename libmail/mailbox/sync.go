package mailbox

import (
	"cmp"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"golang.org/x/sys/unix"

	"postern.dev/postern/libmail/commit"
	"postern.dev/postern/libmail/maildir"
)

// Files a folder directory holds beside tmp/, new/ and cur/.
const (
	indexFile    = "postern-index"      // the index (see index.go)
	lockFile     = "postern-index.lock" // flock(2)ed while the index is read and changed
	keywordsFile = "dovecot-keywords"   // keyword letters, in Dovecot's format
)

// state is a folder's index with the current file names, as a locked
// sync leaves them for an operation to work on.
type state struct {
	dir   string
	ix    *index
	kw    []string
	dirty bool // the index must be written back
	// flags memoizes parseInfo by info (message).
	flags map[string][]string
}

// path returns the current path of e's file.
func (st *state) path(e *entry) string {
	return filepath.Join(st.dir, "cur", e.Base+":2,"+e.Info)
}

func (st *state) find(uid uint32) *entry {
	i, ok := slices.BinarySearchFunc(st.ix.Entries, uid, func(e entry, u uint32) int { return int(int64(e.UID) - int64(u)) })
	if !ok {
		return nil
	}
	return &st.ix.Entries[i]
}

func (st *state) bump() uint64 {
	st.ix.HighestModSeq++
	st.dirty = true
	return st.ix.HighestModSeq
}

// locked runs fn on the folder at dir with its index locked and brought
// up to date with the files: what other programs did (new files, files
// moved from new/ to cur/, renamed for flags, deleted) is in the index
// before fn sees it. If fn changes the index (state.dirty), it is written
// back atomically before the lock is released. pre, if not nil, runs under
// the lock before the scan, for an operation that places files itself.
func locked(dir string, now func() time.Time, pre func() error, fn func(st *state) error) error {
	_, err := lockedStamp(dir, now, pre, fn)
	return err
}

// stamp is what a folder looked like at a sync, for Sync to skip the
// work when nothing changed: the mtimes of new/ and cur/, taken before
// they were read, and the index file's identity after it was written.
type stamp struct {
	cur, new         int64
	idxIno           uint64
	idxSize, idxTime int64
	// trusted is false when a directory changed less than a second
	// before it was read: file times come from a coarse clock, so a
	// change in the same tick would not show.
	trusted bool
}

func statStamp(dir string, withDirs bool, now time.Time) (stamp, bool) {
	var s stamp
	var st unix.Stat_t
	if err := unix.Stat(filepath.Join(dir, indexFile), &st); err != nil {
		return s, false
	}
	s.idxIno, s.idxSize, s.idxTime = st.Ino, st.Size, st.Mtim.Nano()
	if !withDirs {
		return s, true
	}
	d, ok := statDirs(dir, now)
	s.cur, s.new, s.trusted = d.cur, d.new, d.trusted
	return s, ok
}

// statDirs is the part of a stamp about cur/ and new/.
func statDirs(dir string, now time.Time) (stamp, bool) {
	var s stamp
	var st unix.Stat_t
	if unix.Stat(filepath.Join(dir, "cur"), &st) != nil {
		return s, false
	}
	s.cur = st.Mtim.Nano()
	if unix.Stat(filepath.Join(dir, "new"), &st) != nil {
		return s, false
	}
	s.new = st.Mtim.Nano()
	limit := now.Add(-time.Second).UnixNano()
	s.trusted = s.cur < limit && s.new < limit
	return s, true
}

// unchanged reports whether the folder is as it was at s.
func unchanged(dir string, s stamp) bool {
	if !s.trusted {
		return false
	}
	t, ok := statStamp(dir, true, time.Now())
	t.trusted = true
	return ok && t == s
}

// lockedStamp is locked, also returning the folder's stamp.
func lockedStamp(dir string, now func() time.Time, pre func() error, fn func(st *state) error) (stamp, error) {
	var stp stamp
	err := lockedDo(dir, now, pre, func(st *state) error {
		dirs, ok := statDirs(dir, time.Now())
		stp.cur, stp.new, stp.trusted = dirs.cur, dirs.new, dirs.trusted
		// The readdir of cur/ and new/ is skipped when their mtimes are
		// the ones the index recorded after a scan, as Dovecot's maildir
		// sync does: a file added, removed or renamed (a flag change)
		// changes its directory's mtime. A directory changed in the last
		// second is scanned (trusted): a change in the same clock tick
		// would not show.
		if !(ok && dirs.trusted && !st.dirty && st.ix.CurTime == dirs.cur && st.ix.NewTime == dirs.new) {
			if err := st.scan(); err != nil {
				return err
			}
			// What the scan saw is what the directories held at the
			// stat or later: if either changed after it, its mtime
			// differs from the recorded one and the next sync scans.
			// Untrusted times are not recorded; the old record cannot
			// match them (it is older than a second, they are not), so
			// it stays, and the index is not rewritten for it.
			if ok && dirs.trusted && (st.ix.CurTime != dirs.cur || st.ix.NewTime != dirs.new) {
				st.ix.CurTime, st.ix.NewTime = dirs.cur, dirs.new
				st.dirty = true
			}
		}
		if fn != nil {
			return fn(st)
		}
		return nil
	})
	if err == nil {
		if idx, ok := statStamp(dir, false, time.Now()); ok {
			stp.idxIno, stp.idxSize, stp.idxTime = idx.idxIno, idx.idxSize, idx.idxTime
		} else {
			stp.trusted = false
		}
	}
	return stp, err
}

// lockedDo takes the lock, reads the index and runs fn, writing the index
// back if fn changed it.
func lockedDo(dir string, now func() time.Time, pre func() error, fn func(st *state) error) error {
	lf, err := os.OpenFile(filepath.Join(dir, lockFile), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return ErrNoFolder
		}
		return fmt.Errorf("lock folder: %w", err)
	}
	defer lf.Close()
	if err := unix.Flock(int(lf.Fd()), unix.LOCK_EX); err != nil {
		return fmt.Errorf("lock folder %s: %w", dir, err)
	}
	if pre != nil {
		if err := pre(); err != nil {
			return err
		}
	}
	st := &state{dir: dir}
	if st.kw, err = readKeywords(dir); err != nil {
		return err
	}
	var fresh bool
	st.ix, fresh, err = readIndex(dir, now)
	if err != nil {
		return err
	}
	// A new UIDVALIDITY is written at once, even for an empty folder, so
	// that the next session sees the same one.
	st.dirty = fresh
	if err := fn(st); err != nil {
		return err
	}
	if st.dirty {
		return writeIndex(dir, st.ix)
	}
	return nil
}

// readIndex reads the index, or starts a new one when there is none or
// it cannot be trusted. A new UIDVALIDITY is the time, and above the old
// one if the old one could be read, so that clients drop their caches
// (RFC 3501 §2.3.1.1).
func readIndex(dir string, now func() time.Time) (ix *index, fresh bool, err error) {
	data, err := readString(filepath.Join(dir, indexFile))
	if err != nil && !errors.Is(err, fs.ErrNotExist) {
		return nil, false, fmt.Errorf("read index: %w", err)
	}
	if err == nil {
		ix, perr := parseIndexData(data)
		if perr == nil {
			return ix, false, nil
		}
		// The old UIDVALIDITY, if the header still reads, must not come
		// back: the new one is above it.
		old := uint32(0)
		if _, rest, ok := strings.Cut(data, "\n"); ok {
			fmt.Sscanf(rest, "%d", &old)
		}
		return freshIndex(now, old), true, nil
	}
	if f, err := os.Open(filepath.Join(dir, dovecotUIDList)); err == nil {
		ix := parseUIDList(f)
		f.Close()
		if ix != nil {
			return ix, true, nil
		}
	}
	return freshIndex(now, 0), true, nil
}

// readString reads a file into a string with one allocation (the
// entries of a parsed index are slices of it).
func readString(p string) (string, error) {
	f, err := os.Open(p)
	if err != nil {
		return "", err
	}
	defer f.Close()
	var b strings.Builder
	if fi, err := f.Stat(); err == nil {
		b.Grow(int(fi.Size()) + 1)
	}
	if _, err := io.Copy(&b, f); err != nil {
		return "", err
	}
	return b.String(), nil
}

func freshIndex(now func() time.Time, old uint32) *index {
	v := uint32(now().Unix())
	if v <= old {
		v = old + 1
	}
	if v == 0 {
		v = 1
	}
	return &index{UIDValidity: v, UIDNext: 1, HighestModSeq: 1, FirstRecent: 1, Entries: []entry{}}
}

// writeIndex replaces the index atomically: a temporary file, fsynced,
// renamed over the old one. The directory is not fsynced: an index lost
// in a crash is rebuilt with a new UIDVALIDITY, which is correct if
// costly, and an fsync per flag change is not worth that.
func writeIndex(dir string, ix *index) error {
	tmp := filepath.Join(dir, indexFile+".tmp")
	f, err := os.OpenFile(tmp, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o600)
	if err != nil {
		return fmt.Errorf("write index: %w", err)
	}
	_, err = f.Write(ix.format())
	if err == nil {
		err = commit.File(f)
	}
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	if err == nil {
		err = os.Rename(tmp, filepath.Join(dir, indexFile))
	}
	if err != nil {
		os.Remove(tmp)
		return fmt.Errorf("write index: %w", err)
	}
	return nil
}

// scan reconciles the index with the files in new/ and cur/.
func (st *state) scan() error {
	cur, err := readNames(filepath.Join(st.dir, "cur"))
	if err != nil {
		return err
	}
	news, err := readNames(filepath.Join(st.dir, "new"))
	if err != nil {
		return err
	}
	// base -> info for every message file.
	files := make(map[string]string, len(cur)+len(news))
	for _, n := range cur {
		base, info, ok := strings.Cut(n, ":2,")
		if !ok {
			// A name in cur/ without info (another program's); give it
			// one so that every file in cur/ has the form we expect.
			base, _, _ = strings.Cut(n, ":")
			if !validBase(base) || os.Rename(filepath.Join(st.dir, "cur", n), filepath.Join(st.dir, "cur", base+":2,")) != nil {
				continue
			}
		}
		if validBase(base) && validInfo(info) {
			files[base] = info
		}
	}
	for _, n := range news {
		base, info, _ := strings.Cut(n, ":")
		// Some writers give flags already in new/; they are kept.
		info, _ = strings.CutPrefix(info, "2,")
		if !validBase(base) || !validInfo(info) {
			continue
		}
		// A message is moved to cur/ when a session first sees it, as
		// every Maildir reader does: new/ means "not yet seen by a
		// reader" (cr.yp.to/proto/maildir.html).
		if err := os.Rename(filepath.Join(st.dir, "new", n), filepath.Join(st.dir, "cur", base+":2,"+info)); err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				continue
			}
			return fmt.Errorf("sync folder: %w", err)
		}
		files[base] = info
	}
	if err := st.recheck(files); err != nil {
		return err
	}
	kept := st.ix.Entries[:0]
	for _, e := range st.ix.Entries {
		info, ok := files[e.Base]
		if !ok {
			st.bump() // an expunge changes HIGHESTMODSEQ (RFC 7162 §3.2.10)
			continue
		}
		delete(files, e.Base)
		if e.adopted() {
			e.Info = info
			if _, err := st.describe(&e); err != nil {
				st.bump()
				continue
			}
		}
		if info != e.Info {
			e.Info = info
			e.ModSeq = st.bump()
		}
		kept = append(kept, e)
	}
	st.ix.Entries = kept
	// What is left is new to the index: files delivered to new/ and
	// files other programs put into cur/ directly.
	type fresh struct {
		entry
		order int64 // delivery time in microseconds
		seq   uint64
	}
	added := make([]fresh, 0, len(files))
	for base, info := range files {
		added = append(added, fresh{entry: entry{Base: base, Info: info}})
	}
	// A folder seen for the first time has thousands of files to stat:
	// a few at once, the names parsed meanwhile.
	ok := make([]bool, len(added))
	parallel(len(added), func(i int) {
		e := &added[i]
		var err error
		if e.order, err = st.describe(&e.entry); err != nil {
			return // gone meanwhile
		}
		if n, err := maildir.ParseName(e.Base); err == nil {
			e.order, e.seq = n.Sec*1e6+int64(n.Usec), n.Seq
		}
		ok[i] = true
	})
	n := 0
	for i := range added {
		if ok[i] {
			added[n] = added[i]
			n++
		}
	}
	added = added[:n]
	// Older messages get lower UIDs: by the delivery time in the name
	// (and the writer's counter within a microsecond), else the mtime.
	slices.SortFunc(added, func(a, b fresh) int {
		if a.order != b.order {
			return cmp.Compare(a.order, b.order)
		}
		if a.seq != b.seq {
			return cmp.Compare(a.seq, b.seq)
		}
		return strings.Compare(a.Base, b.Base)
	})
	for _, f := range added {
		e := f.entry
		e.UID = st.ix.UIDNext
		st.ix.UIDNext++
		e.ModSeq = st.bump()
		st.ix.Entries = append(st.ix.Entries, e)
	}
	return nil
}

// parallel runs fn(0) ... fn(n-1), on a few goroutines when n is large.
func parallel(n int, fn func(i int)) {
	const workers, chunk = 4, 256
	if n < 2*chunk {
		for i := range n {
			fn(i)
		}
		return
	}
	var next atomic.Int64
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for {
				lo := int(next.Add(chunk)) - chunk
				if lo >= n {
					return
				}
				for i := lo; i < min(lo+chunk, n); i++ {
					fn(i)
				}
			}
		}()
	}
	wg.Wait()
}

// recheck looks again for indexed messages the scan did not find before
// they are taken for expunged. Our own renames happen under the lock,
// but another program (a Maildir reader) may rename a file while
// readdir runs, and readdir need not return an entry renamed during it;
// dropping such a message would give it a new UID when it shows up
// again. A stat of its last known name, then one more readdir of cur/,
// make that window very small.
func (st *state) recheck(files map[string]string) error {
	var missing []*entry
	for i := range st.ix.Entries {
		if _, ok := files[st.ix.Entries[i].Base]; !ok {
			missing = append(missing, &st.ix.Entries[i])
		}
	}
	if len(missing) == 0 {
		return nil
	}
	var again map[string]string
	for _, e := range missing {
		if _, err := os.Lstat(st.path(e)); err == nil {
			files[e.Base] = e.Info
			continue
		}
		if again == nil {
			names, err := readNames(filepath.Join(st.dir, "cur"))
			if err != nil {
				return err
			}
			again = make(map[string]string, len(names))
			for _, n := range names {
				if base, info, ok := strings.Cut(n, ":2,"); ok && validInfo(info) {
					again[base] = info
				}
			}
		}
		if info, ok := again[e.Base]; ok {
			files[e.Base] = info
		}
	}
	return nil
}

// describe fills in a new message's internal date (the file's mtime, as
// Dovecot takes it) and CRLF size (W= from the name, else counted), and
// returns the mtime in microseconds.
func (st *state) describe(e *entry) (int64, error) {
	p := st.path(e)
	fi, err := os.Stat(p)
	if err != nil {
		return 0, err
	}
	e.Date = fi.ModTime().Unix()
	mtime := fi.ModTime().UnixMicro()
	if n, err := maildir.ParseName(e.Base); err == nil && n.VSize >= 0 {
		e.Size = n.VSize
		return mtime, nil
	}
	if _, v, ok := strings.Cut(e.Base, ",W="); ok {
		var w int64
		if _, err := fmt.Sscanf(v, "%d", &w); err == nil && w >= 0 {
			e.Size = w
			return mtime, nil
		}
	}
	f, err := os.Open(p)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	e.Size, err = crlfSize(f)
	return mtime, err
}

// crlfSize is the size of r with every bare LF counted as CRLF.
func crlfSize(r io.Reader) (int64, error) {
	buf := make([]byte, 32<<10)
	var n int64
	prevCR := false
	for {
		k, err := r.Read(buf)
		for _, c := range buf[:k] {
			n++
			if c == '\n' && !prevCR {
				n++
			}
			prevCR = c == '\r'
		}
		if err == io.EOF {
			return n, nil
		}
		if err != nil {
			return 0, err
		}
	}
}

// readNames lists a directory without sorting (a folder may hold tens
// of thousands of files) and without dot files.
func readNames(dir string) ([]string, error) {
	d, err := os.Open(dir)
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNoFolder
		}
		return nil, fmt.Errorf("sync folder: %w", err)
	}
	defer d.Close()
	names, err := d.Readdirnames(-1)
	if err != nil {
		return nil, fmt.Errorf("sync folder: %w", err)
	}
	return slices.DeleteFunc(names, func(n string) bool { return strings.HasPrefix(n, ".") }), nil
}

// readKeywords reads Dovecot's dovecot-keywords: "N name" lines, N being
// the letter's index (0 is 'a').
func readKeywords(dir string) ([]string, error) {
	data, err := os.ReadFile(filepath.Join(dir, keywordsFile))
	if errors.Is(err, fs.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("read keywords: %w", err)
	}
	var kw []string
	for _, line := range strings.Split(string(data), "\n") {
		var i int
		var name string
		if n, _ := fmt.Sscanf(line, "%d %s", &i, &name); n != 2 || i < 0 || i >= 26 {
			continue
		}
		for len(kw) <= i {
			kw = append(kw, "")
		}
		kw[i] = name
	}
	return kw, nil
}

func writeKeywords(dir string, kw []string) error {
	var b strings.Builder
	for i, k := range kw {
		if k != "" {
			fmt.Fprintf(&b, "%d %s\n", i, k)
		}
	}
	tmp := filepath.Join(dir, keywordsFile+".tmp")
	if err := os.WriteFile(tmp, []byte(b.String()), 0o600); err != nil {
		return fmt.Errorf("write keywords: %w", err)
	}
	if err := os.Rename(tmp, filepath.Join(dir, keywordsFile)); err != nil {
		return fmt.Errorf("write keywords: %w", err)
	}
	return nil
}

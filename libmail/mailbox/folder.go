package mailbox

import (
	"bytes"
	"cmp"
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"time"
)

// mdFolder is a selected Maildir folder.
type mdFolder struct {
	s        *Maildir
	name     string
	dir      string
	readOnly bool
	view
	uidValidity uint32
	uidNext     uint32
	highest     uint64
	kw          []string
	// ents are the index's entries as of the last locked operation
	// (ascending UID), for the files' current names; the slice is the
	// index's own, which no later operation changes (each reads anew).
	ents    []entry
	entHint int // the index entry last found
	watch   *watcher
	// liveSet is built by isLive when the cache is rewritten.
	liveSet map[string]bool
	cache   *headerCache
	// items are the caches of derived items (CachedItem), by key.
	items map[string]*headerCache
	// gone holds the snapshot a UIDVALIDITY change voided, for the next
	// Sync to report.
	gone []Expunged
	// stamp is the folder as the last Sync left it.
	stamp stamp
}

func (f *mdFolder) Name() string          { return f.name }
func (f *mdFolder) ReadOnly() bool        { return f.readOnly }
func (f *mdFolder) UIDValidity() uint32   { return f.uidValidity }
func (f *mdFolder) UIDNext() uint32       { return f.uidNext }
func (f *mdFolder) HighestModSeq() uint64 { return f.highest }
func (f *mdFolder) Messages() []Message   { return f.msgs }
func (f *mdFolder) Keywords() []string {
	var out []string
	for _, k := range f.kw {
		if k != "" {
			out = append(out, k)
		}
	}
	return out
}

// message converts an index entry. Messages with the same flag letters
// share one (clipped, read-only) Flags slice: a folder has few distinct
// combinations, and SELECT of a large one should not allocate per message.
func (st *state) message(e *entry) Message {
	flags, ok := st.flags[e.Info]
	if !ok {
		flags, _ = parseInfo(e.Info, st.kw)
		flags = slices.Clip(flags)
		if st.flags == nil {
			st.flags = map[string][]string{}
		}
		st.flags[e.Info] = flags
	}
	return Message{UID: e.UID, Flags: flags, ModSeq: e.ModSeq, Size: e.Size, Date: time.Unix(e.Date, 0)}
}

// entry returns the entry of uid as of the last locked operation.
// Commands walk the folder in UID order, so the entry after the last
// one found is tried before a binary search.
func (f *mdFolder) entry(uid uint32) *entry {
	if i := f.entHint + 1; i < len(f.ents) && f.ents[i].UID == uid {
		f.entHint = i
		return &f.ents[i]
	}
	i, ok := slices.BinarySearchFunc(f.ents, uid, func(e entry, u uint32) int { return cmp.Compare(e.UID, u) })
	if !ok {
		return nil
	}
	f.entHint = i
	return &f.ents[i]
}

// path returns the current path of uid's file, "" if it has none.
func (f *mdFolder) path(uid uint32) string {
	e := f.entry(uid)
	if e == nil {
		return ""
	}
	return filepath.Join(f.dir, "cur", e.Base+":2,"+e.Info)
}

// absorb takes what a locked operation left: the folder's numbers and
// the files' current names. It does not touch the snapshot.
func (f *mdFolder) absorb(st *state) {
	if f.uidValidity != 0 && f.uidValidity != st.ix.UIDValidity {
		// The index was rebuilt under us: the session's UIDs are void.
		f.gone = append(f.gone, f.reset()...)
	}
	f.uidValidity, f.uidNext, f.highest, f.kw = st.ix.UIDValidity, st.ix.UIDNext, st.ix.HighestModSeq, st.kw
	f.ents, f.liveSet = st.ix.Entries, nil
}

// Sync implements Folder.
func (f *mdFolder) Sync(ctx context.Context) (Changes, error) {
	var ch Changes
	f.flushCaches()
	if f.gone == nil && unchanged(f.dir, f.stamp) {
		return ch, nil
	}
	var err error
	f.stamp, err = lockedStamp(f.dir, f.s.opt.Now, nil, func(st *state) error {
		f.absorb(st)
		latest := make([]Message, len(st.ix.Entries))
		first := st.ix.FirstRecent
		j := 0
		for i := range st.ix.Entries {
			e := &st.ix.Entries[i]
			// What the snapshot holds unchanged is reused: no flags to
			// parse for the thousands of messages nothing happened to.
			for j < len(f.msgs) && f.msgs[j].UID < e.UID {
				j++
			}
			if j < len(f.msgs) && f.msgs[j].UID == e.UID && f.msgs[j].ModSeq == e.ModSeq {
				latest[i] = f.msgs[j]
				continue
			}
			latest[i] = st.message(e)
			// \Recent goes to the first read-write session that sees a
			// message (RFC 3501 §2.3.2).
			latest[i].Recent = !f.readOnly && latest[i].UID >= first
		}
		if !f.readOnly && st.ix.FirstRecent != st.ix.UIDNext {
			st.ix.FirstRecent = st.ix.UIDNext
			st.dirty = true
		}
		ch = f.update(latest)
		if f.gone != nil {
			ch.Expunged, ch.Reset, f.gone = f.gone, true, nil
		}
		return nil
	})
	return ch, err
}

// Open implements Folder.
func (f *mdFolder) Open(ctx context.Context, uid uint32) (io.ReadCloser, error) {
	return f.open(uid, false)
}

// OpenHeader implements Folder.
func (f *mdFolder) OpenHeader(ctx context.Context, uid uint32) (io.ReadCloser, error) {
	return f.open(uid, true)
}

func (f *mdFolder) open(uid uint32, header bool) (io.ReadCloser, error) {
	if f.seqOf(uid) == 0 {
		return nil, ErrNoMessage
	}
	p := f.path(uid)
	fh, err := os.Open(p)
	if errors.Is(err, fs.ErrNotExist) {
		// Renamed for a flag change by someone else: look again.
		err = locked(f.dir, f.s.opt.Now, nil, func(st *state) error { f.absorb(st); return nil })
		if err == nil {
			if p = f.path(uid); p == "" {
				return nil, ErrNoMessage
			}
			fh, err = os.Open(p)
		}
	}
	if err != nil {
		if errors.Is(err, fs.ErrNotExist) {
			return nil, ErrNoMessage
		}
		return nil, fmt.Errorf("open message: %w", err)
	}
	return newPooledCRLFReader(fh, header, &f.s.bufs), nil
}

// StoreFlags implements Folder.
func (f *mdFolder) StoreFlags(ctx context.Context, uids []uint32, op FlagOp, flags []string, unchangedSince uint64) (StoreResult, error) {
	if f.readOnly {
		return StoreResult{}, ErrReadOnly
	}
	var res StoreResult
	err := locked(f.dir, f.s.opt.Now, nil, func(st *state) error {
		for _, uid := range uids {
			e := st.find(uid)
			if e == nil || f.seqOf(uid) == 0 {
				continue // expunged meanwhile, or not yet announced
			}
			if unchangedSince > 0 && e.ModSeq > unchangedSince {
				res.Failed = append(res.Failed, uid)
				continue
			}
			before := e.ModSeq
			if err := st.setFlags(e, op, flags); err != nil {
				return err
			}
			if e.ModSeq != before {
				m := st.message(e)
				res.Updated = append(res.Updated, Updated{Seq: f.set(m), Message: m})
			}
		}
		f.absorb(st)
		return nil
	})
	return res, err
}

// Expunge implements Folder.
func (f *mdFolder) Expunge(ctx context.Context, uids []uint32) ([]Expunged, error) {
	if f.readOnly {
		return nil, ErrReadOnly
	}
	want := map[uint32]bool{}
	for _, u := range uids {
		want[u] = true
	}
	var gone []uint32
	err := locked(f.dir, f.s.opt.Now, nil, func(st *state) error {
		var err error
		gone, err = f.remove(st, func(e *entry, m Message) bool {
			return m.Has(FlagDeleted) && (uids == nil || want[e.UID])
		})
		return err
	})
	return f.view.remove(gone), err
}

// remove deletes the files of the snapshot's messages that match, under
// the lock, and drops them from the index.
func (f *mdFolder) remove(st *state, match func(*entry, Message) bool) ([]uint32, error) {
	var gone []uint32
	kept := st.ix.Entries[:0]
	var err error
	for i := range st.ix.Entries {
		e := st.ix.Entries[i]
		if err == nil && f.seqOf(e.UID) != 0 && match(&e, st.message(&e)) {
			if rerr := os.Remove(st.path(&e)); rerr == nil || errors.Is(rerr, fs.ErrNotExist) {
				gone = append(gone, e.UID)
				f.s.addQuota(e.Base, -1)
				st.bump()
				continue
			} else {
				err = fmt.Errorf("expunge: %w", rerr)
			}
		}
		kept = append(kept, e)
	}
	st.ix.Entries = kept
	f.absorb(st)
	return gone, err
}

// Copy implements Folder.
func (f *mdFolder) Copy(ctx context.Context, uids []uint32, dest string) (CopyResult, error) {
	return f.copy(ctx, uids, dest, false)
}

// Move implements Folder.
func (f *mdFolder) Move(ctx context.Context, uids []uint32, dest string) (CopyResult, error) {
	if f.readOnly {
		return CopyResult{}, ErrReadOnly
	}
	return f.copy(ctx, uids, dest, true)
}

// copy links each message's file into the destination under a new name
// (a hard link: no data is copied, and the quota is charged as Dovecot
// charges it, per name), then numbers them there under its lock. Move
// then removes the sources.
func (f *mdFolder) copy(ctx context.Context, uids []uint32, dest string, move bool) (CopyResult, error) {
	if err := checkName(dest); err != nil {
		return CopyResult{}, err
	}
	ddir := f.s.dir(dest)
	if _, err := os.Stat(filepath.Join(ddir, "cur")); err != nil {
		return CopyResult{}, ErrNoFolder
	}
	if err := f.s.checkQuota(0); err != nil {
		return CopyResult{}, err
	}
	var res CopyResult
	type placed struct {
		src  uint32
		base string
	}
	var todo []placed
	err := locked(ddir, f.s.opt.Now, func() error {
		for _, uid := range uids {
			if f.seqOf(uid) == 0 {
				continue
			}
			src := f.path(uid)
			n := f.s.w.NewName()
			n.Size, n.VSize = fileSize(src), f.msgs[f.seqOf(uid)-1].Size
			base := n.String()
			info := infoOf(src)
			if err := os.Link(src, filepath.Join(ddir, "cur", base+":2,"+info)); err != nil {
				if errors.Is(err, fs.ErrNotExist) {
					continue // expunged meanwhile
				}
				return fmt.Errorf("copy: %w", err)
			}
			f.s.addQuota(base, 1)
			todo = append(todo, placed{uid, base})
		}
		return nil
	}, func(st *state) error {
		res.UIDValidity = st.ix.UIDValidity
		byBase := map[string]uint32{}
		for _, e := range st.ix.Entries {
			byBase[e.Base] = e.UID
		}
		for _, p := range todo {
			if u := byBase[p.base]; u != 0 {
				res.Source = append(res.Source, p.src)
				res.Dest = append(res.Dest, u)
			}
		}
		return nil
	})
	if err != nil || !move {
		return res, err
	}
	moved := map[uint32]bool{}
	for _, u := range res.Source {
		moved[u] = true
	}
	var gone []uint32
	err = locked(f.dir, f.s.opt.Now, nil, func(st *state) error {
		var err error
		gone, err = f.remove(st, func(e *entry, _ Message) bool { return moved[e.UID] })
		return err
	})
	res.Expunged = f.view.remove(gone)
	return res, err
}

// infoOf returns the flag letters of a path in cur/.
func infoOf(p string) string {
	for i := len(p) - 1; i >= 2; i-- {
		if p[i-2:i+1] == ":2," {
			return p[i+1:]
		}
		if p[i] == '/' {
			break
		}
	}
	return ""
}

// Close implements Folder.
func (f *mdFolder) Close() error {
	err := f.flushCaches()
	if f.watch != nil {
		err = errors.Join(err, f.watch.close())
	}
	return err
}

// loadCache reads a cache file once per selection.
func (f *mdFolder) loadCache(c *headerCache) {
	if !c.loaded {
		c.load(len(f.ents))
	}
}

// countCache counts a loaded cache's records of messages that are in
// the folder (live) and of those that are not (dead), for flush to
// decide on a rewrite. It is left until the session has records to
// write or the file was damaged: a session that only reads the cache
// then never walks the folder for it, and the records of expunged
// messages go at the next rewrite all the same.
func (f *mdFolder) countCache(c *headerCache) {
	if !c.loaded || c.counted || (len(c.pending) == 0 && c.dead == 0) {
		return
	}
	inData := 0
	for i := range f.ents {
		if c.inData(f.ents[i].Base) {
			inData++
		}
	}
	c.live, c.dead, c.counted = inData+len(c.added), c.dead+c.total-inData, true
}

// flushCaches writes what this session added to the caches.
func (f *mdFolder) flushCaches() error {
	f.countCache(f.cache)
	err := f.cache.flush(f.isLive)
	for _, c := range f.items {
		f.countCache(c)
		err = errors.Join(err, c.flush(f.isLive))
	}
	return err
}

// itemCache returns the cache of key, nil for a key of the wrong form.
func (f *mdFolder) itemCache(key string) *headerCache {
	c := f.items[key]
	if c == nil {
		if !validItemKey(key) {
			return nil
		}
		c = newItemCache(f.dir, key)
		if f.items == nil {
			f.items = map[string]*headerCache{}
		}
		f.items[key] = c
	}
	f.loadCache(c)
	return c
}

// CachedItem implements Folder.
func (f *mdFolder) CachedItem(ctx context.Context, uid uint32, key string) ([]byte, bool) {
	c, e := f.itemCache(key), f.entry(uid)
	if c == nil || e == nil || f.seqOf(uid) == 0 {
		return nil, false
	}
	return c.get(e.Base)
}

// CacheItem implements Folder.
func (f *mdFolder) CacheItem(ctx context.Context, uid uint32, key string, data []byte) {
	c, e := f.itemCache(key), f.entry(uid)
	if c == nil || e == nil || len(data) > 1<<20 {
		return
	}
	if _, ok := c.get(e.Base); !ok {
		c.add(e.Base, slices.Clone(data))
	}
}

// maxCachedHeader bounds what CachedHeader reads of a header section.
const maxCachedHeader = 256 << 10

// CachedHeader implements Folder. A miss reads the headers of the
// following messages that miss too, in parallel, in the expectation of a
// FETCH ENVELOPE over a range (a folder's first one builds the cache for
// all of it).
func (f *mdFolder) CachedHeader(ctx context.Context, uid uint32) ([]byte, error) {
	seq := f.seqOf(uid)
	if seq == 0 {
		return nil, ErrNoMessage
	}
	f.loadCache(f.cache)
	e := f.entry(uid)
	if e == nil {
		return nil, ErrNoMessage
	}
	if data, ok := f.cache.get(e.Base); ok {
		return data, nil
	}
	f.prefetch(int(seq) - 1)
	if data, ok := f.cache.get(e.Base); ok {
		return data, nil
	}
	rc, err := f.OpenHeader(ctx, uid)
	if err != nil {
		return nil, err
	}
	defer rc.Close()
	h, err := io.ReadAll(io.LimitReader(rc, maxCachedHeader))
	if err != nil {
		return nil, fmt.Errorf("read header: %w", err)
	}
	data := fieldsOf(h)
	f.cache.add(e.Base, data)
	return data, nil
}

// prefetchBatch is how many messages a cache miss reads ahead, and
// prefetchWorkers how many files are read at once.
const (
	prefetchBatch   = 512
	prefetchWorkers = 4
)

// prefetch fills the cache for the snapshot's messages from index i on
// that miss, up to prefetchBatch of them. Errors are left for the
// single read of CachedHeader to report.
func (f *mdFolder) prefetch(i int) {
	type job struct {
		base, path string
		data       []byte
	}
	var jobs []job
	for ; i < len(f.msgs) && len(jobs) < prefetchBatch; i++ {
		e := f.entry(f.msgs[i].UID)
		if e == nil {
			continue
		}
		if _, ok := f.cache.get(e.Base); ok {
			continue
		}
		jobs = append(jobs, job{base: e.Base, path: filepath.Join(f.dir, "cur", e.Base+":2,"+e.Info)})
	}
	if len(jobs) < 2 {
		return
	}
	var wg sync.WaitGroup
	next := make(chan int)
	for range min(prefetchWorkers, len(jobs)) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			var rd fieldReader
			for j := range next {
				jobs[j].data, _ = rd.read(jobs[j].path)
			}
		}()
	}
	for j := range jobs {
		next <- j
	}
	close(next)
	wg.Wait()
	for _, j := range jobs {
		if j.data != nil {
			f.cache.add(j.base, j.data)
		}
	}
}

// fieldReader reads the cached fields of message files, reusing its
// buffers from one file to the next.
type fieldReader struct {
	bufs *crlfBufs
	buf  bytes.Buffer
}

func (rd *fieldReader) read(p string) ([]byte, error) {
	fh, err := os.Open(p)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	if rd.bufs == nil {
		// Reads of a page: most header sections fit, and the body
		// after them is not copied.
		rd.bufs = &crlfBufs{in: make([]byte, 4<<10), out: make([]byte, 0, 8<<10)}
	}
	rd.buf.Reset()
	c := crlfReader{r: fh, c: fh, bufs: rd.bufs, header: true}
	if _, err := rd.buf.ReadFrom(io.LimitReader(&c, maxCachedHeader)); err != nil {
		return nil, err
	}
	return fieldsOf(rd.buf.Bytes()), nil
}

// isLive reports whether base is a message of the folder, for the cache
// to drop the records of others when it is rewritten.
func (f *mdFolder) isLive(base string) bool {
	if f.liveSet == nil {
		f.liveSet = make(map[string]bool, len(f.ents))
		for i := range f.ents {
			f.liveSet[f.ents[i].Base] = true
		}
	}
	return f.liveSet[base]
}

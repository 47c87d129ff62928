package mailbox

import (
	"bytes"
	"context"
	"fmt"
	"io"
	"slices"
	"strings"
	"sync"
	"time"
)

// Memory is a Store in memory, for protocol tests: the same behaviour
// as the Maildir store (UIDs, modseqs, \Recent, Sync's changes), without
// files. One Memory is one account; it is safe for concurrent use, and
// every session of a test shares it, as sessions share a Maildir.
type Memory struct {
	mu      sync.Mutex
	now     func() time.Time
	limit   int64
	folders map[string]*memBox
	subs    map[string]bool
	locks   map[string]bool
	next    uint32 // for UIDVALIDITY
}

type memBox struct {
	uidValidity, uidNext, firstRecent uint32
	highest                           uint64
	msgs                              []memMsg
	watchers                          map[chan struct{}]bool
}

type memMsg struct {
	Message
	data  []byte            // CRLF
	items map[string][]byte // CacheItem's
}

// NewMemory returns an empty account with INBOX and the special-use
// folders. limit is the quota in bytes (0 for none).
func NewMemory(now func() time.Time, limit int64) *Memory {
	m := &Memory{now: now, limit: limit, folders: map[string]*memBox{}, subs: map[string]bool{}, locks: map[string]bool{}}
	m.next = uint32(now().Unix())
	m.folders[Inbox] = m.newBox()
	for _, f := range SpecialFolders {
		m.folders[f.Name] = m.newBox()
		m.subs[f.Name] = true
	}
	return m
}

func (m *Memory) newBox() *memBox {
	m.next++
	return &memBox{uidValidity: m.next, uidNext: 1, firstRecent: 1, highest: 1, watchers: map[chan struct{}]bool{}}
}

func memName(name string) string {
	if isInbox(name) {
		return Inbox
	}
	return name
}

func (m *Memory) box(name string) (*memBox, error) {
	b := m.folders[memName(name)]
	if b == nil {
		return nil, ErrNoFolder
	}
	return b, nil
}

// changed wakes the sessions watching b.
func (b *memBox) changed() {
	for ch := range b.watchers {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
}

// List implements Store.
func (m *Memory) List(ctx context.Context) ([]FolderInfo, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	out := []FolderInfo{{Name: Inbox, Subscribed: m.subs[Inbox]}}
	var names []string
	for n := range m.folders {
		if n != Inbox {
			names = append(names, n)
		}
	}
	slices.Sort(names)
	for _, n := range names {
		fi := FolderInfo{Name: n, Subscribed: m.subs[n], Use: specialUse(n)}
		for _, o := range names {
			fi.Children = fi.Children || strings.HasPrefix(o, n+"/")
		}
		out = append(out, fi)
	}
	return out, nil
}

// Create implements Store.
func (m *Memory) Create(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.folders[memName(name)] != nil {
		return ErrExists
	}
	parts := strings.Split(name, "/")
	for i := range parts {
		if n := strings.Join(parts[:i+1], "/"); m.folders[n] == nil {
			m.folders[n] = m.newBox()
		}
	}
	return nil
}

// Delete implements Store.
func (m *Memory) Delete(ctx context.Context, name string) error {
	if isInbox(name) {
		return fmt.Errorf("%w: INBOX cannot be deleted", ErrBadName)
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.folders[name] == nil {
		return ErrNoFolder
	}
	for n := range m.folders {
		if strings.HasPrefix(n, name+"/") {
			return ErrHasFolders
		}
	}
	delete(m.folders, name)
	return nil
}

// Rename implements Store.
func (m *Memory) Rename(ctx context.Context, from, to string) error {
	if err := checkName(to); err != nil {
		return err
	}
	m.mu.Lock()
	defer m.mu.Unlock()
	b := m.folders[memName(from)]
	if b == nil {
		return ErrNoFolder
	}
	if m.folders[memName(to)] != nil {
		return ErrExists
	}
	if isInbox(from) {
		nb := m.newBox()
		for _, msg := range b.msgs {
			msg.UID = nb.uidNext
			nb.uidNext++
			nb.msgs = append(nb.msgs, msg)
		}
		m.folders[to] = nb
		b.msgs = nil
		b.highest++
		b.changed()
		return nil
	}
	for n, fb := range m.folders {
		if n == from || strings.HasPrefix(n, from+"/") {
			delete(m.folders, n)
			m.folders[to+n[len(from):]] = fb
		}
	}
	return nil
}

// Subscribe implements Store.
func (m *Memory) Subscribe(ctx context.Context, name string, on bool) error {
	m.mu.Lock()
	defer m.mu.Unlock()
	if on {
		m.subs[memName(name)] = true
	} else {
		delete(m.subs, memName(name))
	}
	return nil
}

// Subscriptions implements Store.
func (m *Memory) Subscriptions(ctx context.Context) ([]string, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var out []string
	for n := range m.subs {
		out = append(out, n)
	}
	slices.Sort(out)
	return out, nil
}

// Status implements Store.
func (m *Memory) Status(ctx context.Context, name string) (Status, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	b, err := m.box(name)
	if err != nil {
		return Status{}, err
	}
	st := Status{Messages: uint32(len(b.msgs)), UIDNext: b.uidNext, UIDValidity: b.uidValidity, HighestModSeq: b.highest}
	for _, msg := range b.msgs {
		if !msg.Has(FlagSeen) {
			st.Unseen++
		}
		if msg.UID >= b.firstRecent {
			st.Recent++
		}
		st.Size += msg.Size
	}
	return st, nil
}

// Append implements Store.
func (m *Memory) Append(ctx context.Context, name string, flags []string, date time.Time, r io.Reader) (AppendResult, error) {
	data, err := io.ReadAll(r)
	if err != nil {
		return AppendResult{}, fmt.Errorf("append: %w", err)
	}
	data = toCRLF(data)
	m.mu.Lock()
	defer m.mu.Unlock()
	b, err := m.box(name)
	if err != nil {
		return AppendResult{}, err
	}
	if m.limit > 0 && m.used()+int64(len(data)) > m.limit {
		return AppendResult{}, ErrOverQuota
	}
	if date.IsZero() {
		date = m.now()
	}
	uid := b.add(data, applyFlags(nil, FlagsReplace, flags), date)
	return AppendResult{UIDValidity: b.uidValidity, UID: uid}, nil
}

func (b *memBox) add(data []byte, flags []string, date time.Time) uint32 {
	b.highest++
	msg := memMsg{Message: Message{UID: b.uidNext, Flags: flags, ModSeq: b.highest, Size: int64(len(data)), Date: date.Truncate(time.Second)}, data: data}
	b.uidNext++
	b.msgs = append(b.msgs, msg)
	b.changed()
	return msg.UID
}

// Deliver adds a message to INBOX as local would; data in any line-end
// form.
func (m *Memory) Deliver(data []byte) uint32 {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.folders[Inbox].add(toCRLF(data), nil, m.now())
}

func toCRLF(data []byte) []byte {
	data = bytes.ReplaceAll(data, []byte("\r\n"), []byte("\n"))
	return bytes.ReplaceAll(data, []byte("\n"), []byte("\r\n"))
}

func (m *Memory) used() int64 {
	var n int64
	for _, b := range m.folders {
		for _, msg := range b.msgs {
			n += msg.Size
		}
	}
	return n
}

// Quota implements Store.
func (m *Memory) Quota(ctx context.Context) (Quota, error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	var c int64
	for _, b := range m.folders {
		c += int64(len(b.msgs))
	}
	return Quota{Used: m.used(), Messages: c, Limit: m.limit}, nil
}

// Exclusive implements Store.
func (m *Memory) Exclusive(ctx context.Context, name string) (func(), error) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if m.locks[name] {
		return nil, ErrInUse
	}
	m.locks[name] = true
	return func() {
		m.mu.Lock()
		defer m.mu.Unlock()
		delete(m.locks, name)
	}, nil
}

// Close implements Store.
func (m *Memory) Close() error { return nil }

// Select implements Store.
func (m *Memory) Select(ctx context.Context, name string, readOnly bool) (Folder, error) {
	m.mu.Lock()
	_, err := m.box(name)
	m.mu.Unlock()
	if err != nil {
		return nil, err
	}
	f := &memFolder{m: m, name: memName(name), readOnly: readOnly, watch: make(chan struct{}, 1)}
	if _, err := f.Sync(ctx); err != nil {
		return nil, err
	}
	return f, nil
}

// memFolder is a session's selected folder in a Memory.
type memFolder struct {
	m        *Memory
	name     string
	readOnly bool
	view
	uidValidity, uidNext uint32
	highest              uint64
	watch                chan struct{}
}

func (f *memFolder) Name() string          { return f.name }
func (f *memFolder) ReadOnly() bool        { return f.readOnly }
func (f *memFolder) UIDValidity() uint32   { return f.uidValidity }
func (f *memFolder) UIDNext() uint32       { return f.uidNext }
func (f *memFolder) HighestModSeq() uint64 { return f.highest }
func (f *memFolder) Messages() []Message   { return f.msgs }

func (f *memFolder) Keywords() []string {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	var kw []string
	if b, err := f.m.box(f.name); err == nil {
		for _, msg := range b.msgs {
			for _, fl := range msg.Flags {
				if !strings.HasPrefix(fl, `\`) && !slices.Contains(kw, fl) {
					kw = append(kw, fl)
				}
			}
		}
	}
	slices.Sort(kw)
	return kw
}

// locked runs fn on the folder's box under the Memory's lock.
func (f *memFolder) locked(fn func(b *memBox) error) error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	b, err := f.m.box(f.name)
	if err != nil {
		return err
	}
	if err := fn(b); err != nil {
		return err
	}
	f.uidValidity, f.uidNext, f.highest = b.uidValidity, b.uidNext, b.highest
	return nil
}

func (b *memBox) find(uid uint32) *memMsg {
	for i := range b.msgs {
		if b.msgs[i].UID == uid {
			return &b.msgs[i]
		}
	}
	return nil
}

// Sync implements Folder.
func (f *memFolder) Sync(ctx context.Context) (Changes, error) {
	var ch Changes
	err := f.locked(func(b *memBox) error {
		var gone []Expunged
		if f.uidValidity != 0 && f.uidValidity != b.uidValidity {
			gone = f.reset()
		}
		b.watchers[f.watch] = true
		latest := make([]Message, len(b.msgs))
		for i, msg := range b.msgs {
			latest[i] = msg.Message
			latest[i].Recent = !f.readOnly && msg.UID >= b.firstRecent
		}
		if !f.readOnly {
			b.firstRecent = b.uidNext
		}
		ch = f.update(latest)
		if gone != nil {
			ch.Expunged, ch.Reset = gone, true
		}
		return nil
	})
	return ch, err
}

// Open implements Folder.
func (f *memFolder) Open(ctx context.Context, uid uint32) (io.ReadCloser, error) {
	var data []byte
	err := f.locked(func(b *memBox) error {
		msg := b.find(uid)
		if msg == nil || f.seqOf(uid) == 0 {
			return ErrNoMessage
		}
		data = msg.data
		return nil
	})
	return io.NopCloser(bytes.NewReader(data)), err
}

// OpenHeader implements Folder.
func (f *memFolder) OpenHeader(ctx context.Context, uid uint32) (io.ReadCloser, error) {
	rc, err := f.Open(ctx, uid)
	if err != nil {
		return nil, err
	}
	return newCRLFReader(rc, true), nil
}

// CachedHeader implements Folder.
func (f *memFolder) CachedHeader(ctx context.Context, uid uint32) ([]byte, error) {
	rc, err := f.OpenHeader(ctx, uid)
	if err != nil {
		return nil, err
	}
	h, err := io.ReadAll(rc)
	return fieldsOf(h), err
}

// CachedItem implements Folder.
func (f *memFolder) CachedItem(ctx context.Context, uid uint32, key string) (data []byte, ok bool) {
	if f.seqOf(uid) == 0 {
		return nil, false
	}
	f.withMsg(uid, key, func(msg *memMsg) { data, ok = msg.items[key] })
	return data, ok
}

// CacheItem implements Folder.
func (f *memFolder) CacheItem(ctx context.Context, uid uint32, key string, data []byte) {
	f.withMsg(uid, key, func(msg *memMsg) {
		if msg.items == nil {
			msg.items = map[string][]byte{}
		}
		msg.items[key] = slices.Clone(data)
	})
}

// withMsg runs fn on uid's message under the store's lock, for
// CachedItem and CacheItem, without touching the session's numbers as
// locked does.
func (f *memFolder) withMsg(uid uint32, key string, fn func(*memMsg)) {
	if !validItemKey(key) {
		return
	}
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if b, err := f.m.box(f.name); err == nil {
		if msg := b.find(uid); msg != nil {
			fn(msg)
		}
	}
}

// StoreFlags implements Folder.
func (f *memFolder) StoreFlags(ctx context.Context, uids []uint32, op FlagOp, flags []string, unchangedSince uint64) (StoreResult, error) {
	if f.readOnly {
		return StoreResult{}, ErrReadOnly
	}
	var res StoreResult
	err := f.locked(func(b *memBox) error {
		for _, uid := range uids {
			msg := b.find(uid)
			if msg == nil || f.seqOf(uid) == 0 {
				continue
			}
			if unchangedSince > 0 && msg.ModSeq > unchangedSince {
				res.Failed = append(res.Failed, uid)
				continue
			}
			next := applyFlags(msg.Flags, op, flags)
			if sameFlags(next, msg.Flags) {
				continue
			}
			b.highest++
			msg.Flags, msg.ModSeq = next, b.highest
			res.Updated = append(res.Updated, Updated{Seq: f.set(msg.Message), Message: msg.Message})
		}
		if len(res.Updated) > 0 {
			b.changed()
		}
		return nil
	})
	return res, err
}

// Expunge implements Folder.
func (f *memFolder) Expunge(ctx context.Context, uids []uint32) ([]Expunged, error) {
	if f.readOnly {
		return nil, ErrReadOnly
	}
	var gone []uint32
	err := f.locked(func(b *memBox) error {
		gone = f.removeIf(b, func(msg *memMsg) bool {
			return msg.Has(FlagDeleted) && (uids == nil || slices.Contains(uids, msg.UID))
		})
		return nil
	})
	return f.view.remove(gone), err
}

func (f *memFolder) removeIf(b *memBox, match func(*memMsg) bool) []uint32 {
	var gone []uint32
	b.msgs = slices.DeleteFunc(b.msgs, func(msg memMsg) bool {
		if f.seqOf(msg.UID) != 0 && match(&msg) {
			gone = append(gone, msg.UID)
			b.highest++
			return true
		}
		return false
	})
	if len(gone) > 0 {
		b.changed()
	}
	return gone
}

// Copy implements Folder.
func (f *memFolder) Copy(ctx context.Context, uids []uint32, dest string) (CopyResult, error) {
	return f.copy(uids, dest, false)
}

// Move implements Folder.
func (f *memFolder) Move(ctx context.Context, uids []uint32, dest string) (CopyResult, error) {
	if f.readOnly {
		return CopyResult{}, ErrReadOnly
	}
	return f.copy(uids, dest, true)
}

func (f *memFolder) copy(uids []uint32, dest string, move bool) (CopyResult, error) {
	var res CopyResult
	var gone []uint32
	err := f.locked(func(b *memBox) error {
		d, err := f.m.box(dest)
		if err != nil {
			return err
		}
		res.UIDValidity = d.uidValidity
		for _, uid := range uids {
			msg := b.find(uid)
			if msg == nil || f.seqOf(uid) == 0 {
				continue
			}
			if f.m.limit > 0 && f.m.used()+msg.Size > f.m.limit {
				return ErrOverQuota
			}
			res.Source = append(res.Source, uid)
			res.Dest = append(res.Dest, d.add(msg.data, slices.Clone(msg.Flags), msg.Date))
		}
		if move {
			gone = f.removeIf(b, func(msg *memMsg) bool { return slices.Contains(res.Source, msg.UID) })
		}
		return nil
	})
	res.Expunged = f.view.remove(gone)
	return res, err
}

// Watch implements Folder.
func (f *memFolder) Watch() <-chan struct{} { return f.watch }

// Close implements Folder.
func (f *memFolder) Close() error {
	f.m.mu.Lock()
	defer f.m.mu.Unlock()
	if b, err := f.m.box(f.name); err == nil {
		delete(b.watchers, f.watch)
	}
	return nil
}

package mailbox

import (
	"context"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"time"

	"golang.org/x/sys/unix"

	"postern.dev/postern/libmail/maildir"
)

// Options configure a Maildir store.
type Options struct {
	Hostname string           // for the names of appended and copied files
	Now      func() time.Time // the clock; time.Now if nil
	// QuotaLimit is the account's storage limit in bytes, 0 for none;
	// Append and Copy refuse to go past it (ErrOverQuota).
	QuotaLimit int64
}

// Maildir is the Store over a Maildir++ directory.
type Maildir struct {
	root string
	opt  Options
	w    *maildir.Writer
	mu   sync.Mutex
	// locks are the Exclusive locks this Store holds.
	locks map[string]*os.File
	// bufs are the buffers of message readers (crlfReader), reused
	// across the thousands of messages a SEARCH BODY reads.
	bufs sync.Pool
}

// Open opens the account whose Maildir is root, creating it and the
// special-use folders if they are missing (an account's first login).
func Open(ctx context.Context, root string, opt Options) (*Maildir, error) {
	if opt.Now == nil {
		opt.Now = time.Now
	}
	s := &Maildir{root: root, opt: opt, locks: map[string]*os.File{}, bufs: sync.Pool{New: newCRLFBufs}}
	s.w = maildir.NewWriter(opt.Hostname, os.Getpid(), opt.Now)
	if err := maildir.Create(root, 0o700); err != nil {
		return nil, fmt.Errorf("open mailbox: %w", err)
	}
	for _, f := range SpecialFolders {
		if _, err := os.Stat(s.dir(f.Name)); errors.Is(err, fs.ErrNotExist) {
			if err := s.Create(ctx, f.Name); err != nil && !errors.Is(err, ErrExists) {
				return nil, fmt.Errorf("open mailbox: %w", err)
			}
			if err := s.Subscribe(ctx, f.Name, true); err != nil {
				return nil, err
			}
		}
	}
	return s, nil
}

// Root is the Maildir's directory.
func (s *Maildir) Root() string { return s.root }

// isInbox reports whether name is INBOX, which is case-insensitive
// (RFC 3501 §5.1).
func isInbox(name string) bool { return strings.EqualFold(name, Inbox) }

// checkName validates a folder name. '.' separates levels on disk
// (Maildir++), so it cannot appear in a name; '/' is the visible
// delimiter; empty levels and names starting with '~' are refused.
func checkName(name string) error {
	if isInbox(name) {
		return nil
	}
	if name == "" || strings.ContainsAny(name, ".\x00\r\n") || strings.HasPrefix(name, "~") {
		return fmt.Errorf("%w: %q", ErrBadName, name)
	}
	for _, part := range strings.Split(name, "/") {
		if part == "" {
			return fmt.Errorf("%w: %q", ErrBadName, name)
		}
	}
	return nil
}

// dir maps a folder name to its directory: INBOX is the root, a/b is
// root/.a.b (Maildir++).
func (s *Maildir) dir(name string) string {
	if isInbox(name) {
		return s.root
	}
	return filepath.Join(s.root, "."+strings.ReplaceAll(name, "/", "."))
}

// List implements Store.
func (s *Maildir) List(ctx context.Context) ([]FolderInfo, error) {
	names, err := s.folderNames()
	if err != nil {
		return nil, err
	}
	subs, err := s.subscriptions()
	if err != nil {
		return nil, err
	}
	exists := map[string]bool{}
	for _, n := range names {
		exists[n] = true
	}
	// Parents that exist only as a prefix are listed \Noselect.
	for _, n := range names {
		for i := strings.LastIndexByte(n, '/'); i > 0; i = strings.LastIndexByte(n[:i], '/') {
			if !exists[n[:i]] {
				exists[n[:i]] = true
				names = append(names, n[:i])
			}
		}
	}
	slices.Sort(names)
	out := []FolderInfo{{Name: Inbox, Subscribed: slices.Contains(subs, Inbox)}}
	for _, n := range names {
		fi := FolderInfo{Name: n, Subscribed: slices.Contains(subs, n), Use: specialUse(n)}
		if _, err := os.Stat(filepath.Join(s.dir(n), "cur")); err != nil {
			fi.NoSelect = true
		}
		for _, m := range names {
			if strings.HasPrefix(m, n+"/") {
				fi.Children = true
				break
			}
		}
		out = append(out, fi)
	}
	return out, nil
}

func specialUse(name string) string {
	for _, f := range SpecialFolders {
		if f.Name == name {
			return f.Use
		}
	}
	return ""
}

// folderNames lists the folders on disk, as visible names.
func (s *Maildir) folderNames() ([]string, error) {
	ents, err := os.ReadDir(s.root)
	if err != nil {
		return nil, fmt.Errorf("list folders: %w", err)
	}
	var names []string
	for _, e := range ents {
		n := e.Name()
		// "..DELETED.x" is a folder Delete was removing when it crashed.
		if !e.IsDir() || len(n) < 2 || n[0] != '.' || n[1] == '.' {
			continue
		}
		names = append(names, strings.ReplaceAll(n[1:], ".", "/"))
	}
	return names, nil
}

// Create implements Store.
func (s *Maildir) Create(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if isInbox(name) {
		return ErrExists
	}
	if _, err := os.Stat(filepath.Join(s.dir(name), "cur")); err == nil {
		return ErrExists
	}
	// Maildir++ folders are flat: a parent is a folder of its own only if
	// created; RFC 3501 §6.3.3 lets the server make it, and clients
	// expect to be able to select it.
	parts := strings.Split(name, "/")
	for i := range parts {
		n := strings.Join(parts[:i+1], "/")
		if _, err := maildir.CreateFolder(s.root, strings.ReplaceAll(n, "/", "."), 0o700); err != nil {
			return fmt.Errorf("create folder: %w", err)
		}
	}
	return nil
}

// Delete implements Store.
func (s *Maildir) Delete(ctx context.Context, name string) error {
	if err := checkName(name); err != nil {
		return err
	}
	if isInbox(name) {
		return fmt.Errorf("%w: INBOX cannot be deleted", ErrBadName)
	}
	names, err := s.folderNames()
	if err != nil {
		return err
	}
	found := false
	for _, n := range names {
		if n == name {
			found = true
		}
		if strings.HasPrefix(n, name+"/") {
			return ErrHasFolders
		}
	}
	if !found {
		return ErrNoFolder
	}
	// Rename first so that a reader never sees a half-deleted folder,
	// then remove; quota is recounted at the next check.
	dir := s.dir(name)
	trash := filepath.Join(s.root, "..DELETED."+filepath.Base(dir))
	if err := os.Rename(dir, trash); err != nil {
		return fmt.Errorf("delete folder: %w", err)
	}
	os.Remove(filepath.Join(s.root, quotaFile))
	if err := os.RemoveAll(trash); err != nil {
		return fmt.Errorf("delete folder: %w", err)
	}
	return nil
}

// Rename implements Store.
func (s *Maildir) Rename(ctx context.Context, from, to string) error {
	if err := errors.Join(checkName(from), checkName(to)); err != nil {
		return err
	}
	if isInbox(to) {
		return ErrExists
	}
	if _, err := os.Stat(s.dir(to)); err == nil {
		return ErrExists
	}
	if isInbox(from) {
		return s.renameInbox(ctx, to)
	}
	names, err := s.folderNames()
	if err != nil {
		return err
	}
	if !slices.Contains(names, from) {
		return ErrNoFolder
	}
	for _, n := range names {
		if n == from || strings.HasPrefix(n, from+"/") {
			if err := os.Rename(s.dir(n), s.dir(to+n[len(from):])); err != nil {
				return fmt.Errorf("rename folder: %w", err)
			}
		}
	}
	return nil
}

// renameInbox moves INBOX's messages into a new folder (RFC 3501
// §6.3.5): the files move by rename, so their names and flags go along,
// and the new folder gives them new UIDs.
func (s *Maildir) renameInbox(ctx context.Context, to string) error {
	if err := s.Create(ctx, to); err != nil {
		return err
	}
	dest := s.dir(to)
	return locked(s.root, s.opt.Now, nil, func(st *state) error {
		for _, e := range st.ix.Entries {
			if err := os.Rename(st.path(&e), filepath.Join(dest, "cur", e.Base+":2,"+e.Info)); err != nil && !errors.Is(err, fs.ErrNotExist) {
				return fmt.Errorf("rename INBOX: %w", err)
			}
		}
		st.ix.Entries = st.ix.Entries[:0]
		st.bump()
		return nil
	})
}

// Status implements Store.
func (s *Maildir) Status(ctx context.Context, name string) (Status, error) {
	if err := checkName(name); err != nil {
		return Status{}, err
	}
	var out Status
	err := locked(s.dir(name), s.opt.Now, nil, func(st *state) error {
		out = Status{UIDNext: st.ix.UIDNext, UIDValidity: st.ix.UIDValidity, HighestModSeq: st.ix.HighestModSeq, Messages: uint32(len(st.ix.Entries))}
		for _, e := range st.ix.Entries {
			if !strings.ContainsRune(e.Info, 'S') {
				out.Unseen++
			}
			if e.UID >= st.ix.FirstRecent {
				out.Recent++
			}
			out.Size += e.Size
		}
		return nil
	})
	return out, err
}

// Select implements Store.
func (s *Maildir) Select(ctx context.Context, name string, readOnly bool) (Folder, error) {
	if err := checkName(name); err != nil {
		return nil, err
	}
	f := &mdFolder{s: s, name: name, dir: s.dir(name), readOnly: readOnly, cache: newHeaderCache(s.dir(name))}
	if isInbox(name) {
		f.name = Inbox
	}
	if _, err := f.Sync(ctx); err != nil {
		return nil, err
	}
	return f, nil
}

// Append implements Store.
func (s *Maildir) Append(ctx context.Context, name string, flags []string, date time.Time, r io.Reader) (AppendResult, error) {
	if err := checkName(name); err != nil {
		return AppendResult{}, err
	}
	dir := s.dir(name)
	if _, err := os.Stat(filepath.Join(dir, "cur")); err != nil {
		return AppendResult{}, ErrNoFolder
	}
	if err := s.checkQuota(0); err != nil {
		return AppendResult{}, err
	}
	base, err := s.w.Deliver(ctx, dir, nil, r)
	if err != nil {
		return AppendResult{}, fmt.Errorf("append: %w", err)
	}
	s.addQuota(base, 1)
	if date.IsZero() {
		date = s.opt.Now()
	}
	var res AppendResult
	err = locked(dir, s.opt.Now, func() error {
		return placeNew(dir, base, date)
	}, func(st *state) error {
		res.UIDValidity = st.ix.UIDValidity
		for i := range st.ix.Entries {
			if e := &st.ix.Entries[i]; e.Base == base {
				res.UID = e.UID
				return st.setFlags(e, FlagsReplace, flags)
			}
		}
		return fmt.Errorf("append: %s vanished", base)
	})
	return res, err
}

// placeNew moves a file this store wrote into new/ to cur/ and gives it
// its internal date, before the scan that numbers it. Another session may
// have moved it to cur/ already.
func placeNew(dir, base string, date time.Time) error {
	p := filepath.Join(dir, "cur", base+":2,")
	if err := os.Rename(filepath.Join(dir, "new", base), p); err != nil && !errors.Is(err, fs.ErrNotExist) {
		return fmt.Errorf("append: %w", err)
	}
	if err := os.Chtimes(p, date, date); err != nil {
		return fmt.Errorf("append: %w", err)
	}
	return nil
}

// setFlags applies a flag change to e: a rename of its file, a new modseq.
func (st *state) setFlags(e *entry, op FlagOp, flags []string) error {
	cur, extra := parseInfo(e.Info, st.kw)
	next := applyFlags(cur, op, flags)
	info, more := formatInfo(next, extra, st.kw)
	if len(more) > 0 {
		st.kw = append(st.kw, more...)
		st.flags = nil // letters may mean more now
		if err := writeKeywords(st.dir, st.kw); err != nil {
			return err
		}
	}
	if info == e.Info {
		return nil
	}
	if err := os.Rename(st.path(e), filepath.Join(st.dir, "cur", e.Base+":2,"+info)); err != nil {
		return fmt.Errorf("store flags: %w", err)
	}
	e.Info = info
	e.ModSeq = st.bump()
	return nil
}

// Exclusive implements Store with a flock(2) on a file in the Maildir,
// so that it holds across processes.
func (s *Maildir) Exclusive(ctx context.Context, name string) (func(), error) {
	s.mu.Lock()
	defer s.mu.Unlock()
	if s.locks[name] != nil {
		return nil, ErrInUse
	}
	f, err := os.OpenFile(filepath.Join(s.root, "postern-"+name+".lock"), os.O_RDWR|os.O_CREATE, 0o600)
	if err != nil {
		return nil, fmt.Errorf("lock mailbox: %w", err)
	}
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		f.Close()
		if errors.Is(err, unix.EWOULDBLOCK) {
			return nil, ErrInUse
		}
		return nil, fmt.Errorf("lock mailbox: %w", err)
	}
	s.locks[name] = f
	return func() {
		s.mu.Lock()
		defer s.mu.Unlock()
		if s.locks[name] == f {
			delete(s.locks, name)
			f.Close()
		}
	}, nil
}

// Close implements Store.
func (s *Maildir) Close() error {
	s.mu.Lock()
	for n, f := range s.locks {
		f.Close()
		delete(s.locks, n)
	}
	s.mu.Unlock()
	return s.w.Close()
}

package commit

import (
	"container/list"
	"fmt"
	"os"
	"sync"

	"golang.org/x/sys/unix"
)

// Dir is a group committer for one directory. The zero value is not usable;
// use OpenDir. A Dir is safe for concurrent use.
//
// The first caller that finds no fsync running becomes the leader and runs
// it on its own goroutine; the others wait on a condition variable. Fsyncs
// are numbered: a caller needs one whose number is above the number of the
// last fsync that had started when it arrived, because an fsync already
// under way may have begun before its rename.
type Dir struct {
	path string
	f    *os.File
	// fsync flushes the directory: fsync(2) of f, set by OpenDir. Tests
	// replace it (before the first Sync) to count flushes and to hold
	// one open while callers arrive.
	fsync func() error

	mu        sync.Mutex
	cond      *sync.Cond
	running   bool
	started   uint64 // fsyncs begun
	completed uint64 // fsyncs finished, in order
	failed    uint64 // number of the last fsync that failed (0: none)
	err       error  // its error
}

// OpenDir opens path for group commits. The directory stays open until
// Close, so a commit costs one fsync and no open.
func OpenDir(path string) (*Dir, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, fmt.Errorf("open directory for sync: %w", err)
	}
	d := &Dir{path: path, f: f, fsync: func() error { return unix.Fsync(int(f.Fd())) }}
	d.cond = sync.NewCond(&d.mu)
	return d, nil
}

// Path returns the directory's path.
func (d *Dir) Path() string { return d.path }

// Sync returns once an fsync of the directory that started after Sync was
// called has completed, so every rename into the directory that happened
// before the call is on stable storage when it returns nil.
func (d *Dir) Sync() error {
	d.mu.Lock()
	defer d.mu.Unlock()
	need := d.started + 1
	for d.completed < need {
		if d.running {
			d.cond.Wait()
			continue
		}
		d.running = true
		d.started++
		n := d.started
		d.mu.Unlock()
		err := d.fsync()
		d.mu.Lock()
		d.running = false
		d.completed = n
		if err != nil {
			d.failed, d.err = n, fmt.Errorf("fsync directory %s: %w", d.path, err)
		}
		d.cond.Broadcast()
	}
	if d.failed >= need {
		return d.err
	}
	return nil
}

// Close closes the directory. Callers must not call Sync afterwards.
func (d *Dir) Close() error { return d.f.Close() }

// maxOpenDirs bounds the directories a Dirs keeps open: one per Maildir
// would otherwise exhaust file descriptors on a server with many users.
const maxOpenDirs = 256

// Dirs hands out one Dir per path, opened on first use and closed again
// when it is the least recently used of more than maxOpenDirs. It suits
// writers that commit into many directories, such as one Maildir per
// recipient. The zero value is ready to use.
type Dirs struct {
	mu   sync.Mutex
	dirs map[string]*list.Element // of *dirEntry
	lru  list.List                // front: most recently used
}

type dirEntry struct {
	d    *Dir
	refs int // Syncs in progress
}

// Sync group-commits the directory at path; see Dir.Sync.
func (ds *Dirs) Sync(path string) error {
	ds.mu.Lock()
	if ds.dirs == nil {
		ds.dirs = make(map[string]*list.Element)
	}
	el, ok := ds.dirs[path]
	if ok {
		ds.lru.MoveToFront(el)
	} else {
		d, err := OpenDir(path)
		if err != nil {
			ds.mu.Unlock()
			return err
		}
		el = ds.lru.PushFront(&dirEntry{d: d})
		ds.dirs[path] = el
		ds.evict()
	}
	e := el.Value.(*dirEntry)
	e.refs++
	ds.mu.Unlock()

	err := e.d.Sync()

	ds.mu.Lock()
	e.refs--
	ds.evict()
	ds.mu.Unlock()
	return err
}

// evict closes idle directories beyond the limit, least recent first.
func (ds *Dirs) evict() {
	for el := ds.lru.Back(); el != nil && len(ds.dirs) > maxOpenDirs; {
		prev := el.Prev()
		if e := el.Value.(*dirEntry); e.refs == 0 {
			e.d.Close()
			delete(ds.dirs, e.d.path)
			ds.lru.Remove(el)
		}
		el = prev
	}
}

// Close closes every directory opened so far.
func (ds *Dirs) Close() error {
	ds.mu.Lock()
	defer ds.mu.Unlock()
	var first error
	for p, el := range ds.dirs {
		if err := el.Value.(*dirEntry).d.Close(); err != nil && first == nil {
			first = err
		}
		delete(ds.dirs, p)
	}
	ds.lru.Init()
	return first
}

// File fsyncs the data of f and the metadata needed to read it back
// (fdatasync: the size is included, the timestamps are not).
func File(f *os.File) error {
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		return fmt.Errorf("fdatasync %s: %w", f.Name(), err)
	}
	return nil
}

package commit

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"

	"golang.org/x/sys/unix"
)

// Batch makes files durable a batch at a time: File does nothing, and Dir
// returns once a syncfs(2) of the directory's filesystem that started
// after the call has completed. syncfs writes back every dirty page and
// inode of the filesystem and then commits it (on ext4 a journal commit
// and a cache flush), so it covers the data of every file written and
// every rename made before it: what PerFile gets from an fdatasync per
// file and a directory fsync, for one flush per batch whatever the
// batch's size. Concurrent callers share one syncfs as they share a
// directory fsync in Dir. Since Linux 5.8 syncfs reports writeback
// errors, so a failed write is not taken for durable.
//
// Its cost is the filesystem's: a syncfs also writes what other programs
// left dirty there. It suits a spool on its own filesystem best.
type Batch struct {
	mu  sync.Mutex
	fss map[uint64]*Dir // by device number
}

// File implements Policy: the data goes with the next syncfs.
func (b *Batch) File(f *os.File) error { return nil }

// Dir implements Policy.
func (b *Batch) Dir(dir string) error {
	var st unix.Stat_t
	if err := unix.Stat(dir, &st); err != nil {
		return fmt.Errorf("syncfs %s: %w", dir, err)
	}
	return b.sync(st.Dev, dir)
}

// Appended implements Policy: it waits for a syncfs of f's filesystem, as
// Dir does, so that the records of many deliveries share one flush too.
func (b *Batch) Appended(f *os.File) error {
	var st unix.Stat_t
	if err := unix.Fstat(int(f.Fd()), &st); err != nil {
		return fmt.Errorf("syncfs %s: %w", f.Name(), err)
	}
	return b.sync(st.Dev, filepath.Dir(f.Name()))
}

// sync group-commits the filesystem dev, which dir is on.
func (b *Batch) sync(dev uint64, dir string) error {
	b.mu.Lock()
	if b.fss == nil {
		b.fss = map[uint64]*Dir{}
	}
	d, ok := b.fss[dev]
	if !ok {
		var err error
		if d, err = OpenDir(dir); err != nil {
			b.mu.Unlock()
			return err
		}
		fd := int(d.f.Fd())
		d.fsync = func() error { return unix.Syncfs(fd) }
		b.fss[dev] = d
	}
	b.mu.Unlock()
	return d.Sync()
}

// Close releases the directories kept open, one per filesystem.
func (b *Batch) Close() error {
	b.mu.Lock()
	defer b.mu.Unlock()
	var first error
	for dev, d := range b.fss {
		if err := d.Close(); err != nil && first == nil {
			first = err
		}
		delete(b.fss, dev)
	}
	return first
}

// None makes nothing durable: no fsync at all. It exists for benchmarks,
// as the limit a durable method is measured against; a crash loses what
// it did not flush by chance, mail that was answered 250 included.
type None struct{}

// File implements Policy.
func (None) File(*os.File) error { return nil }

// Dir implements Policy.
func (None) Dir(string) error { return nil }

// Appended implements Policy.
func (None) Appended(*os.File) error { return nil }

// Methods are the values of the sync_method parameter.
const (
	MethodFsync  = "fsync"  // PerFile
	MethodSyncfs = "syncfs" // Batch
	MethodNone   = "none"   // None
)

// ForMethod returns the Policy a sync_method value names.
func ForMethod(method string) (Policy, error) {
	switch method {
	case MethodFsync, "":
		return &PerFile{}, nil
	case MethodSyncfs:
		return &Batch{}, nil
	case MethodNone:
		return None{}, nil
	}
	return nil, fmt.Errorf("sync_method %q: want fsync, syncfs or none", method)
}

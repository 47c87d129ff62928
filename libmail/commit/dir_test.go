package commit

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"sync/atomic"
	"testing"
	"time"
)

func TestDirSyncConcurrent(t *testing.T) {
	dir := t.TempDir()
	d, err := OpenDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	defer d.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 50)
	for i := range 50 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			p := filepath.Join(dir, "f"+string(rune('a'+i%26))+string(rune('a'+i/26)))
			if err := os.WriteFile(p, []byte("x"), 0o600); err != nil {
				errs <- err
				return
			}
			errs <- d.Sync()
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
}

func TestDirsOpensOncePerPath(t *testing.T) {
	a, b := t.TempDir(), t.TempDir()
	var ds Dirs
	defer ds.Close()
	for _, p := range []string{a, b, a} {
		if err := ds.Sync(p); err != nil {
			t.Fatal(err)
		}
	}
	if len(ds.dirs) != 2 || ds.lru.Len() != 2 {
		t.Fatalf("opened %d directories, want 2", len(ds.dirs))
	}
	if err := ds.Sync(filepath.Join(a, "missing")); err == nil {
		t.Fatal("Sync of a missing directory succeeded")
	}
}

func TestDirsEvictsIdle(t *testing.T) {
	var ds Dirs
	defer ds.Close()
	root := t.TempDir()
	for i := range maxOpenDirs + 10 {
		p := filepath.Join(root, fmt.Sprint(i))
		if err := os.Mkdir(p, 0o700); err != nil {
			t.Fatal(err)
		}
		if err := ds.Sync(p); err != nil {
			t.Fatal(err)
		}
	}
	if len(ds.dirs) != maxOpenDirs {
		t.Fatalf("%d directories open, want %d", len(ds.dirs), maxOpenDirs)
	}
	if _, ok := ds.dirs[filepath.Join(root, "0")]; ok {
		t.Error("the least recently used directory is still open")
	}
}

// fakeFsync stands in for the directory's fsync(2). Each flush is
// numbered and stamped, when it starts and when it ends, on a logical
// clock that the callers of Sync stamp too, so a test can tell which
// flushes began after a caller arrived and ended before it returned.
// With gate set, a flush announces its number on started and waits for
// a value on release before it ends, so the test decides when flushes
// finish.
type fakeFsync struct {
	clock   atomic.Int64
	gate    bool
	started chan int
	release chan struct{}
	fail    func(n int) error // the error of flush n, or nil

	mu      sync.Mutex
	flushes []span
	running int
	overlap bool // two flushes ran at once
}

// span is one flush, or one call of Sync, on the logical clock.
type span struct{ start, end int64 }

func newFakeFsync(gate bool) *fakeFsync {
	return &fakeFsync{gate: gate, started: make(chan int, 1), release: make(chan struct{}, 1)}
}

func (f *fakeFsync) fsync() error {
	f.mu.Lock()
	n := len(f.flushes) + 1
	f.flushes = append(f.flushes, span{start: f.clock.Add(1)})
	f.running++
	f.overlap = f.overlap || f.running > 1
	f.mu.Unlock()
	if f.gate {
		f.started <- n
		<-f.release
	} else {
		// Give other callers the chance to arrive while this flush runs.
		for range 3 {
			runtime.Gosched()
		}
	}
	f.mu.Lock()
	f.flushes[n-1].end = f.clock.Add(1)
	f.running--
	f.mu.Unlock()
	if f.fail != nil {
		return f.fail(n)
	}
	return nil
}

// openFakeDir is OpenDir with the directory's fsync replaced by f.
func openFakeDir(t *testing.T, f *fakeFsync) *Dir {
	t.Helper()
	d, err := OpenDir(t.TempDir())
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { d.Close() })
	d.fsync = f.fsync
	return d
}

// caller is one call of Sync, stamped on the fake's clock when it was
// made and when it returned.
type caller struct {
	span
	err error
}

// callSync calls d.Sync as c, stamping it on f's clock.
func callSync(d *Dir, f *fakeFsync, c *caller) {
	c.start = f.clock.Add(1)
	c.err = d.Sync()
	c.end = f.clock.Add(1)
}

// releasedBy returns the flush that released c: the last one to end
// before c returned (flushes never overlap, which checkFlushes proves),
// or 0 if none did.
func releasedBy(flushes []span, c *caller) int {
	n := 0
	for i, fl := range flushes {
		if fl.end != 0 && fl.end < c.end {
			n = i + 1
		}
	}
	return n
}

// checkFlushes asserts the promise of Dir.Sync: every caller returned
// only after a flush that started after it called had ended. A rename
// made before the call is then on disk, whereas a flush already under
// way when the caller arrived may have started before the rename.
func checkFlushes(t *testing.T, f *fakeFsync, callers []*caller) {
	t.Helper()
	f.mu.Lock()
	defer f.mu.Unlock()
	if f.overlap {
		t.Error("two flushes of one directory ran at once")
	}
	bad := 0
	for i, c := range callers {
		n := releasedBy(f.flushes, c)
		if n > 0 && f.flushes[n-1].start > c.start {
			continue
		}
		if bad++; bad <= 5 {
			if n == 0 {
				t.Errorf("caller %d (called at %d, returned at %d) returned before any flush ended", i, c.start, c.end)
			} else {
				t.Errorf("caller %d (called at %d, returned at %d) was released by flush %d, which started at %d, before it called",
					i, c.start, c.end, n, f.flushes[n-1].start)
			}
		}
	}
	if bad > 5 {
		t.Errorf("... and %d more callers", bad-5)
	}
}

// parkedInSync counts the goroutines waiting inside Dir.Sync on its
// condition variable. Dir keeps no count of its waiters (it needs
// none), so the test reads the goroutines' stacks.
func parkedInSync() int {
	buf := make([]byte, 1<<16)
	for {
		n := runtime.Stack(buf, true)
		if n < len(buf) {
			buf = buf[:n]
			break
		}
		buf = make([]byte, 2*len(buf))
	}
	count := 0
	for _, g := range strings.Split(string(buf), "\n\n") {
		if strings.Contains(g, "[sync.Cond.Wait") && strings.Contains(g, "commit.(*Dir).Sync(") {
			count++
		}
	}
	return count
}

// waitParked returns once n callers wait inside Sync or have returned,
// whichever the implementation makes them do.
func waitParked(t *testing.T, n int, returned *atomic.Int64) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for parkedInSync()+int(returned.Load()) < n {
		if time.Now().After(deadline) {
			t.Fatalf("%d callers parked in Sync and %d returned after 10s; want %d in all", parkedInSync(), returned.Load(), n)
		}
		runtime.Gosched()
	}
}

// TestDirSyncSharesFlushes: callers that arrive while a flush runs share
// the next one. One caller starts flush 1 and holds it; 99 more arrive
// and wait; when flush 1 ends, one of them leads flush 2, which releases
// all 99. So 100 callers cost 2 flushes, and each was released by a
// flush that started after it called (none by flush 1, which started
// before they arrived and may have missed their renames).
func TestDirSyncSharesFlushes(t *testing.T) {
	const n = 100
	f := newFakeFsync(true)
	d := openFakeDir(t, f)
	callers := make([]*caller, n)
	var returned atomic.Int64
	var wg sync.WaitGroup
	start := func(i int) {
		callers[i] = &caller{}
		wg.Add(1)
		go func() {
			defer wg.Done()
			callSync(d, f, callers[i])
			returned.Add(1)
		}()
	}
	start(0)
	<-f.started // flush 1 runs, led by caller 0, and waits for release
	for i := 1; i < n; i++ {
		start(i)
	}
	waitParked(t, n-1, &returned)
	f.release <- struct{}{}
	done := make(chan struct{})
	go func() { wg.Wait(); close(done) }()
	// Let every further flush end at once, and count them.
	flushes := 1
	for wait := true; wait; {
		select {
		case <-f.started:
			flushes++
			f.release <- struct{}{}
		case <-done:
			wait = false
		}
	}
	for i, c := range callers {
		if c.err != nil {
			t.Errorf("caller %d: %v", i, c.err)
		}
	}
	checkFlushes(t, f, callers)
	if flushes != 2 {
		t.Errorf("%d callers caused %d flushes, want 2: one running when they arrived, one for all of them", n, flushes)
	}
}

// TestDirSyncFreeRunning: callers that come and go in any order all get
// a flush that started after they called, and they share flushes.
func TestDirSyncFreeRunning(t *testing.T) {
	const workers, rounds = 16, 200
	f := newFakeFsync(false)
	d := openFakeDir(t, f)
	callers := make([]*caller, workers*rounds)
	var wg sync.WaitGroup
	for w := range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for r := range rounds {
				c := &caller{}
				callers[w*rounds+r] = c
				callSync(d, f, c)
			}
		}()
	}
	wg.Wait()
	for i, c := range callers {
		if c.err != nil {
			t.Fatalf("caller %d: %v", i, c.err)
		}
	}
	checkFlushes(t, f, callers)
	t.Logf("%d calls, %d flushes", len(callers), len(f.flushes))
	if len(f.flushes) > len(callers) {
		t.Errorf("%d calls caused %d flushes", len(callers), len(f.flushes))
	}
}

// TestDirSyncErrorGoesToItsCallers: a failed flush fails the callers it
// would have released, and only them; callers that need a later flush
// get that one's result.
func TestDirSyncErrorGoesToItsCallers(t *testing.T) {
	f := newFakeFsync(true)
	boom := errors.New("boom")
	f.fail = func(n int) error {
		if n == 1 {
			return boom
		}
		return nil
	}
	d := openFakeDir(t, f)
	first, second := &caller{}, &caller{}
	var returned atomic.Int64
	firstDone, secondDone := make(chan struct{}), make(chan struct{})
	go func() { callSync(d, f, first); returned.Add(1); close(firstDone) }()
	<-f.started
	go func() { callSync(d, f, second); returned.Add(1); close(secondDone) }()
	waitParked(t, 1, &returned)
	f.release <- struct{}{}
	<-firstDone
	if !errors.Is(first.err, boom) || !strings.Contains(first.err.Error(), d.Path()) {
		t.Errorf("the caller of the failed flush got %v, want boom with the directory's name", first.err)
	}
	select {
	case <-f.started:
		f.release <- struct{}{}
	case <-secondDone:
	}
	<-secondDone
	if second.err != nil {
		t.Errorf("the caller of the next flush got %v, want nil", second.err)
	}
	checkFlushes(t, f, []*caller{first, second})
}

package mailbox

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// watcher turns inotify events on a folder's new/ and cur/ into wake-ups
// on a channel of one slot: any number of events between two Syncs are
// one wake-up, and a session in IDLE sleeps without polling.
type watcher struct {
	f  *os.File
	ch chan struct{}
}

// Watch implements Folder. If inotify cannot be set up the channel never
// fires; the session still sees changes at its next command.
func (f *mdFolder) Watch() <-chan struct{} {
	if f.watch == nil {
		w, err := newWatcher(f.dir)
		if err != nil {
			return make(chan struct{})
		}
		f.watch = w
	}
	return f.watch.ch
}

func newWatcher(dir string) (*watcher, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("inotify: %w", err)
	}
	const mask = unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_DELETE
	for _, sub := range []string{"new", "cur"} {
		if _, err := unix.InotifyAddWatch(fd, filepath.Join(dir, sub), mask); err != nil {
			unix.Close(fd)
			return nil, fmt.Errorf("inotify %s: %w", sub, err)
		}
	}
	// Through os.File the non-blocking descriptor is read by Go's
	// poller, so Close wakes the reading goroutine.
	w := &watcher{f: os.NewFile(uintptr(fd), "inotify"), ch: make(chan struct{}, 1)}
	go w.run()
	return w, nil
}

func (w *watcher) run() {
	buf := make([]byte, 4096)
	for {
		_, err := w.f.Read(buf)
		if err != nil {
			if errors.Is(err, os.ErrClosed) {
				return
			}
			if !errors.Is(err, unix.EINTR) {
				return
			}
			continue
		}
		select {
		case w.ch <- struct{}{}:
		default:
		}
	}
}

func (w *watcher) close() error { return w.f.Close() }

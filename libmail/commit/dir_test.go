package commit

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
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

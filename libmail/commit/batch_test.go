package commit

import (
	"fmt"
	"os"
	"path/filepath"
	"sync"
	"testing"
)

// TestBatchSharesOneFilesystem: two directories of one filesystem share
// one group committer, and many concurrent commits all return.
func TestBatchSharesOneFilesystem(t *testing.T) {
	root := t.TempDir()
	a, b := filepath.Join(root, "a"), filepath.Join(root, "b")
	for _, d := range []string{a, b} {
		if err := os.Mkdir(d, 0o700); err != nil {
			t.Fatal(err)
		}
	}
	var p Batch
	defer p.Close()
	var wg sync.WaitGroup
	errs := make(chan error, 40)
	for i := range 40 {
		wg.Add(1)
		go func() {
			defer wg.Done()
			dir := []string{a, b}[i%2]
			f, err := os.Create(filepath.Join(dir, "f"+string(rune('a'+i%26))+string(rune('a'+i/26))))
			if err == nil {
				f.WriteString("data")
				err = p.File(f)
				f.Close()
			}
			if err == nil {
				err = p.Dir(dir)
			}
			errs <- err
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		if err != nil {
			t.Fatal(err)
		}
	}
	if len(p.fss) != 1 {
		t.Errorf("%d committers for one filesystem, want 1", len(p.fss))
	}
	if err := p.Dir(filepath.Join(root, "missing")); err == nil {
		t.Error("Dir of a missing directory succeeded")
	}
}

func TestForMethod(t *testing.T) {
	for method, want := range map[string]string{"": "*commit.PerFile", "fsync": "*commit.PerFile", "syncfs": "*commit.Batch", "none": "commit.None"} {
		p, err := ForMethod(method)
		if err != nil || fmtType(p) != want {
			t.Errorf("ForMethod(%q) = %s, %v; want %s", method, fmtType(p), err, want)
		}
	}
	if _, err := ForMethod("fdatasync"); err == nil {
		t.Error("ForMethod accepted an unknown method")
	}
}

func fmtType(v any) string { return fmt.Sprintf("%T", v) }

// TestBatchAppended: an append to a named file waits for a syncfs of its
// filesystem, shared with the commits of new files there.
func TestBatchAppended(t *testing.T) {
	root := t.TempDir()
	f, err := os.Create(filepath.Join(root, "entry"))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	var p Batch
	defer p.Close()
	if err := p.Dir(root); err != nil {
		t.Fatal(err)
	}
	var d *Dir
	for _, v := range p.fss {
		d = v
	}
	before := d.completed
	f.WriteString("record\n")
	if err := p.Appended(f); err != nil {
		t.Fatal(err)
	}
	if len(p.fss) != 1 {
		t.Errorf("%d committers for one filesystem, want 1", len(p.fss))
	}
	if d.completed <= before {
		t.Errorf("Appended returned without a syncfs: %d completed before, %d after", before, d.completed)
	}
	f.Close()
	if err := p.Appended(f); err == nil {
		t.Error("Appended of a closed file succeeded")
	}
}

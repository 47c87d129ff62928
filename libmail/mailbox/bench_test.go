package mailbox

import (
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"testing"
	"time"
)

// The benchmarks time a session's fixed costs on the Maildir in
// MAILBOX_BENCH_MAILDIR (go run ./test/bench/imapbench gen DIR 10000),
// which they copy so that the original stays as generated. They are
// skipped without the variable.
func benchMaildir(b *testing.B) string {
	src := os.Getenv("MAILBOX_BENCH_MAILDIR")
	if src == "" {
		b.Skip("MAILBOX_BENCH_MAILDIR not set")
	}
	dst := filepath.Join(b.TempDir(), "m")
	if out, err := exec.Command("cp", "-a", src, dst).CombinedOutput(); err != nil {
		b.Fatalf("cp: %v %s", err, out)
	}
	// Old directory times, so that they count as settled.
	old := time.Now().Add(-time.Hour)
	for _, d := range []string{"cur", "new", "tmp"} {
		os.Chtimes(filepath.Join(dst, d), old, old)
	}
	return dst
}

// BenchmarkFirstSight is a folder's first SELECT and header cache fill.
func BenchmarkFirstSight(b *testing.B) {
	src := benchMaildir(b)
	ctx := context.Background()
	var sel time.Duration
	defer func() { b.ReportMetric(float64(sel.Milliseconds())/float64(b.N), "select-ms/op") }()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		dir := filepath.Join(b.TempDir(), "m")
		if out, err := exec.Command("cp", "-a", src, dir).CombinedOutput(); err != nil {
			b.Fatalf("cp: %v %s", err, out)
		}
		// Written out, as a mailbox at rest: the index's fsync should
		// not wait for the copy's data.
		exec.Command("sync").Run()
		b.StartTimer()
		s, err := Open(ctx, dir, Options{Hostname: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		t0 := time.Now()
		f, err := s.Select(ctx, Inbox, false)
		if err != nil {
			b.Fatal(err)
		}
		sel += time.Since(t0)
		for _, m := range f.Messages() {
			if _, err := f.CachedHeader(ctx, m.UID); err != nil {
				b.Fatal(err)
			}
		}
		f.Close()
		s.Close()
	}
}

// BenchmarkSelect is the SELECT of a folder seen before, with the header
// cache read as FETCH ENVELOPE reads it.
func BenchmarkSelect(b *testing.B) {
	dir := benchMaildir(b)
	ctx := context.Background()
	warm := func(fetch bool) {
		s, err := Open(ctx, dir, Options{Hostname: "bench"})
		if err != nil {
			b.Fatal(err)
		}
		defer s.Close()
		f, err := s.Select(ctx, Inbox, false)
		if err != nil {
			b.Fatal(err)
		}
		defer f.Close()
		if fetch {
			for _, m := range f.Messages() {
				if _, err := f.CachedHeader(ctx, m.UID); err != nil {
					b.Fatal(err)
				}
			}
		}
	}
	warm(true)
	old := time.Now().Add(-time.Hour)
	for _, d := range []string{"cur", "new"} {
		os.Chtimes(filepath.Join(dir, d), old, old)
	}
	warm(false)
	b.Run("select", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			warm(false)
		}
	})
	b.Run("select+cache", func(b *testing.B) {
		b.ReportAllocs()
		for i := 0; i < b.N; i++ {
			warm(true)
		}
	})
}

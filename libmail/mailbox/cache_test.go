package mailbox

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/maildir"
)

func TestFieldsOf(t *testing.T) {
	h := "Received: from x\r\n\tby y\r\nSubject: hello\r\n  world\r\nX-Other: no\r\nfrom: a@b\r\nMessage-ID: <m@x>\r\n\r\n"
	if got, want := string(fieldsOf([]byte(h))), "Subject: hello\r\n  world\r\nfrom: a@b\r\nMessage-ID: <m@x>\r\n\r\n"; got != want {
		t.Errorf("fieldsOf = %q, want %q", got, want)
	}
	if got := string(fieldsOf([]byte("Subject: cut"))); got != "Subject: cut\r\n\r\n" {
		t.Errorf("fieldsOf without line end = %q", got)
	}
}

// TestHeaderCache: the second session gets the fields from the cache
// file, not the messages (their files are made unreadable to prove it);
// a torn cache file is survived.
func TestHeaderCache(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "Maildir")
	for i := range 3 {
		deliver(t, root, fmt.Sprintf("Subject: s%d\r\nX-Junk: j\r\nFrom: f%d@example.org\r\n\r\nbody\r\n", i, i))
	}
	f := selectBox(t, openStore(t, root), "INBOX")
	for _, m := range f.Messages() {
		h, err := f.CachedHeader(ctx, m.UID)
		if err != nil || !strings.HasPrefix(string(h), fmt.Sprintf("Subject: s%d\r\nFrom: f%d@", m.UID-1, m.UID-1)) {
			t.Fatalf("CachedHeader(%d) = %q, %v", m.UID, h, err)
		}
	}
	f.Close()
	if os.Geteuid() != 0 { // root reads anything; then the check below is moot
		for _, p := range mustGlob(t, filepath.Join(root, "cur", "*")) {
			os.Chmod(p, 0)
		}
		g := selectBox(t, openStore(t, root), "INBOX")
		if h, err := g.CachedHeader(ctx, 2); err != nil || !strings.Contains(string(h), "Subject: s1") {
			t.Fatalf("from the cache: %q, %v", h, err)
		}
		for _, p := range mustGlob(t, filepath.Join(root, "cur", "*")) {
			os.Chmod(p, 0o600)
		}
	}
	// A torn record at the end.
	cf := filepath.Join(root, cacheFile)
	fh, _ := os.OpenFile(cf, os.O_WRONLY|os.O_APPEND, 0)
	fh.WriteString("garbage 99999\nxx")
	fh.Close()
	deliver(t, root, "Subject: s3\r\n\r\nbody\r\n")
	g := selectBox(t, openStore(t, root), "INBOX")
	for _, m := range g.Messages() {
		if h, err := g.CachedHeader(ctx, m.UID); err != nil || !strings.Contains(string(h), fmt.Sprintf("Subject: s%d", m.UID-1)) {
			t.Fatalf("after a torn record: %d %q %v", m.UID, h, err)
		}
	}
}

func mustGlob(t *testing.T, pat string) []string {
	m, err := filepath.Glob(pat)
	if err != nil || len(m) == 0 {
		t.Fatalf("glob %s: %v %v", pat, m, err)
	}
	return m
}

// BenchmarkFetchEnvelope is imapd's FETCH 1:* (FLAGS ENVELOPE) on a
// 10,000-message folder: SELECT, then every message's cached fields, in
// a fresh session each time (the cache file warm after the first).
func BenchmarkFetchEnvelope(b *testing.B) {
	ctx := context.Background()
	root := filepath.Join(b.TempDir(), "Maildir")
	w := maildir.NewWriter("h", 1, time.Now)
	defer w.Close()
	for i := range 10000 {
		body := fmt.Sprintf("From: a%d@example.org\r\nTo: b@example.org\r\nSubject: message %d\r\nDate: Mon, 7 Dec 2026 06:00:00 +0000\r\nMessage-ID: <%d@example.org>\r\nReceived: from somewhere\r\n\r\n%s", i, i, i, strings.Repeat("body line\r\n", 50))
		if _, _, err := Deliver(ctx, w, Delivery{Root: root, Body: strings.NewReader(body), Now: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for range b.N {
		s, err := Open(ctx, root, Options{})
		if err != nil {
			b.Fatal(err)
		}
		f, err := s.Select(ctx, "INBOX", false)
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range f.Messages() {
			if _, err := f.CachedHeader(ctx, m.UID); err != nil {
				b.Fatal(err)
			}
		}
		f.Close()
		s.Close()
	}
}

// FuzzHeaderCache feeds arbitrary cache files to the loader (which reads
// what other processes wrote) and arbitrary headers to fieldsOf: no
// panic, records only for live names, and a loaded cache that is written
// back loads the same.
func FuzzHeaderCache(f *testing.F) {
	f.Fuzz(func(t *testing.T, file []byte, header []byte) {
		dir := t.TempDir()
		if err := os.WriteFile(filepath.Join(dir, cacheFile), file, 0o600); err != nil {
			t.Fatal(err)
		}
		c := newHeaderCache(dir)
		c.load(0)
		for _, r := range c.recs {
			if b := c.baseAt(r); !validBase(b) {
				t.Fatalf("bad name %q loaded", b)
			} else if d, ok := c.get(b); !ok || len(d) != int(r.n) {
				t.Fatalf("record %q not found again", b)
			}
		}
		c.add("new", fieldsOf(header))
		c.live, c.dead = 1, 1 // force a rewrite
		live := func(b string) bool { return !strings.HasPrefix(b, "x") }
		if err := c.flush(live); err != nil {
			t.Fatal(err)
		}
		want := 0
		for _, r := range c.recs {
			if b := c.baseAt(r); live(b) && b != "new" {
				want++
			}
		}
		d := newHeaderCache(dir)
		d.load(0)
		if len(d.recs) != want+1 || d.total != want+1 {
			t.Fatalf("rewrite kept %d records of %d, want %d", len(d.recs), d.total, want+1)
		}
		for _, r := range d.recs {
			if b := d.baseAt(r); !live(b) {
				t.Fatalf("dead name %q kept", b)
			}
		}
		h, ok := d.get("new")
		if !ok || string(h) != string(fieldsOf(header)) {
			t.Fatalf("rewrite lost the new record: %q", h)
		}
		if !strings.HasSuffix(string(h), "\r\n") {
			t.Fatalf("fields %q do not end a header", h)
		}
	})
}

// BenchmarkIdleSync is a Sync with nothing new on a 10,000-message
// folder: what every IMAP command and IDLE wake-up costs.
func BenchmarkIdleSync(b *testing.B) {
	ctx := context.Background()
	root := filepath.Join(b.TempDir(), "Maildir")
	w := maildir.NewWriter("h", 1, time.Now)
	defer w.Close()
	for range 10000 {
		if _, _, err := Deliver(ctx, w, Delivery{Root: root, Body: strings.NewReader("Subject: x\r\n\r\nbody\r\n"), Now: time.Now()}); err != nil {
			b.Fatal(err)
		}
	}
	s, err := Open(ctx, root, Options{})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	f, err := s.Select(ctx, "INBOX", false)
	if err != nil {
		b.Fatal(err)
	}
	if os.Getenv("SYNC_SLOW") == "" {
		// Past the second in which file times cannot be trusted, so that
		// the fast path applies, as for a mailbox at rest.
		time.Sleep(1100 * time.Millisecond)
		f.Sync(ctx)
	}
	b.ResetTimer()
	for range b.N {
		if _, err := f.Sync(ctx); err != nil {
			b.Fatal(err)
		}
	}
}

// TestHeaderCacheDropsExpunged: the records of expunged messages go
// when a later session writes to a cache that is mostly theirs.
func TestHeaderCacheDropsExpunged(t *testing.T) {
	ctx := context.Background()
	root := filepath.Join(t.TempDir(), "Maildir")
	for i := range 4 {
		deliver(t, root, fmt.Sprintf("Subject: s%d\r\n\r\nbody\r\n", i))
	}
	f := selectBox(t, openStore(t, root), "INBOX")
	for _, m := range f.Messages() {
		if _, err := f.CachedHeader(ctx, m.UID); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := f.StoreFlags(ctx, []uint32{1, 2, 3}, FlagsAdd, []string{`\Deleted`}, 0); err != nil {
		t.Fatal(err)
	}
	if _, err := f.Expunge(ctx, nil); err != nil {
		t.Fatal(err)
	}
	f.Close()
	records := func() int {
		data, err := os.ReadFile(filepath.Join(root, cacheFile))
		if err != nil {
			t.Fatal(err)
		}
		return strings.Count(string(data), "Subject: ")
	}
	if n := records(); n != 4 {
		t.Fatalf("%d records before the next write, want 4", n)
	}
	// A session that only reads leaves the file alone; one that adds a
	// record rewrites it without the three dead ones.
	g := selectBox(t, openStore(t, root), "INBOX")
	g.CachedHeader(ctx, 4)
	g.Close()
	if n := records(); n != 4 {
		t.Fatalf("%d records after a reading session, want 4", n)
	}
	deliver(t, root, "Subject: s4\r\n\r\nbody\r\n")
	h := selectBox(t, openStore(t, root), "INBOX")
	for _, m := range h.Messages() {
		if _, err := h.CachedHeader(ctx, m.UID); err != nil {
			t.Fatal(err)
		}
	}
	h.Close()
	if n := records(); n != 2 {
		t.Fatalf("%d records after a writing session, want 2", n)
	}
}

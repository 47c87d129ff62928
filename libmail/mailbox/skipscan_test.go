package mailbox

import (
	"context"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"
)

// age sets the mtimes of a folder's cur/ and new/ to t.
func age(t *testing.T, dir string, when time.Time) {
	t.Helper()
	for _, d := range []string{"cur", "new"} {
		if err := os.Chtimes(filepath.Join(dir, d), when, when); err != nil {
			t.Fatal(err)
		}
	}
}

// TestSkipScan: a folder whose cur/ and new/ carry the mtimes the index
// recorded, older than a second, is not read again (proved by a file
// slipped in with the directory's time put back: it stays unseen); any
// other mtime, or one within the last second, makes the next SELECT
// scan.
func TestSkipScan(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	for range 3 {
		deliver(t, root, "Subject: x\r\n\r\nbody\r\n")
	}
	past := time.Now().Add(-time.Hour).Truncate(time.Second)
	age(t, root, past)
	if n := len(selectBox(t, openStore(t, root), "INBOX").Messages()); n != 3 {
		t.Fatalf("first select: %d messages", n)
	}
	data, _ := os.ReadFile(filepath.Join(root, indexFile))
	if !strings.Contains(string(data), " "+itoa(past.UnixNano())+" "+itoa(past.UnixNano())+"\n") {
		t.Fatalf("index does not record the directories' times:\n%.200s", data)
	}
	// A file the scan would find, with cur/'s time put back.
	if err := os.WriteFile(filepath.Join(root, "cur", "1.slipped.host:2,S"), []byte("Subject: y\n\nz\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	age(t, root, past)
	before, _ := os.Stat(filepath.Join(root, indexFile))
	if n := len(selectBox(t, openStore(t, root), "INBOX").Messages()); n != 3 {
		t.Fatalf("unchanged folder was scanned: %d messages", n)
	}
	// Nor is its index written again (no fsync for a SELECT).
	if after, _ := os.Stat(filepath.Join(root, indexFile)); !os.SameFile(before, after) || !after.ModTime().Equal(before.ModTime()) {
		t.Fatal("index rewritten by the SELECT of an unchanged folder")
	}
	// Any change of time: scanned.
	age(t, root, past.Add(time.Nanosecond))
	if n := len(selectBox(t, openStore(t, root), "INBOX").Messages()); n != 4 {
		t.Fatalf("changed folder: %d messages, want 4", n)
	}
	// A directory changed within the last second is not trusted: its
	// time is not recorded, and every SELECT scans.
	now := time.Now()
	age(t, root, now)
	s := openStore(t, root)
	selectBox(t, s, "INBOX")
	if err := os.WriteFile(filepath.Join(root, "cur", "2.slipped.host:2,"), []byte("Subject: y\n\nz\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	age(t, root, now)
	if n := len(selectBox(t, s, "INBOX").Messages()); n != 5 {
		t.Fatalf("recently changed folder: %d messages, want 5", n)
	}
	data, _ = os.ReadFile(filepath.Join(root, indexFile))
	if strings.Contains(string(data), itoa(now.UnixNano())) {
		t.Fatal("an untrusted time was recorded")
	}
}

// TestIndexV1Upgrade: a version 1 index (no directory times) keeps its
// UIDVALIDITY and UIDs, and is written back as version 2.
func TestIndexV1Upgrade(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	for range 2 {
		deliver(t, root, "Subject: x\r\n\r\nbody\r\n")
	}
	f := selectBox(t, openStore(t, root), "INBOX")
	want := f.Messages()
	v := f.UIDValidity()
	f.Close()
	p := filepath.Join(root, indexFile)
	data, _ := os.ReadFile(p)
	lines := strings.SplitN(string(data), "\n", 3)
	h := strings.Fields(lines[1])
	v1 := indexMagicV1 + "\n" + strings.Join(h[:4], " ") + "\n" + lines[2]
	// The UIDs are moved up, to tell them from a renumbering.
	v1 = strings.Replace(v1, "\n1 ", "\n5 ", 1)
	v1 = strings.Replace(v1, "\n2 ", "\n7 ", 1)
	v1 = strings.Replace(v1, " "+h[1]+" ", " 8 ", 1)
	if err := os.WriteFile(p, []byte(v1), 0o600); err != nil {
		t.Fatal(err)
	}
	g := selectBox(t, openStore(t, root), "INBOX")
	got := g.Messages()
	if g.UIDValidity() != v || len(got) != len(want) || got[0].UID != 5 || got[1].UID != 7 || g.UIDNext() != 8 {
		t.Fatalf("after upgrade: validity %d (was %d), %+v, uidnext %d", g.UIDValidity(), v, got, g.UIDNext())
	}
	age(t, root, time.Now().Add(-time.Hour))
	selectBox(t, openStore(t, root), "INBOX")
	if data, _ := os.ReadFile(p); !strings.HasPrefix(string(data), indexMagic+"\n") {
		t.Fatalf("not rewritten as version 2: %.60q", data)
	}
}

func itoa(n int64) string { return strconvFormat(n) }

func strconvFormat(n int64) string { return strconv.FormatInt(n, 10) }

// TestFirstSightParallel: a folder seen for the first time with enough
// files for the parallel stat numbers them in delivery order (the time
// in the name) and takes sizes from W=, and a FETCH-like pass over the
// header cache (read ahead in parallel) gives each message its own.
func TestFirstSightParallel(t *testing.T) {
	root := filepath.Join(t.TempDir(), "Maildir")
	s := openStore(t, root)
	const n = 700
	for i := range n {
		body := "Subject: m" + strconv.Itoa(i) + "\n\nbody\n"
		name := strconv.Itoa(1700000000+i) + ".M1P1.h,S=" + strconv.Itoa(len(body)) + ",W=" + strconv.Itoa(len(body)+3) + ":2,"
		if err := os.WriteFile(filepath.Join(root, "cur", name), []byte(body), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	f := selectBox(t, s, "INBOX")
	msgs := f.Messages()
	if len(msgs) != n {
		t.Fatalf("%d messages, want %d", len(msgs), n)
	}
	for i, m := range msgs {
		h, err := f.CachedHeader(context.Background(), m.UID)
		want := "Subject: m" + strconv.Itoa(i) + "\r\n\r\n"
		if err != nil || string(h) != want || m.Size != int64(len(want)+len("body\r\n")) {
			t.Fatalf("message %d (UID %d, size %d): %q, %v; want %q", i, m.UID, m.Size, h, err, want)
		}
	}
}

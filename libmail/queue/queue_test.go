package queue

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"
)

func testSpool(t *testing.T) *Spool {
	t.Helper()
	root := t.TempDir()
	for _, d := range Layout {
		if err := os.Mkdir(filepath.Join(root, d.Name), d.Mode); err != nil {
			t.Fatal(err)
		}
	}
	s := Open(root, time.Now)
	t.Cleanup(func() { s.Close() })
	return s
}

func testEnvelope() *Envelope {
	return &Envelope{
		Arrival: time.Unix(1795441921, 123456789),
		Sender:  "bounce@example.org",
		Recipients: []Recipient{
			{Addr: "demo@example.test", Notify: "SUCCESS,FAILURE", ORcpt: "rfc822;demo@example.test"},
			{Addr: "\"odd local\"@example.test"},
			{Addr: "δοκιμή@παράδειγμα.δοκιμή"},
		},
		EnvID: "QQ 100%", Ret: "HDRS", Body: "8BITMIME", SMTPUTF8: true,
		ClientName: "unknown", ClientAddr: "127.0.0.1", Helo: "client.example", Proto: "ESMTP",
	}
}

func writeEntry(t *testing.T, s *Spool, env *Envelope, msg string) ID {
	t.Helper()
	id := s.NewID()
	w, err := s.Create(id, env)
	if err != nil {
		t.Fatal(err)
	}
	if _, err := io.WriteString(w, msg); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	return id
}

func readEntry(t *testing.T, s *Spool, q string, id ID) (*Entry, string) {
	t.Helper()
	f, err := os.Open(s.Path(q, id))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	e, err := Read(f, id)
	if err != nil {
		t.Fatal(err)
	}
	msg, err := io.ReadAll(e.Message(f))
	if err != nil {
		t.Fatal(err)
	}
	return e, string(msg)
}

func TestRoundTrip(t *testing.T) {
	s := testSpool(t)
	env := testEnvelope()
	msg := "Subject: hi\r\n\r\nbody\r\n.leading dot kept\r\n"
	id := writeEntry(t, s, env, msg)
	e, got := readEntry(t, s, Incoming, id)
	if got != msg {
		t.Errorf("message = %q, want %q", got, msg)
	}
	if e.ID != id || e.Size != int64(len(msg)) {
		t.Errorf("id %s size %d", e.ID, e.Size)
	}
	e.Envelope.Arrival = e.Envelope.Arrival.UTC()
	env.Arrival = env.Arrival.UTC()
	if fmt.Sprint(e.Envelope) != fmt.Sprint(*env) {
		t.Errorf("envelope\n got %+v\nwant %+v", e.Envelope, *env)
	}
	if len(e.Pending()) != 3 || e.Done() {
		t.Errorf("fresh entry: pending %v done %v", e.Pending(), e.Done())
	}
	if _, err := os.Stat(s.Path(Tmp, id)); !os.IsNotExist(err) {
		t.Errorf("tmp file left behind: %v", err)
	}
}

func TestEmptySenderAndLargeMessage(t *testing.T) {
	s := testSpool(t)
	env := &Envelope{Arrival: time.Now(), Recipients: []Recipient{{Addr: "a@b"}}}
	// Larger than the write buffer, so the size is patched with pwrite.
	msg := strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n", 5000)
	id := writeEntry(t, s, env, msg)
	e, got := readEntry(t, s, Incoming, id)
	if got != msg || e.Sender != "" {
		t.Errorf("size %d/%d sender %q", len(got), len(msg), e.Sender)
	}
}

func TestRecordsAndTornTrailer(t *testing.T) {
	s := testSpool(t)
	id := writeEntry(t, s, testEnvelope(), "x\r\n")
	p := s.Path(Incoming, id)
	f, err := os.OpenFile(p, os.O_RDWR|os.O_APPEND, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := Append(f,
		ResultRecord{Result{Rcpt: 0, Status: Deferred, DSN: "4.4.1", Relay: "none", Reply: "connect to mx: timeout 100%"}},
		ResultRecord{Result{Rcpt: 0, Status: Sent, DSN: "2.0.0", Relay: "local", Reply: "delivered to maildir"}},
		ResultRecord{Result{Rcpt: 1, Status: Failed, DSN: "5.1.1", Relay: "local", Reply: "unknown user: \"odd local\"\r\nsecond line"}},
		AttemptRecord{Attempts: 2, Next: time.Unix(1795442000, 0)},
	); err != nil {
		t.Fatal(err)
	}
	// A crash mid-append leaves a torn record; it must be ignored, and the
	// next append must not glue onto it.
	if _, err := f.WriteString("result 2 sent 2.0"); err != nil {
		t.Fatal(err)
	}
	e, _ := readEntry(t, s, Incoming, id)
	if e.State[2].Status != Pending {
		t.Errorf("torn record applied: %+v", e.State[2])
	}
	if err := Append(f, NotifiedRecord{Rcpts: []int{1}}, WarnedRecord{}); err != nil {
		t.Fatal(err)
	}
	e, _ = readEntry(t, s, Incoming, id)
	if e.State[0].Status != Sent || e.State[0].Reply != "delivered to maildir" {
		t.Errorf("rcpt 0: %+v", e.State[0])
	}
	if e.State[1].Status != Failed || !e.State[1].Notified || e.State[1].Reply != "unknown user: \"odd local\"\r\nsecond line" {
		t.Errorf("rcpt 1: %+v", e.State[1])
	}
	if e.Attempts != 2 || e.NextAttempt.Unix() != 1795442000 || !e.Warned {
		t.Errorf("attempts %d next %v warned %v", e.Attempts, e.NextAttempt, e.Warned)
	}
	if got := e.Pending(); len(got) != 1 || got[0] != 2 {
		t.Errorf("pending = %v", got)
	}
	if e.Done() {
		t.Error("done with a pending recipient")
	}
}

func TestCorrupt(t *testing.T) {
	s := testSpool(t)
	id := writeEntry(t, s, testEnvelope(), "hello\r\n")
	good, _ := os.ReadFile(s.Path(Incoming, id))
	for name, data := range map[string][]byte{
		"empty":     nil,
		"magic":     append([]byte("postern-queue 9\n"), good[len(magic):]...),
		"truncated": good[:len(good)-3],
		"size":      bytes.Replace(good, []byte("size 0000000000000007"), []byte("size 00000000000000x7"), 1),
		"field":     bytes.Replace(good, []byte("helo "), []byte("hello "), 1),
		"no rcpt":   []byte(magic + "size 0000000000000000\narrival 5\n\n"),
	} {
		e, err := parse(bytes.NewReader(data), int64(len(data)))
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: got %+v, %v; want ErrCorrupt", name, e, err)
		}
	}
}

func TestConcurrentCommits(t *testing.T) {
	s := testSpool(t)
	var wg sync.WaitGroup
	ids := make(chan ID, 200)
	for g := 0; g < 20; g++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for range 10 {
				id := s.NewID()
				w, err := s.Create(id, testEnvelope())
				if err != nil {
					t.Error(err)
					return
				}
				fmt.Fprintf(w, "Subject: %s\r\n\r\n%s\r\n", id, strings.Repeat("x", 5000))
				if err := w.Commit(); err != nil {
					t.Error(err)
					return
				}
				ids <- id
			}
		}()
	}
	wg.Wait()
	close(ids)
	listed, err := s.List(Incoming)
	if err != nil {
		t.Fatal(err)
	}
	if len(listed) != 200 {
		t.Fatalf("%d entries in incoming, want 200", len(listed))
	}
	for id := range ids {
		_, msg := readEntry(t, s, Incoming, id)
		if !strings.HasPrefix(msg, "Subject: "+string(id)) {
			t.Fatalf("%s holds the wrong message", id)
		}
	}
}

func TestAbortLeavesNothing(t *testing.T) {
	s := testSpool(t)
	id := s.NewID()
	w, err := s.Create(id, testEnvelope())
	if err != nil {
		t.Fatal(err)
	}
	w.WriteString("partial")
	w.Abort()
	for _, q := range []string{Tmp, Incoming} {
		if ids, _ := s.List(q); len(ids) != 0 {
			t.Errorf("%s holds %v", q, ids)
		}
	}
	if err := w.Commit(); err == nil {
		t.Error("commit after abort succeeded")
	}
}

// A 50 MB message must stream through a fixed buffer.
func TestStreamingMemory(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 50 MB")
	}
	s := testSpool(t)
	id := s.NewID()
	w, err := s.Create(id, testEnvelope())
	if err != nil {
		t.Fatal(err)
	}
	runtime.GC()
	var before, after runtime.MemStats
	runtime.ReadMemStats(&before)
	line := []byte(strings.Repeat("y", 998) + "\r\n")
	for range 50 << 10 {
		w.Write(line)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&after)
	if grown := after.TotalAlloc - before.TotalAlloc; grown > 4<<20 {
		t.Errorf("writing 50 MB allocated %d bytes", grown)
	}
	f, _ := os.Open(s.Path(Incoming, id))
	defer f.Close()
	e, err := Read(f, id)
	if err != nil || e.Size != 50<<10*1000 {
		t.Fatalf("size %v, %v", e, err)
	}
}

func TestIDs(t *testing.T) {
	now := time.Unix(1795441921, 0)
	src := NewIDSource(func() time.Time { return now })
	seen := map[ID]bool{}
	var list []string
	for i := range 1000 {
		now = now.Add(time.Duration(i%3) * time.Microsecond)
		id := src.New()
		if !Valid(string(id)) || seen[id] {
			t.Fatalf("bad or repeated ID %q", id)
		}
		seen[id] = true
		list = append(list, string(id))
		if id.Time().Unix() != now.Unix() {
			t.Fatalf("ID %s time %v, want %v", id, id.Time(), now)
		}
	}
	if !sort.SliceIsSorted(list, func(i, j int) bool { return list[i][:idTimeLen] < list[j][:idTimeLen] }) {
		t.Error("IDs do not sort by time")
	}
	for _, bad := range []string{"", "../../etc/passw", "0123456789ABCDEW", "0123456789abcdef", "0123456789ABCDE"} {
		if Valid(bad) {
			t.Errorf("Valid(%q)", bad)
		}
	}
}

func TestEscape(t *testing.T) {
	for _, s := range []string{"", "plain", "with space", "100%", "tab\there", "\x00\x7f", "ünïcode", "%"} {
		got, err := unescape(escape(s))
		if err != nil || got != s {
			t.Errorf("round trip %q: %q, %v", s, got, err)
		}
		if strings.ContainsAny(escape(s), " \n\r\t") {
			t.Errorf("escape(%q) = %q is not one token", s, escape(s))
		}
	}
}

// A finished entry's file is reused by the next entry, cut to its new
// length, and the new entry reads back as itself.
func TestSpareRecycling(t *testing.T) {
	s := testSpool(t)
	big := strings.Repeat("old message line\r\n", 1000)
	id := writeEntry(t, s, testEnvelope(), big)
	st, _ := os.Stat(s.Path(Incoming, id))
	ino := st.Sys().(*syscall.Stat_t).Ino
	if err := s.Recycle(Incoming, id); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(s.Path(Incoming, id)); !os.IsNotExist(err) {
		t.Fatal("recycled entry still in incoming")
	}
	id2 := writeEntry(t, s, testEnvelope(), "new\r\n")
	st, _ = os.Stat(s.Path(Incoming, id2))
	if st.Sys().(*syscall.Stat_t).Ino != ino {
		t.Error("the spare file was not reused")
	}
	_, msg := readEntry(t, s, Incoming, id2)
	if msg != "new\r\n" {
		t.Errorf("reused file holds %q", msg)
	}
	// The new entry overwrote the old one in place: nothing of the old
	// message may be left past its end.
	if raw, _ := os.ReadFile(s.Path(Incoming, id2)); strings.Contains(string(raw), "old message") {
		t.Errorf("the reused file still holds the old message after the new entry")
	}
	if names, _ := os.ReadDir(filepath.Join(s.Root(), Spare)); len(names) != 0 {
		t.Errorf("spare/ still holds %d files", len(names))
	}
}

func TestTrimSpare(t *testing.T) {
	s := testSpool(t)
	for i := range MaxSpare + 5 {
		os.WriteFile(filepath.Join(s.Root(), Spare, fmt.Sprintf("f%d", i)), nil, 0o600)
	}
	old := filepath.Join(s.Root(), Tmp, "stale")
	os.WriteFile(old, nil, 0o600)
	past := time.Now().Add(-25 * time.Hour)
	os.Chtimes(old, past, past)
	os.WriteFile(filepath.Join(s.Root(), Tmp, "fresh"), nil, 0o600)
	if n := s.TrimSpare(time.Now()); n != 6 {
		t.Errorf("removed %d, want 6", n)
	}
	if _, err := os.Stat(filepath.Join(s.Root(), Tmp, "fresh")); err != nil {
		t.Error("a fresh tmp file was removed")
	}
}

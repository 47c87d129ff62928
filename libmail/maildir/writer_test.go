package maildir

import (
	"bytes"
	"context"
	"crypto/sha256"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"testing"
	"testing/iotest"
	"time"
)

// fixedClock returns the same instant every time, the worst case for
// uniqueness: only the counter tells names apart.
func fixedClock() time.Time { return time.Unix(1795000000, 123456789) }

func newMaildir(t testing.TB) string {
	t.Helper()
	root := filepath.Join(t.TempDir(), "Maildir")
	if err := Create(root, 0o700); err != nil {
		t.Fatal(err)
	}
	return root
}

func newWriter(t testing.TB) *Writer {
	t.Helper()
	w := NewWriter("mx.example.org", 4242, fixedClock)
	t.Cleanup(func() { w.Close() })
	return w
}

func listDir(t testing.TB, dir string) []string {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	return names
}

// testBody returns a message body in wire form with the awkward cases: a
// lone CR, CR CR LF, a CR right at the end.
func testBody(i int) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Subject: message %d\r\n\r\n", i)
	for j := range i % 50 {
		fmt.Fprintf(&b, "line %d of %d\r\n", j, i)
	}
	b.WriteString("bare\rcr\r\r\nend")
	if i%3 == 0 {
		b.WriteString("\r")
	}
	return b.String()
}

func TestDeliverConcurrent(t *testing.T) {
	root := newMaildir(t)
	w := newWriter(t)
	const total, workers = 500, 20
	names := make([]string, total)
	var wg sync.WaitGroup
	errs := make(chan error, workers)
	for g := range workers {
		wg.Go(func() {
			for i := g; i < total; i += workers {
				hdr := fmt.Sprintf("Return-Path: <a@b>\nDelivered-To: user%d@example.org\n", i)
				name, err := w.Deliver(context.Background(), root, []byte(hdr), iotest.HalfReader(strings.NewReader(testBody(i))))
				if err != nil {
					errs <- err
					return
				}
				names[i] = name
			}
		})
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatal(err)
	}
	if got := listDir(t, filepath.Join(root, "tmp")); len(got) != 0 {
		t.Fatalf("tmp/ holds %d files", len(got))
	}
	if got := listDir(t, filepath.Join(root, "new")); len(got) != total {
		t.Fatalf("new/ holds %d files, want %d", len(got), total)
	}
	seqs := make(map[uint64]bool)
	for i, name := range names {
		data, err := os.ReadFile(filepath.Join(root, "new", name))
		if err != nil {
			t.Fatal(err)
		}
		want := fmt.Sprintf("Return-Path: <a@b>\nDelivered-To: user%d@example.org\n", i) +
			strings.ReplaceAll(testBody(i), "\r\n", "\n")
		if string(data) != want {
			t.Fatalf("message %d: got %q, want %q", i, data, want)
		}
		n, err := ParseName(name)
		if err != nil {
			t.Fatal(err)
		}
		if n.Sec != 1795000000 || n.Usec != 123456 || n.PID != 4242 || n.Host != "mx.example.org" {
			t.Fatalf("name %q parsed as %+v", name, n)
		}
		if n.Size != int64(len(data)) {
			t.Fatalf("name %q says S=%d, file has %d bytes", name, n.Size, len(data))
		}
		// Each LF becomes CRLF, but for one a bare CR already precedes.
		if crlf := int64(len(data) + strings.Count(string(data), "\n") - strings.Count(string(data), "\r\n")); n.VSize != crlf {
			t.Fatalf("name %q says W=%d, CRLF form has %d bytes", name, n.VSize, crlf)
		}
		if seqs[n.Seq] {
			t.Fatalf("counter %d used twice", n.Seq)
		}
		seqs[n.Seq] = true
		fi, err := os.Stat(filepath.Join(root, "new", name))
		if err != nil {
			t.Fatal(err)
		}
		if fi.Mode().Perm() != 0o600 {
			t.Fatalf("%s has mode %v", name, fi.Mode())
		}
	}
}

func TestDeliverFailure(t *testing.T) {
	boom := errors.New("client went away")
	cancelled, cancel := context.WithCancel(context.Background())
	cancel()
	tests := []struct {
		name string
		ctx  context.Context
		root func(string) string
		body io.Reader
		want error
	}{
		{"body read error", context.Background(), nil,
			io.MultiReader(strings.NewReader(strings.Repeat("data\r\n", 50000)), iotest.ErrReader(boom)), boom},
		{"body read error at once", context.Background(), nil, iotest.ErrReader(boom), boom},
		{"timeout reader", context.Background(), nil,
			iotest.TimeoutReader(strings.NewReader(strings.Repeat("x", 100000))), iotest.ErrTimeout},
		{"cancelled", cancelled, nil, strings.NewReader("x\r\n"), context.Canceled},
		{"no maildir", context.Background(), func(r string) string { return r + "-missing" },
			strings.NewReader("x\r\n"), os.ErrNotExist},
	}
	for _, tt := range tests {
		root := newMaildir(t)
		w := newWriter(t)
		target := root
		if tt.root != nil {
			target = tt.root(root)
		}
		name, err := w.Deliver(tt.ctx, target, []byte("H: v\n"), tt.body)
		if !errors.Is(err, tt.want) {
			t.Errorf("%s: error %v, want %v", tt.name, err, tt.want)
		}
		if name != "" {
			t.Errorf("%s: returned name %q", tt.name, name)
		}
		for _, sub := range []string{"tmp", "new", "cur"} {
			if got := listDir(t, filepath.Join(root, sub)); len(got) != 0 {
				t.Errorf("%s: %s/ holds %q", tt.name, sub, got)
			}
		}
	}
}

// TestDeliverCollision plants files under the names the Writer will pick
// first and checks that it neither fails nor overwrites them.
func TestDeliverCollision(t *testing.T) {
	const size = int64(len("hello\n"))
	q1 := Name{1795000000, 123456, 4242, 1, "mx.example.org", -1, -1, ""}
	q1Final := q1
	q1Final.Size = size
	q1Final.VSize = size + 1
	tests := []struct {
		name    string
		plant   string // path under root
		wantSeq uint64
	}{
		{"in new", "new/" + q1Final.String(), 2},
		{"in tmp", "tmp/" + q1.String(), 2},
		{"unrelated size in new", "new/" + q1.String() + ",S=99", 1},
	}
	for _, tt := range tests {
		root := newMaildir(t)
		w := newWriter(t)
		planted := filepath.Join(root, tt.plant)
		if err := os.WriteFile(planted, []byte("precious"), 0o600); err != nil {
			t.Fatal(err)
		}
		name, err := w.Deliver(context.Background(), root, nil, strings.NewReader("hello\r\n"))
		if err != nil {
			t.Fatalf("%s: %v", tt.name, err)
		}
		if got, _ := os.ReadFile(planted); string(got) != "precious" {
			t.Fatalf("%s: existing file overwritten: %q", tt.name, got)
		}
		if got, _ := os.ReadFile(filepath.Join(root, "new", name)); string(got) != "hello\n" {
			t.Fatalf("%s: delivered %q", tt.name, got)
		}
		n, err := ParseName(name)
		if err != nil || n.Seq != tt.wantSeq || n.Size != size {
			t.Fatalf("%s: name %q parsed as %+v, %v; want counter %d", tt.name, name, n, err, tt.wantSeq)
		}
		wantTmp := 0
		if strings.HasPrefix(tt.plant, "tmp/") {
			wantTmp = 1
		}
		if tmp := listDir(t, filepath.Join(root, "tmp")); len(tmp) != wantTmp {
			t.Fatalf("%s: tmp/ holds %q", tt.name, tmp)
		}
	}
}

// lineReader generates lines of varying length in the given line ending
// without holding the message, so that a 50 MB delivery can be tested
// without a 50 MB slice.
type lineReader struct {
	remaining int64 // bytes still to produce
	eol       string
	line      []byte // current line
	ys        []byte // filler that varies the line length
	off       int
	n         int
	sample    func()
	since     int64
}

func (r *lineReader) Read(p []byte) (int, error) {
	if r.remaining <= 0 {
		return 0, io.EOF
	}
	total := 0
	for len(p) > 0 && r.remaining > 0 {
		if r.off == len(r.line) {
			r.n++
			// Built by hand: fmt would allocate, and this test counts
			// allocations.
			r.line = append(r.line[:0], "line "...)
			r.line = strconv.AppendInt(r.line, int64(r.n), 10)
			r.line = append(r.line, ' ')
			if r.ys == nil {
				r.ys = bytes.Repeat([]byte("y"), 97)
			}
			r.line = append(r.line, r.ys[:r.n%97]...)
			r.line = append(r.line, r.eol...)
			r.off = 0
		}
		k := copy(p, r.line[r.off:])
		if int64(k) > r.remaining {
			k = int(r.remaining)
		}
		r.off += k
		r.remaining -= int64(k)
		p = p[k:]
		total += k
	}
	r.since += int64(total)
	if r.sample != nil && r.since >= 1<<20 {
		r.since = 0
		r.sample()
	}
	return total, nil
}

func TestDeliverLarge(t *testing.T) {
	if testing.Short() {
		t.Skip("writes 50 MB")
	}
	root := newMaildir(t)
	w := newWriter(t)
	const lines = 860000 // just over 50 MiB in wire form
	// The generator's output size is known in advance, so it can stop on
	// a line boundary.
	wireSize := int64(0)
	for i := 1; i <= lines; i++ {
		wireSize += int64(len("line "+strconv.Itoa(i)+" ") + i%97 + len("\r\n"))
	}
	if wireSize < 50<<20 {
		t.Fatalf("generator makes only %d bytes", wireSize)
	}

	var peak uint64
	var ms runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&ms)
	before := ms.TotalAlloc
	body := &lineReader{remaining: wireSize, eol: "\r\n", sample: func() {
		runtime.ReadMemStats(&ms)
		peak = max(peak, ms.HeapAlloc)
	}}
	header := []byte("Return-Path: <a@b>\n")
	name, err := w.Deliver(context.Background(), root, header, body)
	if err != nil {
		t.Fatal(err)
	}
	runtime.ReadMemStats(&ms)
	allocated := ms.TotalAlloc - before
	t.Logf("wire size %d, peak heap %d KiB, allocated %d KiB", wireSize, peak>>10, allocated>>10)
	if peak > 8<<20 {
		t.Errorf("heap peaked at %d bytes while delivering %d", peak, wireSize)
	}
	if allocated > 1<<20 {
		t.Errorf("delivery allocated %d bytes in total", allocated)
	}

	// Compare with the LF form, generated the same way, by hash.
	want := sha256.New()
	want.Write(header)
	wantSize, _ := io.Copy(want, &lineReader{remaining: wireSize - int64(lines), eol: "\n"})
	wantSize += int64(len(header))
	f, err := os.Open(filepath.Join(root, "new", name))
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	got := sha256.New()
	gotSize, _ := io.Copy(got, f)
	if gotSize != wantSize || !bytes.Equal(got.Sum(nil), want.Sum(nil)) {
		t.Fatalf("stored %d bytes, want %d; contents differ: %v", gotSize, wantSize, !bytes.Equal(got.Sum(nil), want.Sum(nil)))
	}
	n, err := ParseName(name)
	if err != nil || n.Size != wantSize {
		t.Fatalf("name %q parsed as %+v, %v", name, n, err)
	}
}

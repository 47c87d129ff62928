package imap

import (
	"bytes"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

// scanNames are the fields ENVELOPE, SORT, THREAD and header SEARCH
// read, in odd cases, and names that are almost fields.
var scanNames = []string{
	"Date", "Subject", "From", "Sender", "Reply-To", "To", "Cc", "Bcc",
	"In-Reply-To", "Message-Id", "message-id", "MESSAGE-ID", "References",
	"Content-Type", "X-Missing", "Subject ", "Sub ject", "",
}

// sameAsGoMessage checks that Get, Has and Values over Fields agree with
// go-message's parsed header for the names the header holds and
// scanNames.
func sameAsGoMessage(t *testing.T, what string, raw []byte) {
	t.Helper()
	h := parseHeader(raw)
	names := slices.Clone(scanNames)
	for _, f := range h.Fields {
		names = append(names, f.Name, strings.ToUpper(f.Name))
	}
	gm := h.message()
	for _, n := range names {
		if got, want := h.Has(n), gm.Has(n); got != want {
			t.Fatalf("%s: Has(%q) = %v, go-message %v", what, n, got, want)
		}
		if got, want := h.Get(n), gm.Get(n); got != want {
			t.Fatalf("%s: Get(%q) = %q, go-message %q", what, n, got, want)
		}
		if got, want := h.Values(n), gm.Values(n); !slices.Equal(got, want) {
			t.Fatalf("%s: Values(%q) = %q, go-message %q", what, n, got, want)
		}
	}
}

// headerOf is the header section of a message as readPartHeader cuts it.
func headerOf(t *testing.T, msg []byte) []byte {
	p, err := readPartHeader(bytes.NewReader(msg), 0, int64(len(msg)))
	if err != nil {
		t.Fatal(err)
	}
	return p.Header.Raw
}

// TestHeaderScanMatchesGoMessage compares the field scanner with
// go-message over the golden and fuzz-corpus messages (LF and CRLF), and
// over every message of $IMAPD_BENCH_MAILDIR (imapbench gen DIR 10000)
// when set.
func TestHeaderScanMatchesGoMessage(t *testing.T) {
	files, _ := filepath.Glob("testdata/message/*.txtar")
	for _, file := range files {
		ar, err := txtar.ParseFile(file)
		if err != nil {
			t.Fatal(err)
		}
		for _, f := range ar.Files {
			if f.Name == "message" {
				sameAsGoMessage(t, file, headerOf(t, f.Data))
				sameAsGoMessage(t, file+" crlf", headerOf(t, []byte(crlf(string(f.Data)))))
			}
		}
	}
	seeds, _ := filepath.Glob("testdata/fuzz/*/*")
	for _, file := range seeds {
		data, _ := os.ReadFile(file)
		sameAsGoMessage(t, file, headerOf(t, data))
	}
	for _, raw := range []string{
		"Subject:   spaced out  \r\n\t and folded\r\n  \r\n  again\r\nX: y\r\n\r\n",
		"subject: low\nSUBJECT: high\nSubject:\n\nbody",
		"Subject : space before colon\r\nFrom\t:\ttab\r\n\r\n",
		"Sub ject: invalid name\r\nMessage-ID: <a@b>\r\nmessage-id: <c@d>\r\n\r\n",
		"Subject: bare CR\r\r\nTo: x\r \r\n\r\n",
		"no colon line\r\n folded onto nothing\r\nSubject: after\r\n\r\n",
		"\vSubject: vt\r\nSubject\v: vt2\r\n\r\n",
		"Subject: no final newline",
	} {
		sameAsGoMessage(t, raw, []byte(raw))
	}
	dir := os.Getenv("IMAPD_BENCH_MAILDIR")
	if dir == "" {
		return
	}
	n := 0
	for _, sub := range []string{"cur", "new"} {
		entries, _ := os.ReadDir(filepath.Join(dir, sub))
		for _, e := range entries {
			data, err := os.ReadFile(filepath.Join(dir, sub, e.Name()))
			if err != nil {
				t.Fatal(err)
			}
			sameAsGoMessage(t, e.Name(), headerOf(t, data))
			n++
		}
	}
	t.Logf("%d messages of %s compared", n, dir)
}

// FuzzHeaderScan: on any header the scanner and go-message agree.
func FuzzHeaderScan(f *testing.F) {
	f.Add([]byte("Subject: a\r\n b\r\nFrom: x@y\r\n\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sameAsGoMessage(t, "fuzz", headerOf(t, data))
	})
}

// sameHeaderCut checks that NewMessageBytes cuts and parses the header
// as NewMessage does from a reader.
func sameHeaderCut(t *testing.T, data []byte) {
	t.Helper()
	want, err := NewMessage(bytes.NewReader(data), int64(len(data))).Header()
	if err != nil {
		t.Fatal(err)
	}
	got, _ := NewMessageBytes(data).Header()
	if got.BodyStart != want.BodyStart || !bytes.Equal(got.Header.Raw, want.Header.Raw) || len(got.Header.Fields) != len(want.Header.Fields) {
		t.Fatalf("header of %d bytes: cut at %d, want %d", len(data), got.BodyStart, want.BodyStart)
	}
}

// TestNewMessageBytes: the in-memory header cut equals the reader's on
// the test messages and on lines longer than the reader's buffer.
func TestNewMessageBytes(t *testing.T) {
	seeds, _ := filepath.Glob("testdata/fuzz/*/*")
	for _, file := range seeds {
		data, _ := os.ReadFile(file)
		sameHeaderCut(t, data)
	}
	long := strings.Repeat("x", 4096)
	for _, s := range []string{
		"", "\n", "\r\n", "a", "Subject: x", "Subject: x\n\nbody",
		"X: " + long + "\nSubject: y\n\nbody",
		"X: " + long[:4093] + "\n\nbody", // the line end alone in the next piece
		"X: " + long[:4092] + "\r\n\r\nbody",
		long + long + "\n",
	} {
		sameHeaderCut(t, []byte(s))
	}
}

// FuzzNewMessageBytes: on any input the two header cuts agree.
func FuzzNewMessageBytes(f *testing.F) {
	f.Add([]byte("Subject: a\r\n\r\nbody"))
	f.Fuzz(func(t *testing.T, data []byte) {
		sameHeaderCut(t, data)
	})
}

package imap

import (
	"bytes"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"golang.org/x/tools/txtar"
)

// crlf turns a test message's LF line ends into the CRLF the store keeps.
func crlf(s string) string { return strings.ReplaceAll(s, "\n", "\r\n") }

func render(f func(w *Writer)) string {
	var b bytes.Buffer
	w := NewWriter(&b)
	f(w)
	if err := w.Flush(); err != nil {
		panic(err)
	}
	return b.String()
}

// rfc3501Message has the headers of RFC 3501 §8's FETCH example and a
// body whose parts have the sizes and line counts of its BODY.
func rfc3501Message() string {
	var b strings.Builder
	b.WriteString(crlf(`Date: Wed, 17 Jul 1996 02:23:25 -0700 (PDT)
From: Terry Gray <gray@cac.washington.edu>
Subject: IMAP4rev1 WG mtg summary and minutes
To: imap@cac.washington.edu
cc: minutes@CNRI.Reston.VA.US, John Klensin <KLENSIN@MIT.EDU>
Message-Id: <B27397-0100000@cac.washington.edu>
MIME-Version: 1.0
Content-Type: MULTIPART/MIXED; BOUNDARY="abc"

--abc
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII

`))
	for i := 0; i < 22; i++ {
		b.WriteString(strings.Repeat("t", 48) + "\r\n")
	}
	b.WriteString(strings.Repeat("t", 52) + "\r\n")
	b.WriteString(crlf(`--abc
Content-Type: TEXT/PLAIN; CHARSET=US-ASCII; NAME=cc.diff
Content-ID: <960723163407.20117h@cac.washington.edu>
Content-Description: Compiled diff
Content-Transfer-Encoding: BASE64

`))
	for i := 0; i < 72; i++ {
		b.WriteString(strings.Repeat("A", 60) + "\r\n")
	}
	b.WriteString(strings.Repeat("A", 90) + "\r\n")
	b.WriteString("--abc--\r\n")
	return b.String()
}

func TestRFC3501Example(t *testing.T) {
	raw := rfc3501Message()
	m := NewMessage(strings.NewReader(raw), int64(len(raw)))
	env, err := m.Envelope()
	if err != nil {
		t.Fatal(err)
	}
	got := render(func(w *Writer) { w.Envelope(env) })
	want := `("Wed, 17 Jul 1996 02:23:25 -0700 (PDT)" "IMAP4rev1 WG mtg summary and minutes" (("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) (("Terry Gray" NIL "gray" "cac.washington.edu")) ((NIL NIL "imap" "cac.washington.edu")) ((NIL NIL "minutes" "CNRI.Reston.VA.US")("John Klensin" NIL "KLENSIN" "MIT.EDU")) NIL NIL "<B27397-0100000@cac.washington.edu>")`
	if got != want {
		t.Errorf("ENVELOPE\n got %s\nwant %s", got, want)
	}
	root, err := m.Structure()
	if err != nil {
		t.Fatal(err)
	}
	got = render(func(w *Writer) { w.BodyStructure(root, false) })
	want = `(("TEXT" "PLAIN" ("CHARSET" "US-ASCII") NIL NIL "7BIT" 1152 23)("TEXT" "PLAIN" ("CHARSET" "US-ASCII" "NAME" "cc.diff") "<960723163407.20117h@cac.washington.edu>" "Compiled diff" "BASE64" 4554 73) "MIXED")`
	if got != want {
		t.Errorf("BODY\n got %s\nwant %s", got, want)
	}
}

// A header FETCH must not read the body: the ReaderAt fails past the
// header, and HEADER, HEADER.FIELDS, ENVELOPE still work.
type headerOnlyReader struct {
	r     io.ReaderAt
	limit int64
}

func (h headerOnlyReader) ReadAt(p []byte, off int64) (int, error) {
	if off+int64(len(p)) > h.limit {
		// bufio reads ahead in blocks; allow reads that start in the header.
		if off >= h.limit {
			return 0, fmt.Errorf("read at %d past the header (%d)", off, h.limit)
		}
	}
	return h.r.ReadAt(p, off)
}

func TestHeaderFetchDoesNotReadBody(t *testing.T) {
	hdr := crlf("From: a@example.org\nSubject: big\n\n")
	raw := hdr + strings.Repeat("x", 10<<20)
	m := NewMessage(headerOnlyReader{strings.NewReader(raw), 4096}, int64(len(raw)))
	r, n, err := m.Section(&Section{Specifier: "HEADER"})
	if err != nil {
		t.Fatal(err)
	}
	b, err := io.ReadAll(r)
	if err != nil || int64(len(b)) != n || string(b) != hdr {
		t.Fatalf("HEADER: %q %d %v", b, n, err)
	}
	r, _, err = m.Section(&Section{Specifier: "HEADER.FIELDS", Fields: []string{"subject"}})
	if b, _ := io.ReadAll(r); err != nil || string(b) != "Subject: big\r\n\r\n" {
		t.Fatalf("HEADER.FIELDS: %q %v", b, err)
	}
	if _, err := m.Envelope(); err != nil {
		t.Fatal(err)
	}
	if _, err := m.Structure(); err == nil {
		t.Fatal("reading the structure should have read the body, and failed")
	}
}

// TestMessageGolden runs testdata/message/*.txtar: a "message" (LF
// becomes CRLF), a "fetch" list of items, one per line, and the
// "output": each item's response data. UPDATE_GOLDEN=1 rewrites it.
func TestMessageGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/message/*.txtar")
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			get := func(name string) (int, []byte) {
				for i, f := range ar.Files {
					if f.Name == name {
						return i, f.Data
					}
				}
				return -1, nil
			}
			_, msg := get("message")
			_, items := get("fetch")
			raw := crlf(string(msg))
			var out strings.Builder
			for _, line := range strings.Split(strings.TrimSpace(string(items)), "\n") {
				cmd, err := ParseCommand([]byte("x FETCH 1 "+line+"\r\n"), DefaultLimits())
				if err != nil {
					t.Fatalf("%s: %v", line, err)
				}
				for _, it := range cmd.Args.(*Fetch).Items {
					m := NewMessage(strings.NewReader(raw), int64(len(raw)))
					out.WriteString(fetchItemForTest(m, it) + "\n")
				}
			}
			got := strings.ReplaceAll(out.String(), "\r\n", "⏎\n")
			i, want := get("output")
			if os.Getenv("UPDATE_GOLDEN") != "" {
				if i < 0 {
					ar.Files = append(ar.Files, txtar.File{Name: "output"})
					i = len(ar.Files) - 1
				}
				ar.Files[i].Data = []byte(got)
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if got != string(want) {
				t.Errorf("output differs\n--- got\n%s\n--- want\n%s", got, want)
			}
		})
	}
}

// fetchItemForTest renders one item as a FETCH response would.
func fetchItemForTest(m *Message, it FetchItem) string {
	return render(func(w *Writer) {
		w.UTF8 = true
		w.Atom(strings.TrimSuffix(it.String(), "")).SP()
		switch {
		case it.Name == "ENVELOPE":
			e, err := m.Envelope()
			if err != nil {
				w.Atom("error: " + err.Error())
				return
			}
			w.Envelope(e)
		case it.Name == "BODYSTRUCTURE" || it.Name == "BODY" && it.Section == nil:
			p, err := m.Structure()
			if err != nil {
				w.Atom("error: " + err.Error())
				return
			}
			w.BodyStructure(p, it.Name == "BODYSTRUCTURE")
		case it.Name == "BINARY.SIZE":
			n, err := m.BinarySize(it.Section.Part)
			if err != nil {
				w.Atom("error: " + err.Error())
				return
			}
			w.Number(uint64(n))
		case it.Section != nil:
			var r io.Reader
			var n int64
			var err error
			if it.Name == "BINARY" {
				r, n, err = m.Binary(it.Section.Part)
			} else {
				r, n, err = m.Section(it.Section)
			}
			if err == nil {
				r, n, err = it.Partial.Apply(r, n)
			}
			if err != nil {
				w.Atom("error: " + err.Error())
				return
			}
			w.Literal(r, n, it.Name == "BINARY")
		}
	})
}

// A message of very many parts is cut at maxParts, and one nested
// deeper than maxPartDepth is shown as an opaque part, both cheaply.
func TestPartLimits(t *testing.T) {
	var b strings.Builder
	b.WriteString("Content-Type: multipart/mixed; boundary=x\r\n\r\n")
	for i := 0; i < 3*maxParts; i++ {
		b.WriteString("--x\r\n\r\np\r\n")
	}
	b.WriteString("--x--\r\n")
	raw := b.String()
	m := NewMessage(strings.NewReader(raw), int64(len(raw)))
	root, err := m.Structure()
	if err != nil {
		t.Fatal(err)
	}
	if n := len(root.Children); n != maxParts-1 {
		t.Errorf("%d parts kept, want %d", n, maxParts-1)
	}
	b.Reset()
	for i := 0; i < 2*maxPartDepth; i++ {
		b.WriteString("Content-Type: message/rfc822\r\n\r\n")
	}
	b.WriteString("Subject: bottom\r\n\r\nbody\r\n")
	raw = b.String()
	m = NewMessage(strings.NewReader(raw), int64(len(raw)))
	p, err := m.Structure()
	if err != nil {
		t.Fatal(err)
	}
	depth := 0
	for ; p.Embedded != nil; p = p.Embedded {
		depth++
	}
	if depth != maxPartDepth || p.Type != "application" {
		t.Errorf("depth %d, innermost %s/%s", depth, p.Type, p.Subtype)
	}
	render(func(w *Writer) { w.BodyStructure(root, true) })
}

// countingReader counts what was read of it.
type countingReader struct {
	r io.Reader
	n int
}

func (c *countingReader) Read(p []byte) (int, error) {
	n, err := c.r.Read(p)
	c.n += n
	return n, err
}

// TestMessageStream: a Message of a stream gives what one of a ReaderAt
// gives, and a header FETCH reads little of a big message.
func TestMessageStream(t *testing.T) {
	files, _ := filepath.Glob("testdata/message/*.txtar")
	for _, file := range files {
		ar, err := txtar.ParseFile(file)
		if err != nil {
			t.Fatal(err)
		}
		raw := crlf(string(ar.Files[0].Data))
		cmd, _ := ParseCommand([]byte("x FETCH 1 (ENVELOPE BODYSTRUCTURE BODY[HEADER] BODY[1] BODY[2.1] BINARY[1] BODY[TEXT]<3.50>)\r\n"), DefaultLimits())
		for _, it := range cmd.Args.(*Fetch).Items {
			a := fetchItemForTest(NewMessage(strings.NewReader(raw), int64(len(raw))), it)
			b := fetchItemForTest(NewMessageStream(iotest.OneByteReader(strings.NewReader(raw)), int64(len(raw))), it)
			if a != b {
				t.Errorf("%s %s: ReaderAt gives %q, the stream %q", file, it, a, b)
			}
		}
	}
	hdr := crlf("From: a@example.org\nSubject: big\n\n")
	raw := hdr + strings.Repeat("x", 10<<20)
	cr := &countingReader{r: strings.NewReader(raw)}
	m := NewMessageStream(cr, int64(len(raw)))
	if _, err := m.Envelope(); err != nil {
		t.Fatal(err)
	}
	if cr.n > 64<<10 {
		t.Errorf("ENVELOPE read %d octets of the stream", cr.n)
	}
	// A header-only stream (OpenHeader) serves the header items.
	m = NewMessageStream(strings.NewReader(hdr), int64(len(raw)))
	r, n, err := m.Section(&Section{Specifier: "HEADER.FIELDS", Fields: []string{"From"}})
	if b, _ := io.ReadAll(r); err != nil || string(b) != "From: a@example.org\r\n\r\n" || n != int64(len(b)) {
		t.Errorf("header-only stream: %q %v", b, err)
	}
}

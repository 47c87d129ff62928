package downgrade

import (
	"bufio"
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"mime/quotedprintable"
	"net/mail"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"testing/iotest"

	"golang.org/x/tools/txtar"
)

var update = os.Getenv("UPDATE_GOLDEN") == "1"

// convert runs Scan and, when the message has 8-bit octets and can be
// converted, Write, reading through a reader that returns a byte at a
// time half of the time, so that pieces and lines do not coincide.
func convert(t testing.TB, msg []byte) (*Plan, []byte) {
	t.Helper()
	p, err := Scan(iotest.HalfReader(bytes.NewReader(msg)))
	if err != nil {
		t.Fatalf("Scan: %v", err)
	}
	if !p.EightBit || p.Reason != "" {
		return p, nil
	}
	var out bytes.Buffer
	if err := Write(&out, iotest.HalfReader(bytes.NewReader(msg)), p); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return p, out.Bytes()
}

func crlf(b []byte) []byte { return bytes.ReplaceAll(b, []byte("\n"), []byte("\r\n")) }
func lf(b []byte) []byte   { return bytes.ReplaceAll(b, []byte("\r\n"), []byte("\n")) }

// TestGolden runs the messages in testdata/*.txtar (kept with LF line
// ends, sent with CRLF) and compares with their "out" section: the
// converted message, "unchanged", or "reason: " and why it cannot be.
// UPDATE_GOLDEN=1 rewrites the sections.
func TestGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/*.txtar")
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, file := range files {
		t.Run(filepath.Base(file), func(t *testing.T) {
			a, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			in := crlf(a.Files[0].Data)
			p, out := convert(t, in)
			var got []byte
			switch {
			case !p.EightBit:
				got = []byte("unchanged\n")
			case p.Reason != "":
				got = []byte("reason: " + p.Reason + "\n")
			default:
				got = lf(out)
				checkSevenBit(t, out)
				checkDecodesTo(t, in, out)
			}
			if update {
				a.Files[1].Data = got
				if err := os.WriteFile(file, txtar.Format(a), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if !bytes.Equal(got, a.Files[1].Data) {
				t.Errorf("got\n%s\nwant\n%s", got, a.Files[1].Data)
			}
		})
	}
}

// checkSevenBit: no octet over 127, no line over 76 characters in what
// was encoded (no line over 998 at all), CRLF line ends only.
func checkSevenBit(t *testing.T, out []byte) {
	t.Helper()
	for i, c := range out {
		if c >= 0x80 {
			t.Fatalf("octet %#x at %d in the output", c, i)
		}
		if c == '\n' && (i == 0 || out[i-1] != '\r') {
			t.Fatalf("bare LF at %d in the output", i)
		}
	}
	for _, l := range bytes.Split(out, []byte("\r\n")) {
		if len(l) > 998 {
			t.Fatalf("a line of %d octets", len(l))
		}
	}
}

// checkDecodesTo parses the input and the output with Go's own MIME
// readers (net/mail, mime/multipart, mime/quotedprintable: written apart
// from this package) and compares the decoded content of every leaf,
// and the structure.
func checkDecodesTo(t *testing.T, in, out []byte) {
	t.Helper()
	a, b := leaves(t, in), leaves(t, out)
	if len(a) != len(b) {
		t.Fatalf("%d leaves in the input, %d in the output", len(a), len(b))
	}
	for i := range a {
		if a[i] != b[i] {
			t.Errorf("leaf %d decodes to\n%q\nwas\n%q", i, b[i], a[i])
		}
	}
}

// leaves returns the decoded content of each leaf of a message, in
// order, message/rfc822 parts walked into, each prefixed with its type.
func leaves(t *testing.T, msg []byte) []string {
	t.Helper()
	m, err := mail.ReadMessage(bytes.NewReader(msg))
	if err != nil {
		t.Fatalf("net/mail: %v", err)
	}
	return entityLeaves(t, textprotoHeader(m.Header), m.Body, "text/plain")
}

type hdr interface{ Get(string) string }

func textprotoHeader(h mail.Header) hdr { return h }

func entityLeaves(t *testing.T, h hdr, body io.Reader, def string) []string {
	t.Helper()
	ct := h.Get("Content-Type")
	typ, params := def, map[string]string{}
	if ct != "" {
		var err error
		if typ, params, err = mime.ParseMediaType(ct); err != nil {
			t.Fatalf("Content-Type %q: %v", ct, err)
		}
	}
	cte := strings.ToLower(strings.TrimSpace(h.Get("Content-Transfer-Encoding")))
	switch {
	case strings.HasPrefix(typ, "multipart/"):
		child := "text/plain"
		if typ == "multipart/digest" {
			child = "message/rfc822"
		}
		var out []string
		r := multipart.NewReader(body, params["boundary"])
		for {
			p, err := r.NextRawPart()
			if err == io.EOF {
				return out
			}
			if err != nil {
				t.Fatalf("multipart: %v", err)
			}
			out = append(out, entityLeaves(t, p.Header, p, child)...)
		}
	case typ == "message/rfc822":
		m, err := mail.ReadMessage(bufio.NewReader(body))
		if err != nil {
			t.Fatalf("message/rfc822: %v", err)
		}
		return entityLeaves(t, textprotoHeader(m.Header), m.Body, "text/plain")
	}
	if cte == "quoted-printable" {
		body = quotedprintable.NewReader(body)
	}
	b, err := io.ReadAll(body)
	if err != nil {
		t.Fatalf("%s content: %v", typ, err)
	}
	return []string{typ + ": " + string(b)}
}

// TestScanTable: what makes a message 8-bit, and what makes it not
// convertible, in cases the golden files do not show.
func TestScanTable(t *testing.T) {
	for _, tc := range []struct {
		name, msg string
		eight     bool
		reason    string
	}{
		{"empty", "", false, ""},
		{"no body", "Subject: x\r\n", false, ""},
		{"8-bit header without body", "Subject: \xc3\xa4\r\n", true, "8-bit octets in a message header"},
		{"8-bit part header", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nContent-Description: \xe4\r\n\r\nx\r\n--b--\r\n", true, "8-bit octets in a message header"},
		{"epilogue", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\nx\r\n--b--\r\n\xe4\r\n", true, "8-bit octets in a multipart epilogue"},
		{"no boundary", "Content-Type: multipart/mixed\r\n\r\n\xe4\r\n", true, "8-bit octets in a multipart without a usable boundary"},
		{"bad parameters", "Content-Type: multipart/mixed; boundary=\"b\r\n\r\n\xe4\r\n", true, "8-bit octets in a multipart without a usable boundary"},
		{"encoded multipart", "Content-Type: multipart/mixed; boundary=b\r\nContent-Transfer-Encoding: base64\r\n\r\n\xe4\r\n", true, "8-bit octets in a multipart encoded as base64"},
		{"partial", "Content-Type: message/partial; id=x; number=1\r\n\r\n\xe4\r\n", true, "8-bit octets in a message/partial part"},
		{"global", "Content-Type: message/global\r\n\r\nSubject: \xc3\xa4\r\n", true, ""},
		{"unreadable type", "Content-Type: ;;;\r\n\r\n\xe4\r\n", true, ""},
		{"8-bit in a 7-bit part of an ASCII multipart", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n\xe4\r\n--b--\r\n", true, ""},
		{"boundary ends the header", "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\nX: y\r\n--b\r\n\r\n\xe4\r\n--b--\r\n", true, ""},
		{"outer boundary ends the inner multipart", "Content-Type: multipart/mixed; boundary=o\r\n\r\n--o\r\nContent-Type: multipart/mixed; boundary=i\r\n\r\n--i\r\n\r\n\xe4\r\n--o--\r\n", true, ""},
	} {
		p, err := Scan(strings.NewReader(tc.msg))
		if err != nil {
			t.Fatalf("%s: %v", tc.name, err)
		}
		if p.EightBit != tc.eight || p.Reason != tc.reason {
			t.Errorf("%s: EightBit %v, reason %q; want %v, %q", tc.name, p.EightBit, p.Reason, tc.eight, tc.reason)
		}
	}
}

func nest(depth int) string {
	var b strings.Builder
	for i := range depth {
		b.WriteString("Content-Type: multipart/mixed; boundary=b" + string(rune('A'+i%26)) + strings.Repeat("x", i/26) + "\r\n\r\n--b" + string(rune('A'+i%26)) + strings.Repeat("x", i/26) + "\r\n")
	}
	b.WriteString("\r\n\xe4\r\n")
	return b.String()
}

// TestNestingLimit: parts nested to MaxDepth are walked into; one level
// more is opaque, and its 8-bit content cannot be converted.
func TestNestingLimit(t *testing.T) {
	p, _ := convert(t, []byte(nest(MaxDepth)))
	if !p.EightBit || p.Reason != "" {
		t.Errorf("%d levels: %+v", MaxDepth, p)
	}
	p, _ = convert(t, []byte(nest(MaxDepth+1)))
	if p.Reason != "8-bit octets in MIME parts nested deeper than 100 levels" {
		t.Errorf("%d levels: %+v", MaxDepth+1, p)
	}
}

// TestQuotedPrintable: the encoder's rules, line by line.
func TestQuotedPrintable(t *testing.T) {
	for _, tc := range []struct{ in, out string }{
		{"abc\r\n", "abc\r\n"},
		{"a=b\r\n", "a=3Db\r\n"},
		{"trailing \r\n", "trailing=20\r\n"},
		{"tab\t\r\n", "tab=09\r\n"},
		{"in between\r\n", "in between\r\n"},
		{"\xe4\r\n", "=E4\r\n"},
		{"-- dash\r\n", "=2D- dash\r\n"},
		{"bare\rcr\r\n", "bare=0Dcr\r\n"},
		{"bare lf \nnext\r\n", "bare lf =0Anext\r\n"},
		{"no line end ", "no line end=20"},
		{strings.Repeat("x", 80) + "\r\n", strings.Repeat("x", 75) + "=\r\nxxxxx\r\n"},
		{strings.Repeat("x", 74) + "\xe4\r\n", strings.Repeat("x", 74) + "=\r\n=E4\r\n"},
		{strings.Repeat("x", 75) + "-\r\n", strings.Repeat("x", 75) + "=\r\n=2D\r\n"},
	} {
		var q qpEncoder
		if got := string(q.encode(nil, []byte(tc.in), strings.HasSuffix(tc.in, "\n"))); got != tc.out {
			t.Errorf("encode(%q) = %q, want %q", tc.in, got, tc.out)
		}
		if dec, err := io.ReadAll(quotedprintable.NewReader(strings.NewReader(tc.out))); err != nil ||
			string(dec) != strings.ReplaceAll(tc.in, "\r\n", "\n") && string(dec) != tc.in {
			t.Errorf("%q decodes to %q, %v", tc.out, dec, err)
		}
	}
}

// TestWritePlanMismatch: Write refuses a message the plan was not made
// for.
func TestWritePlanMismatch(t *testing.T) {
	a := "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n\xe4\r\n--b\r\n\r\n\xe4\r\n--b--\r\n"
	p, err := Scan(strings.NewReader(a))
	if err != nil || !p.EightBit || p.Reason != "" {
		t.Fatal(p, err)
	}
	b := "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n\xe4\r\n--b\r\n\r\n\xe4\r\n--b\r\n\r\nx\r\n--b--\r\n"
	if err := Write(io.Discard, strings.NewReader(b), p); err != ErrPlan {
		t.Errorf("Write of another message: %v", err)
	}
}

// TestLongLines: lines longer than the reader's buffer come in pieces;
// an 8-bit one is encoded whole, a 7-bit one in a converted message is
// copied whole.
func TestLongLines(t *testing.T) {
	long8 := strings.Repeat("ä", readSize)
	long7 := strings.Repeat("a", 3*readSize)
	msg := "Content-Type: multipart/mixed; boundary=b\r\n\r\n--b\r\n\r\n" + long8 + "\r\n--b\r\nContent-Type: text/plain\r\n\r\n" + long7 + "\r\n--b--\r\n"
	_, out := convert(t, []byte(msg))
	checkSevenBit(t, bytes.ReplaceAll(out, []byte(long7), nil))
	checkDecodesTo(t, []byte(msg), out)
}

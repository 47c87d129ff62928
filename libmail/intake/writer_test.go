package intake

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"testing"

	"postern.dev/postern/libmail/queue"
)

var chunks = []int{1, 2, 3, 5, 7, 41, 42, 43, 1 << 20}

// TestLineEnds: SMTP sources must end every line in CRLF, local ones may
// use LF, which is stored as CRLF; a bare CR refuses both, and so does a
// NUL. However the bytes are cut into pieces, the outcome is the same.
func TestLineEnds(t *testing.T) {
	for _, c := range []struct {
		name  string
		lines LineEnds
		in    string
		want  string // stored after Received:, when err is nil
		err   error
	}{
		{"crlf", StrictCRLF, "Subject: x\r\n\r\nbody\r\n", "Subject: x\r\n\r\nbody\r\n", nil},
		{"bare lf", StrictCRLF, "Subject: x\r\n\r\nbody\nmore\r\n", "", ErrBareLF},
		{"bare lf in header", StrictCRLF, "Subject: x\n\r\nbody\r\n", "", ErrBareLF},
		{"lf first", StrictCRLF, "\nbody\r\n", "", ErrBareLF},
		{"bare cr", StrictCRLF, "Subject: x\r\n\r\nbo\rdy\r\n", "", ErrBareCR},
		{"cr at the end", StrictCRLF, "Subject: x\r\n\r\nbody\r", "", ErrBareCR},
		{"smuggling", StrictCRLF, "Subject: x\r\n\r\nbody\n.\r\nMAIL FROM:<a@b>\r\n", "", ErrBareLF},
		{"nul", StrictCRLF, "Subject: x\r\n\r\nbo\x00dy\r\n", "", ErrNUL},
		{"no line end at the end", StrictCRLF, "Subject: x\r\n\r\nbody", "Subject: x\r\n\r\nbody", nil},
		{"lf", LF, "Subject: x\n\nbody\nline 2\n", "Subject: x\r\n\r\nbody\r\nline 2\r\n", nil},
		{"lf and crlf", LF, "Subject: x\r\n\nbody\nline 2\r\n", "Subject: x\r\n\r\nbody\r\nline 2\r\n", nil},
		{"lf, no header", LF, "\nbody\n", "\r\nbody\r\n", nil},
		{"lf, empty lines", LF, "A: 1\n\n\n\nb\n", "A: 1\r\n\r\n\r\n\r\nb\r\n", nil},
		{"lf, bare cr", LF, "Subject: x\n\nbo\rdy\n", "", ErrBareCR},
		{"lf, cr at the end", LF, "Subject: x\n\nbody\r", "", ErrBareCR},
		{"lf, nul", LF, "Subject: x\n\nbo\x00dy\n", "", ErrNUL},
	} {
		for _, chunk := range chunks {
			got, _, _, err := run(t, testConfig(102400), &Source{LineEnds: c.lines}, []byte(c.in), chunk)
			if !errors.Is(err, c.err) || (c.err != nil) != (err != nil) {
				t.Errorf("%s, pieces of %d: error %v, want %v", c.name, chunk, err, c.err)
				continue
			}
			if c.err == nil && got != c.want {
				t.Errorf("%s, pieces of %d: stored %q, want %q", c.name, chunk, got, c.want)
			}
		}
	}
}

// TestSizeLimit: message_size_limit counts the bytes the source sends;
// one more refuses the message, and the rest is only counted.
func TestSizeLimit(t *testing.T) {
	msg := "Subject: x\r\n\r\n" + strings.Repeat("y", 100) + "\r\n"
	for _, c := range []struct {
		limit int64
		err   error
	}{{int64(len(msg)), nil}, {int64(len(msg)) - 1, ErrTooBig}} {
		cfg := testConfig(102400)
		cfg.SizeLimit = c.limit
		for _, chunk := range chunks {
			_, w, _, err := run(t, cfg, &Source{}, []byte(msg), chunk)
			if !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
				t.Errorf("limit %d, pieces of %d: %v, want %v", c.limit, chunk, err, c.err)
			}
			if w.size != int64(len(msg)) {
				t.Errorf("counted %d bytes of %d", w.size, len(msg))
			}
		}
	}
}

// TestHeaderCut: the header section ends at its empty line when that
// comes within header_size_limit, and otherwise at the last line end
// within the limit (or at the limit, for one longer line) with an empty
// line inserted; however the source's bytes are split into pieces (DATA
// lines, BDAT chunks of any size) the result is the same. (Moved from
// smtpd's copier with the code.)
func TestHeaderCut(t *testing.T) {
	const limit = 40
	a36 := strings.Repeat("a", 36)
	six := strings.Repeat("A: 1\r\n", 10)
	for _, c := range []struct {
		name, in, want string
		cut            bool
	}{
		{"short", "A: 1\r\nB: 2\r\n\r\nbody\r\n", "A: 1\r\nB: 2\r\n\r\nbody\r\n", false},
		{"no header", "\r\nbody\r\n", "\r\nbody\r\n", false},
		{"empty", "", "", false},
		{"header only", "A: 1\r\nB: 2\r\n", "A: 1\r\nB: 2\r\n", false},
		{"exactly the limit", "X: " + a36[:35] + "\r\n\r\nbody\r\n", "X: " + a36[:35] + "\r\n\r\nbody\r\n", false},
		{"many lines", six + "\r\nbody\r\n", six[:36] + "\r\n" + six[36:] + "\r\nbody\r\n", true},
		{"many lines, no body", six, six[:36] + "\r\n" + six[36:], true},
		{"one line too long by its CRLF", "X: " + a36 + "\r\n\r\nb\r\n", "X: " + a36[1:] + "\r\n\r\n" + "a\r\n\r\nb\r\n", true},
		{"header only, one byte over", "X: " + a36 + "\r\n", "X: " + a36[1:] + "\r\n\r\n" + "a\r\n", true},
		{"one long line", "X: " + a36 + a36 + "\r\n\r\nb\r\n", "X: " + a36[1:] + "\r\n\r\n" + "a" + a36 + "\r\n\r\nb\r\n", true},
		{"empty line just within the limit", "X: " + a36[2:] + "\r\n" + "\r\nb\r\n", "X: " + a36[2:] + "\r\n\r\nb\r\n", false},
		{"line end at the limit", "X: " + a36[1:] + "\r\nY: 2\r\n", "X: " + a36[1:] + "\r\n\r\nY: 2\r\n", true},
		{"folded field", "X: 1\r\n" + strings.Repeat(" folded\r\n", 6) + "\r\nb\r\n",
			"X: 1\r\n" + strings.Repeat(" folded\r\n", 3) + "\r\n" + strings.Repeat(" folded\r\n", 3) + "\r\nb\r\n", true},
		{"white space first", " x\r\n" + six + "\r\nb\r\n", "\r\n x\r\n" + six + "\r\nb\r\n", false},
		{"not a field", "no field here " + a36 + "\r\n\r\nb\r\n", "no field here " + a36[:24] + "\r\n\r\n" + a36[24:] + "\r\n\r\nb\r\n", true},
	} {
		for _, chunk := range chunks {
			got, w, _, err := run(t, testConfig(limit), &Source{}, []byte(c.in), chunk)
			if err != nil {
				t.Fatalf("%s, pieces of %d: %v", c.name, chunk, err)
			}
			if got != c.want || w.HeaderCut() != c.cut {
				t.Errorf("%s, pieces of %d:\n got %q (cut %v)\nwant %q (cut %v)", c.name, chunk, got, w.HeaderCut(), c.want, c.cut)
			}
		}
	}
}

// TestHops: Received: fields in the header, the one intake adds
// included, count against hopcount_limit (50); more refuse the message
// as a loop. Fields past the header's end (after the empty line, after
// the cut, or after a line that is no field) are body and do not count.
func TestHops(t *testing.T) {
	rcvd := func(n int) string { return strings.Repeat("Received: from x by y; date\r\n", n) }
	for _, c := range []struct {
		name string
		in   string
		err  error
	}{
		{"49 and ours", rcvd(49) + "\r\nbody\r\n", nil},
		{"50 and ours", rcvd(50) + "\r\nbody\r\n", ErrHops},
		{"lower case", strings.ToLower(rcvd(50)) + "\r\nbody\r\n", ErrHops},
		{"in the body", rcvd(1) + "\r\n" + rcvd(60), nil},
		{"after a line that is no field", rcvd(1) + "no field\r\n" + rcvd(60) + "\r\n", nil},
		{"header only", rcvd(50), ErrHops},
		// A first line that begins with white space is body: an empty
		// line is put before it, so no reader takes the fields after it
		// for header.
		{"after a first line with white space", " x\r\n" + rcvd(60) + "\r\nb\r\n", nil},
	} {
		for _, chunk := range []int{1, 13, 1 << 20} {
			got, _, rec, err := run(t, testConfig(102400), &Source{}, []byte(c.in), chunk)
			if !errors.Is(err, c.err) || (c.err == nil) != (err == nil) {
				t.Errorf("%s, pieces of %d: %v, want %v", c.name, chunk, err, c.err)
			}
			// What is accepted has no more hops for any later reader of
			// its header than the count allowed.
			if n := fieldCount(rec+got, "Received"); err == nil && n > DefaultHopLimit {
				t.Errorf("%s, pieces of %d: accepted, and the stored header holds %d Received: fields", c.name, chunk, n)
			}
		}
	}
	// Past the cut the header is body.
	cfg := testConfig(1000)
	_, _, _, err := run(t, cfg, &Source{}, []byte(rcvd(60)+"\r\nbody\r\n"), 100)
	if err != nil {
		t.Errorf("Received: fields past header_size_limit counted: %v", err)
	}
}

// TestAddMissing: a submission (AddMissing) that lacks Date: or
// Message-ID: gets them at the end of its header, where every reader's
// header scan finds them; a message that has them, under any case, even
// empty, never gets a second; a relayed message gets nothing.
func TestAddMissing(t *testing.T) {
	const date = "Date: Mon, 23 Nov 2026 14:32:01 +0000\r\n"
	const mid = "Message-ID: <1J2ABCDEFGHIJKLM@mail.example.test>\r\n"
	for _, c := range []struct {
		name   string
		add    bool
		in     string
		want   string
		msgID  string
		header int // header_size_limit, 0 for the default
	}{
		{"both missing", true, "Subject: x\r\n\r\nbody\r\n", "Subject: x\r\n" + date + mid + "\r\nbody\r\n", "<1J2ABCDEFGHIJKLM@mail.example.test>", 0},
		{"relay", false, "Subject: x\r\n\r\nbody\r\n", "Subject: x\r\n\r\nbody\r\n", "", 0},
		{"date there", true, "Date: Sun, 1 Nov 2026 00:00:00 +0000\r\nSubject: x\r\n\r\nb\r\n",
			"Date: Sun, 1 Nov 2026 00:00:00 +0000\r\nSubject: x\r\n" + mid + "\r\nb\r\n", "<1J2ABCDEFGHIJKLM@mail.example.test>", 0},
		{"both there, other case", true, "message-id: <a@b>\r\nDATE: x\r\n\r\nb\r\n", "message-id: <a@b>\r\nDATE: x\r\n\r\nb\r\n", "<a@b>", 0},
		{"empty fields count", true, "Message-ID:\r\nDate:\r\n\r\nb\r\n", "Message-ID:\r\nDate:\r\n\r\nb\r\n", "", 0},
		{"folded message-id", true, "Date: x\r\nMessage-ID:\r\n <f@b>\r\n\r\nb\r\n", "Date: x\r\nMessage-ID:\r\n <f@b>\r\n\r\nb\r\n", "<f@b>", 0},
		{"no header", true, "\r\nbody\r\n", date + mid + "\r\nbody\r\n", "<1J2ABCDEFGHIJKLM@mail.example.test>", 0},
		{"empty message", true, "", date + mid, "<1J2ABCDEFGHIJKLM@mail.example.test>", 0},
		{"header only", true, "Subject: x\r\n", "Subject: x\r\n" + date + mid, "<1J2ABCDEFGHIJKLM@mail.example.test>", 0},
		{"no line end", true, "Subject: x", "Subject: x\r\n" + date + mid, "<1J2ABCDEFGHIJKLM@mail.example.test>", 0},
		{"after a line that is no field", true, "Subject: x\r\nno field\r\nDate: y\r\n\r\nb\r\n",
			"Subject: x\r\n" + date + mid + "no field\r\nDate: y\r\n\r\nb\r\n", "<1J2ABCDEFGHIJKLM@mail.example.test>", 0},
		{"cut", true, strings.Repeat("A: 1\r\n", 10) + "Date: y\r\n\r\nb\r\n",
			strings.Repeat("A: 1\r\n", 6) + date + mid + "\r\n" + strings.Repeat("A: 1\r\n", 4) + "Date: y\r\n\r\nb\r\n", "<1J2ABCDEFGHIJKLM@mail.example.test>", 40},
		{"first line with white space", true, " x\r\nDate: y\r\nMessage-ID: <z>\r\n\r\nb\r\n",
			date + mid + "\r\n x\r\nDate: y\r\nMessage-ID: <z>\r\n\r\nb\r\n", "<1J2ABCDEFGHIJKLM@mail.example.test>", 0},
		{"cut in a line", true, "X: " + strings.Repeat("a", 60) + "\r\n\r\nb\r\n",
			"X: " + strings.Repeat("a", 35) + "\r\n" + date + mid + "\r\n" + strings.Repeat("a", 25) + "\r\n\r\nb\r\n", "<1J2ABCDEFGHIJKLM@mail.example.test>", 40},
	} {
		for _, chunk := range chunks {
			limit := c.header
			if limit == 0 {
				limit = 102400
			}
			got, w, _, err := run(t, testConfig(limit), &Source{AddMissing: c.add}, []byte(c.in), chunk)
			if err != nil {
				t.Fatalf("%s: %v", c.name, err)
			}
			if got != c.want || w.MessageID() != c.msgID {
				t.Errorf("%s, pieces of %d:\n got %q, message-id %q\nwant %q, %q", c.name, chunk, got, w.MessageID(), c.want, c.msgID)
			}
			if c.add && (fieldCount(got, "Date") != 1 || fieldCount(got, "Message-ID") != 1) {
				t.Errorf("%s: %d Date: and %d Message-ID: in the header of %q", c.name, fieldCount(got, "Date"), fieldCount(got, "Message-ID"), got)
			}
		}
	}
	// A local submission with LF line ends, as pickup writes it.
	got, _, _, err := run(t, testConfig(102400), &Source{LineEnds: LF, AddMissing: true}, []byte("Subject: x\n\nbody\n"), 3)
	if err != nil || got != "Subject: x\r\n"+date+mid+"\r\nbody\r\n" {
		t.Errorf("LF submission stored %q, %v", got, err)
	}
	// Local mail without From: gets the one pickup gives; one with a
	// From: keeps it alone.
	src := &Source{LineEnds: LF, AddMissing: true, From: "Alice <alice@example.test>"}
	got, _, _, err = run(t, testConfig(102400), src, []byte("Subject: x\n\nbody\n"), 5)
	if err != nil || got != "Subject: x\r\nFrom: Alice <alice@example.test>\r\n"+date+mid+"\r\nbody\r\n" {
		t.Errorf("local mail without From: stored %q, %v", got, err)
	}
	got, _, _, err = run(t, testConfig(102400), src, []byte("from: bob@example.test\n\nbody\n"), 5)
	if err != nil || fieldCount(got, "From") != 1 || !strings.Contains(got, "from: bob@example.test") {
		t.Errorf("local mail with From: stored %q, %v", got, err)
	}
}

// TestTaps: a tap sees every header field, its raw bytes, once and in
// order (the Received: and the added fields included), then the body;
// together with the empty line they make up the stored message, byte for
// byte, however the source's bytes are cut. A refused message never
// reaches End.
func TestTaps(t *testing.T) {
	a60 := strings.Repeat("a", 60)
	for _, c := range []struct {
		name  string
		in    string
		src   Source
		limit int
		sep   bool // an empty line lies between the fields and the body
	}{
		{"plain", "Subject: x\r\nTo: y,\r\n\tz\r\n\r\nbody\r\nmore\r\n", Source{}, 102400, true},
		{"no header", "\r\nbody\r\n", Source{}, 102400, true},
		{"header only", "Subject: x\r\n", Source{}, 102400, false},
		{"no line end", "Subject: x", Source{}, 102400, false},
		{"no line end, added", "Subject: x", Source{AddMissing: true}, 102400, false},
		{"added", "Subject: x\r\n\r\nbody\r\n", Source{AddMissing: true}, 102400, true},
		{"not a field", "Subject: x\r\nno field\r\nA: 1\r\n\r\nb\r\n", Source{AddMissing: true}, 102400, false},
		{"cut", strings.Repeat("A: 1\r\n", 10) + "\r\nb\r\n", Source{}, 40, true},
		{"cut in a line", "X: " + a60 + "\r\n\r\nb\r\n", Source{}, 40, true},
		{"cut in a line, added", "X: " + a60 + "\r\n\r\nb\r\n", Source{AddMissing: true}, 40, true},
		{"lf", "Subject: x\n\nbody\n", Source{LineEnds: LF}, 102400, true},
		{"first line with white space", " x\r\nA: 1\r\n\r\nb\r\n", Source{AddMissing: true}, 102400, true},
	} {
		var first *recorder
		for _, chunk := range chunks {
			r := &recorder{}
			src := c.src
			src.Taps = []Tap{r}
			m := &memEntry{}
			w := newWriter(m, testID, testEnvelope(), testConfig(c.limit), &src)
			for p := []byte(c.in); len(p) > 0; {
				n := min(chunk, len(p))
				w.Write(p[:n])
				p = p[n:]
			}
			if err := w.End(); err != nil {
				t.Fatal(err)
			}
			sep := ""
			if c.sep {
				sep = "\r\n"
			}
			seen := strings.Join(r.fields, "") + sep + r.body.String()
			if seen != m.msg.String() {
				t.Errorf("%s, pieces of %d: the tap saw\n%q\nstored\n%q", c.name, chunk, seen, m.msg.String())
			}
			if r.headerEnd != 1 || r.ends != 1 || r.bodyEarly {
				t.Errorf("%s, pieces of %d: HeaderEnd %d, End %d, out of order %v", c.name, chunk, r.headerEnd, r.ends, r.bodyEarly)
			}
			if !strings.HasPrefix(r.fields[0], "Received: ") {
				t.Errorf("%s: first field %q", c.name, r.fields[0])
			}
			for _, f := range r.fields {
				if n := fieldCount(f, strings.TrimSpace(strings.SplitN(f, ":", 2)[0])); n != 1 {
					t.Errorf("%s: %q is not one field", c.name, f)
				}
			}
			if first == nil {
				first = r
			} else if strings.Join(first.fields, "|") != strings.Join(r.fields, "|") || first.body.String() != r.body.String() {
				t.Errorf("%s: pieces of %d give the tap other bytes than pieces of %d", c.name, chunk, chunks[0])
			}
		}
	}
	r := &recorder{}
	m := &memEntry{}
	w := newWriter(m, testID, testEnvelope(), testConfig(102400), &Source{Taps: []Tap{r}})
	w.Write([]byte("Subject: x\r\n\r\nbare\nlf\r\n"))
	if err := w.End(); err == nil || r.ends != 0 {
		t.Errorf("refused message: End %v, tap ended %d times", err, r.ends)
	}
}

// TestPrepend: fields decided at the end go to the entry whole, CRLF
// added if missing, and only after End; what is not header fields in
// CRLF form is refused.
func TestPrepend(t *testing.T) {
	m := &memEntry{}
	w := newWriter(m, testID, testEnvelope(), testConfig(102400), &Source{})
	w.Write([]byte("Subject: x\r\n\r\nb\r\n"))
	if err := w.Prepend("X-Early: 1"); err == nil {
		t.Error("Prepend before End was taken")
	}
	if err := w.End(); err != nil {
		t.Fatal(err)
	}
	for _, bad := range []string{"no colon", "A: 1\nB: 2", "A: 1\rB", "A: 1\r\n\r\nbody", "A: \x00", "", " folded: x", "A: 1\r\n\r\n"} {
		if err := w.Prepend(bad); err == nil {
			t.Errorf("Prepend(%q) was taken", bad)
		}
	}
	if err := w.Prepend("Authentication-Results: mail.example.test;\r\n\tspf=pass"); err != nil {
		t.Fatal(err)
	}
	if err := w.Prepend("DKIM-Signature: v=1\r\n"); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil || !m.committed {
		t.Fatalf("commit: %v", err)
	}
	if want := "DKIM-Signature: v=1\r\nAuthentication-Results: mail.example.test;\r\n\tspf=pass\r\n"; string(m.prepend) != want {
		t.Errorf("prepended %q, want %q", m.prepend, want)
	}
}

// TestCommitRefused: Commit after a refused message commits nothing.
func TestCommitRefused(t *testing.T) {
	m := &memEntry{}
	w := newWriter(m, testID, testEnvelope(), testConfig(102400), &Source{})
	w.Write([]byte("a\nb"))
	if err := w.Commit(); !errors.Is(err, ErrBareLF) || m.committed || !m.aborted {
		t.Errorf("commit: %v, committed %v, aborted %v", err, m.committed, m.aborted)
	}
}

// TestWriteAllocs: once the header is stored, taking a body line costs no
// allocation, with or without a tap (the DATA hot path).
func TestWriteAllocs(t *testing.T) {
	line := []byte("a body line of some ordinary length, as they come in DATA\r\n")
	for _, taps := range [][]Tap{nil, {nopTap{}}} {
		w := newWriter(discard{}, testID, testEnvelope(), testConfig(102400), &Source{Taps: taps})
		w.cfg = &Config{Hostname: "h", MailName: "m", SizeLimit: 1 << 62, HeaderLimit: 102400}
		w.Write([]byte("Subject: x\r\n\r\n"))
		if n := testing.AllocsPerRun(1000, func() { w.Write(line) }); n != 0 {
			t.Errorf("%d taps: %v allocations per line", len(taps), n)
		}
	}
}

type nopTap struct{}

func (nopTap) Header([]byte) {}
func (nopTap) HeaderEnd()    {}
func (nopTap) Body([]byte)   {}
func (nopTap) End()          {}

// BenchmarkWrite takes a 5 KB message in, line by line as smtpd's DATA
// loop does.
func BenchmarkWrite(b *testing.B) {
	var msg [][]byte
	msg = append(msg, []byte("From: a@example.org\r\n"), []byte("To: b@example.test\r\n"), []byte("Subject: bench\r\n"),
		[]byte("Message-ID: <x@example.org>\r\n"), []byte("\r\n"))
	for i := 0; len(msg) < 80; i++ {
		msg = append(msg, fmt.Appendf(nil, "line %d of the body, long enough to look like text in a mail.\r\n", i))
	}
	cfg := testConfig(102400)
	env := testEnvelope()
	b.ReportAllocs()
	for b.Loop() {
		w := newWriter(discard{}, testID, env, cfg, &Source{})
		for _, l := range msg {
			w.Write(l)
		}
		if err := w.End(); err != nil {
			b.Fatal(err)
		}
	}
}

// TestQuarantine: the quarantine decided at the end of the message goes
// into the entry as a record, and only after End.
func TestQuarantine(t *testing.T) {
	m := &memEntry{}
	w := newWriter(m, testID, testEnvelope(), testConfig(102400), &Source{})
	w.Write([]byte("Subject: x\r\n\r\nb\r\n"))
	if err := w.Quarantine("early"); err == nil {
		t.Error("Quarantine before End was taken")
	}
	if err := w.End(); err != nil {
		t.Fatal(err)
	}
	if err := w.Quarantine("dmarc=fail (p=quarantine)"); err != nil {
		t.Fatal(err)
	}
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	if len(m.records) != 1 || m.records[0] != (queue.QuarantineRecord{Reason: "dmarc=fail (p=quarantine)"}) {
		t.Errorf("records %+v", m.records)
	}
}

// TestDrop: header fields Source.Drop picks are not stored, whatever the
// pieces the message came in; taps still see every field as received;
// the rest of the header and the body are stored as they came.
func TestDrop(t *testing.T) {
	in := "Authentication-Results: mail.example.test; dkim=pass\r\n" +
		"Subject: hi\r\n" +
		"authentication-results: other.example;\r\n spf=pass\r\n" +
		"Authentication-Results: mail.example.test;\r\n\tdmarc=pass\r\n" +
		"\r\nbody\r\n"
	want := "Subject: hi\r\nauthentication-results: other.example;\r\n spf=pass\r\n\r\nbody\r\n"
	drop := func(name, field []byte) bool {
		return bytes.EqualFold(name, []byte("Authentication-Results")) && bytes.Contains(field, []byte("mail.example.test"))
	}
	for _, chunk := range []int{1, 7, 1 << 20} {
		r := &recorder{}
		stored, _, _, err := run(t, testConfig(102400), &Source{Drop: drop, Taps: []Tap{r}}, []byte(in), chunk)
		if err != nil {
			t.Fatal(err)
		}
		if stored != want {
			t.Errorf("chunk %d: stored %q, want %q", chunk, stored, want)
		}
		if n := len(r.fields); n != 5 { // Received: and the four as received
			t.Errorf("chunk %d: taps saw %d fields, want 5: %q", chunk, n, r.fields)
		}
	}
}

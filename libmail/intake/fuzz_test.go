package intake

import (
	"bytes"
	"crypto/ed25519"
	"errors"
	"strings"
	"testing"

	msgauth "github.com/emersion/go-msgauth/dkim"

	"postern.dev/postern/libmail/dkim"
	"postern.dev/postern/libmail/message"
)

// FuzzHeaderCut: however a message is cut into pieces, the Writer stores
// the same bytes; its header section (up to the first empty line, or all
// of it) is at most header_size_limit; and what it stores is the message
// with at most one empty line (or a line end and an empty line) inserted,
// so nothing is lost. (smtpd's FuzzCopierHeader, moved with the code; its
// corpus too.)
func FuzzHeaderCut(f *testing.F) {
	for _, s := range []string{
		"A: 1\r\nB: 2\r\n\r\nbody\r\n",
		strings.Repeat("A: 1\r\n", 20) + "\r\nbody\r\n",
		"X: " + strings.Repeat("a", 100) + "\r\n\r\nb\r\n",
		"X: " + strings.Repeat("a", 61) + "\r\n",
		"X: 1\r\n" + strings.Repeat(" folded\r\n", 10) + "\r\n",
		"\r\nno header\r\n",
	} {
		f.Add([]byte(s), uint16(1))
		f.Add([]byte(s), uint16(7))
	}
	const limit = 64
	f.Fuzz(func(t *testing.T, in []byte, chunk uint16) {
		whole, _, _, err := run(t, testConfig(limit), &Source{}, in, len(in)+1)
		if err != nil {
			return // refused: nothing is kept
		}
		if got, _, _, _ := run(t, testConfig(limit), &Source{}, in, max(1, int(chunk))); got != whole {
			t.Fatalf("pieces of %d give %q, whole %q", chunk, got, whole)
		}
		head := len(whole)
		if strings.HasPrefix(whole, "\r\n") {
			head = 0
		} else if i := strings.Index(whole, "\r\n\r\n"); i >= 0 {
			head = i + 2
		}
		if head > limit {
			t.Fatalf("header section of %d bytes in %q", head, whole)
		}
		if whole != string(in) {
			ok := false
			for _, sep := range []string{"\r\n", "\r\n\r\n"} {
				at := head
				if sep == "\r\n\r\n" {
					at = head - 2
				}
				if at >= 0 && at+len(sep) <= len(whole) && whole[at:at+len(sep)] == sep && whole[:at]+whole[at+len(sep):] == string(in) {
					ok = true
				}
			}
			if !ok {
				t.Fatalf("%q became %q", in, whole)
			}
		}
	})
}

// FuzzWriter runs arbitrary bytes through a Writer in both line-end
// modes, as a submission or not, with a tap: the outcome does not depend
// on how the bytes are cut; a refusal is one of intake's errors; what is
// stored is in strict CRLF form, has exactly one Date: and Message-ID:
// when the Writer added what was missing, and is exactly what the tap
// saw; and from an SMTP source that is not a submission, nothing but
// the header cut is changed.
func FuzzWriter(f *testing.F) {
	for _, s := range []string{
		"Subject: x\r\n\r\nbody\r\n",
		"Subject: x\n\nbody\n",
		"Date: x\r\nMessage-ID: <a@b>\r\n\r\nb\r\n",
		"Subject: x",
		"\r\nno header\r\n",
		"A: 1\r\nno field\r\nDate: y\r\n\r\nb\r\n",
		strings.Repeat("Received: x\r\n", 60) + "\r\n",
		"X: " + strings.Repeat("a", 100) + "\r\n\r\nb\r\n",
		"a\r\n.\n.\r\n",
		"a\x00b",
	} {
		f.Add([]byte(s), uint16(3), false, false)
		f.Add([]byte(s), uint16(5), true, true)
	}
	const limit = 64
	f.Fuzz(func(t *testing.T, in []byte, chunk uint16, lf, add bool) {
		src := func(r *recorder) *Source {
			s := &Source{AddMissing: add, Taps: []Tap{r}}
			if lf {
				s.LineEnds = LF
			}
			return s
		}
		cfg := testConfig(limit)
		cfg.SizeLimit = 4096
		r1, r2 := &recorder{}, &recorder{}
		whole, w, rec, err1 := run(t, cfg, src(r1), in, len(in)+1)
		got, _, _, err2 := run(t, cfg, src(r2), in, max(1, int(chunk)))
		if !errors.Is(err1, err2) && !(err1 != nil && err2 != nil && err1.Error() == err2.Error()) || (err1 == nil) != (err2 == nil) {
			t.Fatalf("whole: %v; pieces of %d: %v", err1, chunk, err2)
		}
		if err1 != nil {
			for _, e := range []error{ErrBareCR, ErrBareLF, ErrNUL, ErrTooBig, ErrHops} {
				if errors.Is(err1, e) {
					if r1.ends != 0 {
						t.Fatal("a refused message reached the tap's End")
					}
					return
				}
			}
			t.Fatalf("unexpected error %v", err1)
		}
		if got != whole {
			t.Fatalf("pieces of %d give %q, whole %q", chunk, got, whole)
		}
		stored := rec + whole
		for i := 0; i < len(stored); i++ {
			if stored[i] == '\n' && (i == 0 || stored[i-1] != '\r') || stored[i] == '\r' && i+1 < len(stored) && stored[i+1] != '\n' {
				t.Fatalf("stored a bare CR or LF at %d: %q", i, stored)
			}
		}
		// A submission has them, and intake added each only if it was
		// missing (the source may have sent two of its own).
		for _, f := range []struct{ name, added string }{
			{"Date", "\nDate: Mon, 23 Nov 2026 14:32:01 +0000\r\n"},
			{"Message-ID", "\nMessage-ID: <" + string(testID) + "@mail.example.test>\r\n"},
		} {
			if n := fieldCount(stored, f.name); add && (n == 0 || n > 1 && strings.Contains(stored, f.added)) {
				t.Fatalf("%d %s: in %q", n, f.name, stored)
			}
		}
		if added := "<" + string(testID) + "@mail.example.test>"; strings.Contains(stored, "\nMessage-ID: "+added+"\r\n") && w.MessageID() != added {
			t.Fatalf("message-id %q reported for %q", w.MessageID(), stored)
		}
		fields := strings.Join(r1.fields, "")
		rest := strings.TrimPrefix(stored, fields)
		if !strings.HasPrefix(stored, fields) || r1.body.String() != rest && "\r\n"+r1.body.String() != rest {
			t.Fatalf("the tap saw %q and %q; stored %q", fields, r1.body.String(), stored)
		}
		if r1.ends != 1 || r1.headerEnd != 1 {
			t.Fatalf("tap: End %d, HeaderEnd %d", r1.ends, r1.headerEnd)
		}
		// The header a later reader scans is the one intake counted.
		if n := fieldCount(stored, "Received"); n != w.hops {
			t.Fatalf("%d Received: fields counted, %d stored in %q", w.hops, n, stored)
		}
		if !lf && !add && whole != string(in) && !w.HeaderCut() && !(len(in) > 0 && (in[0] == ' ' || in[0] == '\t') && whole == "\r\n"+string(in)) {
			t.Fatalf("%q stored as %q without a cut", in, whole)
		}
	})
}

// FuzzSign: whatever a submission sends, when intake signs it (a From: of
// example.test, an Ed25519 key), the message as stored, the signature on
// top, verifies when read whole by go-msgauth, however the bytes were cut,
// the header cut at header_size_limit included; a message intake does not
// sign is one whose header a non-field line ends.
func FuzzSign(f *testing.F) {
	for _, s := range []string{
		"Subject: x\r\n\r\nbody\r\n",
		"Subject: x\n\nbody  \n\n\n",
		"Subject: x",
		"no field\r\n\r\nb\r\n",
		"X: " + strings.Repeat("a", 100) + "\r\n\r\nb\r\n",
		"From: second@example.org\r\nTo: a,\r\n\tb\r\n\r\n\tbody\r\n",
	} {
		f.Add([]byte(s), uint16(3), false)
		f.Add([]byte(s), uint16(40), true)
	}
	seed := bytes.Repeat([]byte{7}, ed25519.SeedSize)
	key := ed25519.NewKeyFromSeed(seed)
	rec, err := dkim.Record(key.Public())
	if err != nil {
		f.Fatal(err)
	}
	keys := dkim.NewKeys(&dkim.Key{Domain: "example.test", Selector: "fz", Signer: key, File: "fz"})
	lookup := func(name string) ([]string, error) {
		if name == "fz._domainkey.example.test" {
			return []string{rec}, nil
		}
		return nil, errors.New("no such record")
	}
	f.Fuzz(func(t *testing.T, in []byte, chunk uint16, lf bool) {
		in = append([]byte("From: fuzz@example.test\r\n"), in...)
		src := &Source{Sign: true, AddMissing: true}
		if lf {
			src.LineEnds = LF
		}
		cfg := testConfig(64)
		cfg.SizeLimit = 4096
		cfg.DKIM = keys
		m := &memEntry{}
		w := newWriter(m, testID, testEnvelope(), cfg, src)
		for p := in; len(p) > 0; {
			n := min(max(1, int(chunk)), len(p))
			w.Write(p[:n])
			p = p[n:]
		}
		if err := w.End(); err != nil {
			return // refused: not signed
		}
		stored := append(append([]byte(nil), m.prepend...), m.msg.Bytes()...)
		if len(w.DKIMKeys()) == 0 {
			if m.prepend != nil {
				t.Fatalf("prepended %q without signing", m.prepend)
			}
			return
		}
		// A message that ends inside its header is read as one with an
		// empty body.
		if fe := message.Fields(stored, func(_, _ []byte) {}); fe == len(stored) {
			if !bytes.HasSuffix(stored, []byte("\r\n")) {
				stored = append(stored, "\r\n"...)
			}
			stored = append(stored, "\r\n"...)
		}
		vs, err := msgauth.VerifyWithOptions(bytes.NewReader(stored), &msgauth.VerifyOptions{LookupTXT: lookup})
		if err != nil || len(vs) == 0 || vs[0].Err != nil {
			t.Fatalf("%v %+v\n%q", err, vs, stored)
		}
	})
}

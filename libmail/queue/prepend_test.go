package queue

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"os"
	"strings"
	"testing"
)

// TestPrependRoundTrip: header fields prepended before Commit are what
// every reader sees on top of the message, in the order of the calls
// (the last on top), with Size covering them; after them the message is
// byte for byte what was streamed. Small (patched in the buffer) and
// large (patched with pwrite) messages, fresh and recycled files, and
// trailer records appended afterwards.
func TestPrependRoundTrip(t *testing.T) {
	ar := "Authentication-Results: mail.example.test;\r\n\tspf=pass smtp.mailfrom=example.org\r\n"
	sig := "DKIM-Signature: v=1; a=rsa-sha256; d=example.test; s=sel;\r\n\tb=AAAA\r\n"
	for _, c := range []struct {
		name  string
		msg   string
		spare bool
	}{
		{"small", "Received: x\r\nSubject: hi\r\n\r\nbody\r\n", false},
		{"large", "Subject: big\r\n\r\n" + strings.Repeat("0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcd\r\n", 3000), false},
		{"small, recycled file", "Subject: hi\r\n\r\nbody\r\n", true},
		{"large, recycled file", "Subject: big\r\n\r\n" + strings.Repeat("z", 70000) + "\r\n", true},
		{"empty message", "", false},
	} {
		t.Run(c.name, func(t *testing.T) {
			s := testSpool(t)
			if c.spare {
				old := writeEntry(t, s, testEnvelope(), strings.Repeat("old message line\r\n", 10000))
				if err := s.Recycle(Incoming, old); err != nil {
					t.Fatal(err)
				}
			}
			id := s.NewID()
			w, err := s.Create(id, testEnvelope())
			if err != nil {
				t.Fatal(err)
			}
			io.WriteString(w, c.msg)
			if err := w.Prepend([]byte(ar)); err != nil {
				t.Fatal(err)
			}
			if err := w.Prepend([]byte(sig)); err != nil {
				t.Fatal(err)
			}
			if err := w.Commit(); err != nil {
				t.Fatal(err)
			}
			f, err := s.OpenEntry(Incoming, id, true)
			if err != nil {
				t.Fatal(err)
			}
			defer f.Close()
			// Progress appended after the prepended header is read as such.
			if err := Append(f, ResultRecord{Result{Rcpt: 0, Status: Sent, DSN: "2.0.0", Relay: "local", Reply: "ok"}}); err != nil {
				t.Fatal(err)
			}
			e, err := Read(f, id)
			if err != nil {
				t.Fatal(err)
			}
			want := sig + ar + c.msg
			got, err := io.ReadAll(e.Message(f))
			if err != nil || string(got) != want {
				t.Fatalf("message read back (%d bytes, %v):\n%.300q\nwant (%d bytes):\n%.300q", len(got), err, got, len(want), want)
			}
			if e.Size != int64(len(want)) {
				t.Errorf("Size %d, want %d", e.Size, len(want))
			}
			if e.State[0].Status != Sent || len(e.Pending()) != 2 {
				t.Errorf("state %+v", e.State)
			}
			// Random access across the seam, as the smtp agent's second
			// pass (Seek, then read) and ReadAt users do.
			m := e.Message(f)
			for _, at := range []int{0, 1, len(sig) - 1, len(sig) + len(ar) - 3, len(sig) + len(ar), len(want) - 1} {
				if at < 0 || at >= len(want) {
					continue
				}
				buf := make([]byte, min(7, len(want)-at))
				if n, err := m.ReadAt(buf, int64(at)); n != len(buf) || string(buf) != want[at:at+len(buf)] {
					t.Errorf("ReadAt(%d, %d) = %d %q, %v; want %q", len(buf), at, n, buf[:n], err, want[at:at+len(buf)])
				}
			}
			if _, err := m.Seek(int64(len(sig)+2), io.SeekStart); err != nil {
				t.Fatal(err)
			}
			if rest, _ := io.ReadAll(m); string(rest) != want[len(sig)+2:] {
				t.Errorf("after Seek: %d bytes, want %d", len(rest), len(want)-len(sig)-2)
			}
			// Nothing of a recycled file's old entry is left.
			if raw, _ := os.ReadFile(s.Path(Incoming, id)); strings.Contains(string(raw), "old message") {
				t.Error("the recycled file still holds the old message")
			}
		})
	}
}

// TestPrependRefused: a prepended field must end in CRLF, and the
// prepended header is bounded.
func TestPrependRefused(t *testing.T) {
	s := testSpool(t)
	w, err := s.Create(s.NewID(), testEnvelope())
	if err != nil {
		t.Fatal(err)
	}
	defer w.Abort()
	if err := w.Prepend([]byte("X-Test: no line end")); err == nil {
		t.Error("a field without CRLF was taken")
	}
	if err := w.Prepend([]byte("X-Big: " + strings.Repeat("x", MaxPrepend) + "\r\n")); err == nil {
		t.Error("a prepended header over MaxPrepend was taken")
	}
}

// TestReadVersion1: entries written before the prepend line existed
// ("postern-queue 1") are still read, records and all, and an entry
// written now is version 2 even without a prepended header.
func TestReadVersion1(t *testing.T) {
	s := testSpool(t)
	id := s.NewID()
	v1 := "postern-queue 1\nsize 0000000000000018\narrival 1795441921123456789\nsender bounce@example.org\n" +
		"rcpt user@example.test notify=FAILURE orcpt=rfc822;user@example.test\nrcpt other@example.test\n\n" +
		"Subject: x\r\n\r\nHi\r\n" + "result 1 sent 2.0.0 local delivered\n"
	if err := os.WriteFile(s.Path(Incoming, id), []byte(v1), 0o600); err != nil {
		t.Fatal(err)
	}
	e, msg := readEntry(t, s, Incoming, id)
	if msg != "Subject: x\r\n\r\nHi\r\n" || e.Size != 18 || e.Sender != "bounce@example.org" || e.State[1].Status != Sent {
		t.Errorf("version 1 entry read as %+v, message %q", e, msg)
	}
	id2 := writeEntry(t, s, testEnvelope(), "hi\r\n")
	raw, _ := os.ReadFile(s.Path(Incoming, id2))
	if !bytes.HasPrefix(raw, []byte("postern-queue 2\nsize 0000000000000004\nprepend 0000000000000000\n")) {
		t.Errorf("new entry starts %.70q", raw)
	}
}

func TestCorruptPrepend(t *testing.T) {
	s := testSpool(t)
	id := s.NewID()
	w, _ := s.Create(id, testEnvelope())
	w.WriteString("hello\r\n")
	w.Prepend([]byte("X-A: 1\r\n"))
	if err := w.Commit(); err != nil {
		t.Fatal(err)
	}
	good, _ := os.ReadFile(s.Path(Incoming, id))
	for name, data := range map[string][]byte{
		"prepend cut":      good[:len(good)-3],
		"no prepend line":  bytes.Replace(good, []byte("prepend "), []byte("prepand "), 1),
		"prepend too long": bytes.Replace(good, []byte("prepend 0000000000000008"), []byte(fmt.Sprintf("prepend %016d", MaxPrepend+1)), 1),
		"prepend sign":     bytes.Replace(good, []byte("prepend 0000000000000008"), []byte("prepend -000000000000008"), 1),
	} {
		e, err := parse(bytes.NewReader(data), int64(len(data)))
		if !errors.Is(err, ErrCorrupt) {
			t.Errorf("%s: got %+v, %v; want ErrCorrupt", name, e, err)
		}
	}
}

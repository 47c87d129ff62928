package imap

import (
	"errors"
	"strings"
	"testing"
	"time"
)

func TestWriteFetch(t *testing.T) {
	raw := crlf("From: a@b\nSubject: s\nContent-Transfer-Encoding: x-unknown\n\nbody\n")
	d := &FetchData{
		SeqNum: 2, UID: 20, Flags: []string{`\Seen`}, Size: int64(len(raw)), ModSeq: 7,
		InternalDate: time.Date(2024, 1, 2, 3, 4, 5, 0, time.UTC),
		Message:      NewMessage(strings.NewReader(raw), int64(len(raw))),
	}
	cmd, err := ParseCommand([]byte("x UID FETCH 1 (UID FLAGS INTERNALDATE RFC822.SIZE MODSEQ BODY.PEEK[HEADER.FIELDS (Subject)] BODY[TEXT]<1.2> BODY[3] RFC822.HEADER BODY)\r\n"), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	items := cmd.Args.(*Fetch).Items
	if !NeedsMessage(items) || !SetsSeen(items) {
		t.Error("NeedsMessage or SetsSeen wrong")
	}
	got := render(func(w *Writer) {
		if err := w.Fetch(d, items); err != nil {
			t.Fatal(err)
		}
	})
	want := "* 2 FETCH (UID 20 FLAGS (\\Seen) INTERNALDATE \"02-Jan-2024 03:04:05 +0000\" RFC822.SIZE 69 MODSEQ (7) " +
		"BODY[HEADER.FIELDS (Subject)] {14}\r\nSubject: s\r\n\r\n BODY[TEXT]<1> {2}\r\nod BODY[3] NIL " +
		"RFC822.HEADER {63}\r\nFrom: a@b\r\nSubject: s\r\nContent-Transfer-Encoding: x-unknown\r\n\r\n " +
		"BODY (\"TEXT\" \"PLAIN\" (\"CHARSET\" \"us-ascii\") NIL NIL \"X-UNKNOWN\" 6 1))\r\n"
	if got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	// BINARY of an unknown encoding fails before anything is written.
	cmd, _ = ParseCommand([]byte("x FETCH 1 (FLAGS BINARY[1])\r\n"), DefaultLimits())
	got = render(func(w *Writer) {
		if err := w.Fetch(d, cmd.Args.(*Fetch).Items); !errors.Is(err, ErrUnknownCTE) {
			t.Errorf("BINARY of x-unknown: %v", err)
		}
	})
	if got != "" {
		t.Errorf("a failed FETCH wrote %q", got)
	}
	// FLAGS alone needs no message.
	cmd, _ = ParseCommand([]byte("x FETCH 1 FAST\r\n"), DefaultLimits())
	if NeedsMessage(cmd.Args.(*Fetch).Items) || SetsSeen(cmd.Args.(*Fetch).Items) {
		t.Error("FAST needs no message and sets no flag")
	}
	d.Message = nil
	if got := render(func(w *Writer) { _ = w.Fetch(d, cmd.Args.(*Fetch).Items) }); !strings.HasPrefix(got, "* 2 FETCH (FLAGS") {
		t.Errorf("FAST: %q", got)
	}
}

func TestResponseItems(t *testing.T) {
	for in, want := range map[string]string{
		"x UID FETCH 1 FLAGS":                           "UID FLAGS",
		"x UID FETCH 1 (FLAGS UID)":                     "FLAGS UID",
		"x FETCH 1 FLAGS":                               "FLAGS",
		"x UID FETCH 1 FLAGS (CHANGEDSINCE 5 VANISHED)": "UID FLAGS MODSEQ",
		"x FETCH 1 (MODSEQ FLAGS) (CHANGEDSINCE 5)":     "MODSEQ FLAGS",
	} {
		cmd, err := ParseCommand([]byte(in+"\r\n"), DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		var names []string
		for _, it := range ResponseItems(cmd.Args.(*Fetch), cmd.UID) {
			names = append(names, it.String())
		}
		if got := strings.Join(names, " "); got != want {
			t.Errorf("%s: %s, want %s", in, got, want)
		}
	}
}

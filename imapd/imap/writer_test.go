package imap

import (
	"bytes"
	"strings"
	"testing"
	"time"
)

func TestWriter(t *testing.T) {
	var b bytes.Buffer
	w := NewWriter(&b)
	w.Untagged().Number(3).SP().Atom("EXISTS").End()
	w.Untagged().Atom("LIST").SP().Flags([]string{`\HasNoChildren`, `\Sent`}).SP().String("/").SP().Mailbox("Entwürfe").End()
	w.Untagged().Atom("FETCH").SP().Open().Atom("BODY[]").SP().Literal(strings.NewReader("a\r\nb"), 4, false).Close().End()
	w.Untagged().String(`say "hi" \o/`).SP().String("two\r\nlines").SP().NString(nil).SP().DateTime(time.Date(1996, 7, 17, 2, 44, 25, 0, time.FixedZone("", -7*3600))).End()
	w.Status("a1", "OK", "READ-WRITE", "SELECT completed")
	w.Status("", "BAD", "", "line\r\nbreak")
	w.Continue("")
	w.UTF8 = true
	w.Untagged().Mailbox("Entwürfe").SP().String("Grüße").End()
	if err := w.Flush(); err != nil {
		t.Fatal(err)
	}
	want := "* 3 EXISTS\r\n" +
		"* LIST (\\HasNoChildren \\Sent) \"/\" \"Entw&APw-rfe\"\r\n" +
		"* FETCH (BODY[] {4}\r\na\r\nb)\r\n" +
		"* \"say \\\"hi\\\" \\\\o/\" {10}\r\ntwo\r\nlines NIL \"17-Jul-1996 02:44:25 -0700\"\r\n" +
		"a1 OK [READ-WRITE] SELECT completed\r\n" +
		"* BAD line  break\r\n" +
		"+ done\r\n" +
		"* \"Entwürfe\" \"Grüße\"\r\n"
	if got := b.String(); got != want {
		t.Errorf("got\n%q\nwant\n%q", got, want)
	}
	// Without UTF8, 8-bit strings go as literals.
	if got := render(func(w *Writer) { w.String("Grüße") }); got != "{7}\r\nGrüße" {
		t.Errorf("8-bit string: %q", got)
	}
	// A literal whose reader is short is an error, not a short literal.
	var c bytes.Buffer
	w = NewWriter(&c)
	if err := w.Literal(strings.NewReader("ab"), 5, false).End(); err == nil {
		t.Error("short literal not reported")
	}
}

func TestMailboxUTF7(t *testing.T) {
	for _, tc := range []struct{ utf8, wire string }{
		{"INBOX", "INBOX"},
		{"Entwürfe", "Entw&APw-rfe"},
		{"~peter/mail/台北/日本語", "~peter/mail/&U,BTFw-/&ZeVnLIqe-"},
		{"A&B", "A&-B"},
		{"Gesendete Objekte", "Gesendete Objekte"},
		{"😀", "&2D3eAA-"},
	} {
		if got := EncodeMailbox(tc.utf8, false); got != tc.wire {
			t.Errorf("EncodeMailbox(%q) = %q, want %q", tc.utf8, got, tc.wire)
		}
		if got, err := DecodeMailbox(tc.wire, false); err != nil || got != tc.utf8 {
			t.Errorf("DecodeMailbox(%q) = %q, %v", tc.wire, got, err)
		}
		if got, err := DecodeMailbox(tc.utf8, true); err != nil || got != tc.utf8 {
			t.Errorf("DecodeMailbox(%q, utf8) = %q, %v", tc.utf8, got, err)
		}
	}
	for _, bad := range []string{"&AGE-", "&Jjo", "&Jjo!-", "ü", "&2D0-", "tab\there"} {
		if got, err := DecodeMailbox(bad, false); err == nil {
			t.Errorf("DecodeMailbox(%q) = %q, want an error", bad, got)
		}
	}
	if got, _ := DecodeMailbox("inbox", false); got != "INBOX" {
		t.Errorf("inbox is %q", got)
	}
	if _, err := DecodeMailbox("\xff", true); err == nil {
		t.Error("invalid UTF-8 accepted")
	}
}

func TestSeqSet(t *testing.T) {
	cmd, err := ParseCommand([]byte("x FETCH 5:2,7,9:*,4000000000:4294967295 FLAGS\r\n"), DefaultLimits())
	if err != nil {
		t.Fatal(err)
	}
	s := cmd.Args.(*Fetch).Set
	for n, want := range map[uint32]bool{1: false, 2: true, 5: true, 6: false, 7: true, 8: false, 9: true, 12: true, 13: false} {
		if s.Contains(n, 12) != want {
			t.Errorf("Contains(%d, 12) = %v", n, !want)
		}
	}
	if got := s.Numbers(12); len(got) != 9 || got[0] != 2 || got[8] != 12 {
		t.Errorf("Numbers(12) = %v", got)
	}
	// "*" in an empty mailbox: nothing, and no huge allocation.
	if got := s.Numbers(0); len(got) != 0 {
		t.Errorf("Numbers(0) = %v", got)
	}
	if got := SetOf([]uint32{9, 1, 2, 3, 5, 3, 7, 8}).String(); got != "1:3,5,7:9" {
		t.Errorf("SetOf = %s", got)
	}
}

func TestSearchResponses(t *testing.T) {
	r := &SearchResult{Tag: "a1", UID: true, Nums: []uint32{7, 2, 3, 4, 9}, ModSeq: 55}
	for _, tc := range []struct {
		ret  []string
		want string
	}{
		{nil, "* ESEARCH (TAG \"a1\") UID ALL 2:4,7,9 MODSEQ 55\r\n"},
		{[]string{"MIN", "MAX", "COUNT"}, "* ESEARCH (TAG \"a1\") UID MIN 2 MAX 9 COUNT 5 MODSEQ 55\r\n"},
		{[]string{"SAVE"}, ""},
		{[]string{"SAVE", "MIN"}, "* ESEARCH (TAG \"a1\") UID MIN 2 MODSEQ 55\r\n"},
	} {
		if got := render(func(w *Writer) { _ = w.ESearch(tc.ret, r) }); got != tc.want {
			t.Errorf("RETURN %v: %q, want %q", tc.ret, got, tc.want)
		}
	}
	empty := &SearchResult{Tag: "a2"}
	if got := render(func(w *Writer) { _ = w.ESearch([]string{"MIN", "COUNT"}, empty) }); got != "* ESEARCH (TAG \"a2\") COUNT 0\r\n" {
		t.Errorf("empty: %q", got)
	}
	if got := render(func(w *Writer) { _ = w.Search("SEARCH", r) }); got != "* SEARCH 7 2 3 4 9 (MODSEQ 55)\r\n" {
		t.Errorf("SEARCH: %q", got)
	}
}

func TestUntaggedResponses(t *testing.T) {
	got := render(func(w *Writer) {
		w.Capability([]string{"IMAP4rev1", "IMAP4rev2", "IDLE"})
		w.Enabled(nil)
		w.Enabled([]string{"CONDSTORE"})
		w.Exists(23)
		w.Expunge(4)
		w.Vanished([]uint32{300, 301, 302, 405}, true)
		w.List("LIST", &ListEntry{Name: "Entwürfe", Attrs: []string{`\HasNoChildren`, `\Drafts`}, Delim: '/'})
		w.List("LIST", &ListEntry{Name: "Foo", Attrs: []string{}, Delim: '/', ChildInfo: []string{"SUBSCRIBED"}})
		w.List("LSUB", &ListEntry{Name: "x", Attrs: []string{`\Noselect`}})
		w.StatusResponse("blurdybloop", []StatusItem{{"MESSAGES", 231}, {"UIDNEXT", 44292}})
	})
	want := "* CAPABILITY IMAP4rev1 IMAP4rev2 IDLE\r\n" +
		"* ENABLED\r\n" +
		"* ENABLED CONDSTORE\r\n" +
		"* 23 EXISTS\r\n" +
		"* 4 EXPUNGE\r\n" +
		"* VANISHED (EARLIER) 300:302,405\r\n" +
		"* LIST (\\HasNoChildren \\Drafts) \"/\" \"Entw&APw-rfe\"\r\n" +
		"* LIST () \"/\" \"Foo\" (\"CHILDINFO\" (\"SUBSCRIBED\"))\r\n" +
		"* LSUB (\\Noselect) NIL \"x\"\r\n" +
		"* STATUS \"blurdybloop\" (MESSAGES 231 UIDNEXT 44292)\r\n"
	if got != want {
		t.Errorf("got\n%s\nwant\n%s", got, want)
	}
}

package imap

import (
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzParseCommand feeds arbitrary client bytes through the Reader and
// the parser: nothing may panic, and every command that parses must
// print (Format) to a form that parses to the same command.
func FuzzParseCommand(f *testing.F) {
	f.Add([]byte("a1 FETCH 1:* (FLAGS BODY.PEEK[1.HEADER.FIELDS (From)]<0.10>)\r\n"))
	f.Add([]byte("a1 SEARCH CHARSET UTF-8 OR (FROM {3+}\r\nabc) NOT UID 1:*\r\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		lim := testLimits()
		r := NewReader(strings.NewReader(string(data)), lim, func() error { return nil })
		for range 20 {
			cmd, err := r.ReadCommand()
			var e *Error
			if errors.As(err, &e) {
				if e.Fatal {
					return
				}
				continue
			}
			if err != nil {
				return
			}
			checkRoundTrip(t, Format(cmd))
		}
		// With an AppendSink every sink must end up in an APPEND or
		// discarded, never lost.
		var sinks []*testSink
		var kept []AppendSink
		r = NewReader(strings.NewReader(string(data)), lim, func() error { return nil })
		r.SetAppendSink(func(int64) (AppendSink, error) {
			s := &testSink{}
			sinks = append(sinks, s)
			return s, nil
		})
		for range 20 {
			cmd, err := r.ReadCommand()
			if a, ok := cmdAppend(cmd); ok && err == nil && a.Sink != nil {
				kept = append(kept, a.Sink)
			}
			var e *Error
			if err != nil && (!errors.As(err, &e) || e.Fatal) {
				break
			}
		}
		for _, s := range sinks {
			held := false
			for _, k := range kept {
				held = held || k == AppendSink(s)
			}
			if held == s.discarded {
				t.Fatalf("a sink is held %v and discarded %v", held, s.discarded)
			}
		}
	})
}

// FuzzMessage parses arbitrary bytes as a message and derives everything
// FETCH shows of it: nothing may panic, and every section read must be
// as long as announced.
func FuzzMessage(f *testing.F) {
	f.Add([]byte(rfc3501Message()))
	f.Add([]byte(crlf("Content-Type: multipart/mixed; boundary=a\n\n--a\nContent-Type: message/rfc822\n\nSubject: x\n\nbody\n--a--\n")))
	f.Fuzz(func(t *testing.T, data []byte) {
		m := NewMessage(bytes.NewReader(data), int64(len(data)))
		env, err := m.Envelope()
		if err != nil {
			return
		}
		render(func(w *Writer) { w.Envelope(env) })
		root, err := m.Structure()
		if err != nil {
			return
		}
		render(func(w *Writer) { w.BodyStructure(root, true) })
		for _, s := range []*Section{
			{}, {Specifier: "HEADER"}, {Specifier: "TEXT"}, {Part: []int{1}}, {Part: []int{1, 1}},
			{Part: []int{2}, Specifier: "MIME"}, {Part: []int{1}, Specifier: "HEADER"},
			{Specifier: "HEADER.FIELDS", Fields: []string{"Subject"}},
		} {
			r, n, err := m.Section(s)
			if err != nil {
				continue
			}
			b, err := io.ReadAll(r)
			if err != nil || int64(len(b)) != n {
				t.Fatalf("section %s: read %d of %d: %v", s, len(b), n, err)
			}
		}
		for _, keys := range []string{"TEXT x", `BODY "ü"`, "SUBJECT a SENTON 1-Jan-2000 HEADER X y"} {
			cmd, _ := ParseCommand([]byte("x SEARCH "+keys+"\r\n"), DefaultLimits())
			mt, _ := NewMatcher(cmd.Args.(*Search).Key, "", SearchContext{})
			_, _ = mt.Match(&SearchData{Message: m})
		}
		items := []SortItem{{SeqNum: 1, Header: &root.Header}, {SeqNum: 2, Header: &root.Header}}
		SortMessages(items, []SortCriterion{{Key: "SUBJECT"}, {Key: "DISPLAYFROM"}, {Key: "DATE"}})
		ThreadReferences(items, false)
		if r, n, err := m.Binary([]int{1}); err == nil {
			b, err := io.ReadAll(r)
			if err != nil || int64(len(b)) != n {
				t.Fatalf("BINARY[1]: read %d of %d: %v", len(b), n, err)
			}
		}
	})
}

// FuzzAddressList: the lenient address parser takes anything.
func FuzzAddressList(f *testing.F) {
	f.Add(`"Joe Q. Public" <john.q.public@example.com>, Group: a@b, c <d@e>; (comment) x@y`)
	f.Fuzz(func(t *testing.T, s string) {
		for _, a := range ParseAddressList(s) {
			if a.Mailbox != nil && a.Host == nil && a.Name != nil {
				t.Fatalf("group marker with a name: %q", s)
			}
		}
	})
}

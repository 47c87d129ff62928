package imap

import (
	"errors"
	"io"
	"net"
	"strings"
	"sync"
	"testing"
	"time"

	goimap "github.com/emersion/go-imap/v2"
	"github.com/emersion/go-imap/v2/imapclient"
	"golang.org/x/tools/txtar"
)

// TestGoIMAPClient puts go-imap v2's client, written elsewhere, on the
// other end: what it sends must parse, and what this package writes
// (ENVELOPE, BODYSTRUCTURE, sections, BINARY, ESEARCH, THREAD, mailbox
// names) must come out of its parser as the message says.
func TestGoIMAPClient(t *testing.T) {
	ar, err := txtar.ParseFile("testdata/message/rfc2046.txtar")
	if err != nil {
		t.Fatal(err)
	}
	raw := crlf(string(ar.Files[0].Data))
	srvConn, cliConn := net.Pipe()
	srv := &peerServer{t: t, raw: raw}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() { defer wg.Done(); srv.serve(srvConn) }()
	defer wg.Wait()
	c := imapclient.New(cliConn, nil)
	defer c.Close()

	if err := c.Login("joe", "secret with spaces").Wait(); err != nil {
		t.Fatal(err)
	}
	if _, err := c.Select("INBOX", nil).Wait(); err != nil {
		t.Fatal(err)
	}
	opts := &goimap.FetchOptions{
		Envelope: true, Flags: true, UID: true, InternalDate: true, RFC822Size: true,
		BodyStructure: &goimap.FetchItemBodyStructure{Extended: true},
		BodySection: []*goimap.FetchItemBodySection{
			{Specifier: goimap.PartSpecifierHeader, HeaderFields: []string{"Subject"}, Peek: true},
			{Part: []int{2, 1}},
			{Part: []int{1, 1}, Partial: &goimap.SectionPartial{Offset: 3, Size: 6}, Peek: true},
		},
		BinarySection:     []*goimap.FetchItemBinarySection{{Part: []int{3}, Peek: true}},
		BinarySectionSize: []*goimap.FetchItemBinarySectionSize{{Part: []int{1, 1}}},
	}
	msgs, err := c.Fetch(goimap.SeqSetNum(1), opts).Collect()
	if err != nil || len(msgs) != 1 {
		t.Fatalf("FETCH: %v %d", err, len(msgs))
	}
	m := msgs[0]
	env := m.Envelope
	if env == nil || env.MessageID != "5678.21-Nov-1997@example.com" || env.Subject != "Grüße and folded" ||
		len(env.From) != 1 || env.From[0].Addr() != "john.q.public@example.com" || env.From[0].Name != "Joe Q. Public" ||
		len(env.To) != 3 || env.Cc[1].Name != `Giant; "Big" Box` || env.Date.IsZero() {
		t.Errorf("envelope: %+v", env)
	}
	mp, ok := m.BodyStructure.(*goimap.BodyStructureMultiPart)
	if !ok || len(mp.Children) != 3 || mp.Subtype != "MIXED" || mp.Extended == nil || mp.Extended.Params["boundary"] != "outer" {
		t.Fatalf("bodystructure: %#v", m.BodyStructure)
	}
	att := mp.Children[2].(*goimap.BodyStructureSinglePart)
	if att.MediaType() != "application/pdf" || att.Encoding != "BASE64" || att.Size != 16 ||
		att.Extended == nil || att.Extended.Disposition.Value != "ATTACHMENT" || att.Extended.Location != "http://example.org/doc.pdf" {
		t.Errorf("attachment: %#v %#v", att, att.Extended)
	}
	rfc822 := mp.Children[1].(*goimap.BodyStructureSinglePart)
	if rfc822.MessageRFC822 == nil || rfc822.MessageRFC822.Envelope.Subject != "embedded" || rfc822.MessageRFC822.NumLines != 13 {
		t.Errorf("message/rfc822: %#v", rfc822.MessageRFC822)
	}
	sections := map[string]string{}
	for _, s := range m.BodySection {
		sections[render(func(w *Writer) { w.Atom(sectionName(s.Section)) })] = string(s.Bytes)
	}
	for name, want := range map[string]string{
		"HEADER.FIELDS (Subject)": "Subject: =?UTF-8?Q?Gr=C3=BC=C3=9Fe?= and\r\n folded\r\n\r\n",
		"2.1":                     "first",
		"1.1":                     "C3=BC=",
	} {
		if sections[name] != want {
			t.Errorf("BODY[%s] = %q, want %q (all: %q)", name, sections[name], want, sections)
		}
	}
	if len(m.BinarySection) != 1 || string(m.BinarySection[0].Bytes) != "Hello, PDF!" {
		t.Errorf("BINARY: %+v", m.BinarySection)
	}
	if len(m.BinarySectionSize) != 1 || m.BinarySectionSize[0].Size != 13 {
		t.Errorf("BINARY.SIZE: %+v", m.BinarySectionSize)
	}

	since := time.Date(2003, 6, 1, 0, 0, 0, 0, time.UTC)
	res, err := c.UIDSearch(&goimap.SearchCriteria{
		Header:  []goimap.SearchCriteriaHeaderField{{Key: "From", Value: "Public"}},
		Body:    []string{"grüße"},
		NotFlag: []goimap.Flag{goimap.FlagDeleted},
		Since:   since,
		Or:      [][2]goimap.SearchCriteria{{{Larger: 10}, {Text: []string{"nowhere"}}}},
	}, nil).Wait()
	if err != nil || len(res.AllUIDs()) != 1 || res.AllUIDs()[0] != 42 {
		t.Errorf("UID SEARCH: %v %+v", err, res)
	}
	res, err = c.Search(&goimap.SearchCriteria{Body: []string{"not there"}}, nil).Wait()
	if err != nil || len(res.AllSeqNums()) != 0 {
		t.Errorf("SEARCH: %v %+v", err, res)
	}
	th, err := c.Thread(&imapclient.ThreadOptions{Algorithm: goimap.ThreadReferences, SearchCriteria: &goimap.SearchCriteria{}}).Wait()
	if err != nil || len(th) != 2 || len(th[0].Chain) != 1 || th[0].Chain[0] != 2 || len(th[1].Chain) != 2 {
		t.Errorf("THREAD: %v %+v", err, th)
	}
	boxes, err := c.List("", "*", nil).Collect()
	if err != nil || len(boxes) != 1 || boxes[0].Mailbox != "Entwürfe" {
		t.Errorf("LIST: %v %+v", err, boxes)
	}
	msg := "Subject: appended\r\n\r\nbody\r\n"
	ac := c.Append("Entwürfe", int64(len(msg)), &goimap.AppendOptions{Flags: []goimap.Flag{goimap.FlagDraft}, Time: since})
	io.WriteString(ac, msg)
	ac.Close()
	if _, err := ac.Wait(); err != nil {
		t.Errorf("APPEND: %v", err)
	}
	if err := c.Store(goimap.SeqSetNum(1), &goimap.StoreFlags{Op: goimap.StoreFlagsAdd, Flags: []goimap.Flag{goimap.FlagFlagged}}, nil).Close(); err != nil {
		t.Errorf("STORE: %v", err)
	}
	if err := c.Logout().Wait(); err != nil {
		t.Errorf("LOGOUT: %v", err)
	}
	srv.mu.Lock()
	defer srv.mu.Unlock()
	for _, want := range []string{
		`LOGIN joe "secret with spaces"`,
		`APPEND Entw&APw-rfe (\Draft) "01-Jun-2003 00:00:00 +0000" {27+}`,
		`STORE 1 +FLAGS (\Flagged)`,
	} {
		found := false
		for _, got := range srv.seen {
			found = found || strings.Contains(got, want)
		}
		if !found {
			t.Errorf("the server saw no %q among %q", want, srv.seen)
		}
	}
}

// sectionName is how this package names go-imap's section.
func sectionName(s *goimap.FetchItemBodySection) string {
	sec := &Section{Part: s.Part, Specifier: string(s.Specifier)}
	if s.HeaderFields != nil {
		sec.Specifier, sec.Fields = "HEADER.FIELDS", s.HeaderFields
	}
	return sec.String()
}

// peerServer answers go-imap's client from this package's parts, with
// one message in INBOX.
type peerServer struct {
	t    *testing.T
	raw  string
	mu   sync.Mutex
	seen []string
}

func (s *peerServer) serve(conn net.Conn) {
	defer conn.Close()
	w := NewWriter(conn)
	r := NewReader(conn, DefaultLimits(), func() error {
		w.Continue("go on")
		return w.Flush()
	})
	w.Status("", "OK", "CAPABILITY IMAP4rev1 LITERAL+ ESEARCH BINARY THREAD=REFERENCES SORT UIDPLUS", "ready")
	w.Flush()
	msg := func() *Message { return NewMessage(strings.NewReader(s.raw), int64(len(s.raw))) }
	for {
		cmd, err := r.ReadCommand()
		var perr *Error
		if errors.As(err, &perr) {
			s.t.Errorf("go-imap sent what does not parse: %v", perr)
			w.Status(perr.Tag, perr.Status, perr.Code, perr.Text)
			w.Flush()
			continue
		}
		if err != nil {
			return
		}
		s.mu.Lock()
		s.seen = append(s.seen, Format(cmd))
		s.mu.Unlock()
		switch a := cmd.Args.(type) {
		case *Select:
			w.Untagged().Atom("1 EXISTS").End()
			w.Status("", "OK", "UIDVALIDITY 7", "valid")
			w.Status("", "OK", "UIDNEXT 43", "next")
			w.Untagged().Atom("FLAGS ").Flags([]string{`\Seen`, `\Deleted`, `\Flagged`, `\Draft`}).End()
			w.Status(cmd.Tag, "OK", "READ-WRITE", "selected")
		case *Fetch:
			d := &FetchData{SeqNum: 1, UID: 42, Flags: []string{`\Seen`}, Size: int64(len(s.raw)),
				InternalDate: time.Date(2003, 7, 1, 10, 0, 0, 0, time.UTC), Message: msg()}
			if err := w.Fetch(d, a.Items); err != nil {
				s.t.Errorf("FETCH: %v", err)
			}
			w.Status(cmd.Tag, "OK", "", "fetched")
		case *Search:
			m, err := NewMatcher(a.Key, a.Charset, SearchContext{MaxSeq: 1, MaxUID: 42})
			if err != nil {
				s.t.Errorf("SEARCH: %v", err)
			}
			res := &SearchResult{Tag: cmd.Tag, UID: cmd.UID}
			d := &SearchData{SeqNum: 1, UID: 42, Flags: []string{`\Seen`}, Size: int64(len(s.raw)),
				InternalDate: time.Date(2003, 7, 1, 10, 0, 0, 0, time.UTC), Message: msg()}
			if ok, err := m.Match(d); err != nil {
				s.t.Errorf("SEARCH: %v", err)
			} else if ok {
				res.Nums = []uint32{d.SeqNum}
				if cmd.UID {
					res.Nums = []uint32{d.UID}
				}
			}
			if a.ESearch {
				w.ESearch(a.Return, res)
			} else {
				w.Search("SEARCH", res)
			}
			w.Status(cmd.Tag, "OK", "", "searched")
		case *Thread:
			items := []SortItem{
				item(1, "Message-ID: <1@x>\nSubject: a\nDate: Mon, 2 Jan 2006 10:02:00 +0000"),
				item(2, "Message-ID: <2@x>\nSubject: b\nDate: Mon, 2 Jan 2006 10:01:00 +0000"),
				item(3, "Message-ID: <3@x>\nReferences: <1@x>\nSubject: Re: a\nDate: Mon, 2 Jan 2006 10:03:00 +0000"),
			}
			w.Untagged().Atom("THREAD ").Thread(ThreadReferences(items, cmd.UID)).End()
			w.Status(cmd.Tag, "OK", "", "threaded")
		case *List:
			w.Untagged().Atom(`LIST (\HasNoChildren \Drafts) "/" `).Mailbox("Entwürfe").End()
			w.Status(cmd.Tag, "OK", "", "listed")
		case *Append:
			if string(a.Message) != "Subject: appended\r\n\r\nbody\r\n" {
				s.t.Errorf("APPEND got %q", a.Message)
			}
			if name, err := DecodeMailbox(a.Mailbox, false); err != nil || name != "Entwürfe" {
				s.t.Errorf("APPEND to %q: %v", name, err)
			}
			w.Status(cmd.Tag, "OK", "APPENDUID 7 43", "appended")
		case *Store:
			w.Untagged().Atom("1 FETCH (FLAGS ").Flags([]string{`\Seen`, `\Flagged`}).Atom(")").End()
			w.Status(cmd.Tag, "OK", "", "stored")
		default:
			if cmd.Name == "LOGOUT" {
				w.Status("", "BYE", "", "bye")
				w.Status(cmd.Tag, "OK", "", "logged out")
				w.Flush()
				return
			}
			w.Status(cmd.Tag, "OK", "", "done")
		}
		if err := w.Flush(); err != nil {
			return
		}
	}
}

package imap

import (
	"fmt"
	"strings"
	"testing"
	"time"
)

func TestBaseSubject(t *testing.T) {
	for _, tc := range []struct {
		in, base string
		reply    bool
	}{
		{"Hello", "Hello", false},
		{"Re: Hello", "Hello", true},
		{"RE:  re: Re:Hello", "Hello", true},
		{"Fwd: Hello (fwd)", "Hello", true},
		{"Fw: Hello", "Hello", true},
		{"[list] Re: Hello", "Hello", true},
		{"Re[2]: Hello", "Hello", true},
		{"[Fwd: Re: Hello]", "Hello", true},
		{"[list]", "[list]", false},
		{"[a][b] Hello", "Hello", false},
		{"   Hello \t  world  ", "Hello world", false},
		{"=?UTF-8?Q?Re=3A_Gr=C3=BC=C3=9Fe?=", "Grüße", true},
		{"Regarding the plan", "Regarding the plan", false},
		{"", "", false},
	} {
		base, reply := BaseSubject(tc.in)
		if base != tc.base || reply != tc.reply {
			t.Errorf("BaseSubject(%q) = %q, %v; want %q, %v", tc.in, base, reply, tc.base, tc.reply)
		}
	}
}

// item builds a SortItem from header lines.
func item(seq uint32, hdr string) SortItem {
	raw := crlf(hdr + "\n\n")
	h := parseHeader([]byte(raw))
	return SortItem{SeqNum: seq, UID: seq * 10, InternalDate: time.Unix(int64(1000-seq), 0), Size: int64(len(raw)), Header: &h}
}

func seqs(items []SortItem) string {
	var s []string
	for _, it := range items {
		s = append(s, fmt.Sprint(it.SeqNum))
	}
	return strings.Join(s, " ")
}

func TestSort(t *testing.T) {
	items := []SortItem{
		item(1, "From: Zed <zed@x>\nTo: b@x\nSubject: Re: beta\nDate: Mon, 2 Jan 2006 10:00:00 +0000"),
		item(2, "From: adam@x\nTo: A@x\nCc: c@x\nSubject: alpha\nDate: Mon, 2 Jan 2006 12:00:00 +0300"),
		item(3, "From: \"Bob\" <bob@x>\nSubject: [list] Beta\nDate: garbage"),
		item(4, "From: Zed <zed@x>\nTo: a@x\nSubject: alpha extra"),
	}
	for _, tc := range []struct {
		crit string
		want string
	}{
		{"SUBJECT", "2 4 1 3"},
		{"REVERSE SUBJECT", "1 3 4 2"},
		{"FROM", "2 3 1 4"},
		{"TO", "3 2 4 1"}, // missing To sorts first; a and A are equal
		{"CC", "1 3 4 2"},
		{"DATE", "4 3 2 1"}, // 3 and 4 have no usable Date: internal dates (1970)
		{"ARRIVAL", "4 3 2 1"},
		{"SIZE", "4 3 1 2"},
		{"REVERSE SIZE", "2 1 3 4"},
		{"DISPLAYFROM", "2 3 1 4"},
		{"FROM REVERSE DATE", "2 3 1 4"},
	} {
		cmd, err := ParseCommand([]byte("x SORT ("+tc.crit+") UTF-8 ALL\r\n"), DefaultLimits())
		if err != nil {
			t.Fatal(err)
		}
		got := append([]SortItem(nil), items...)
		SortMessages(got, cmd.Args.(*Sort).Criteria)
		if s := seqs(got); s != tc.want {
			t.Errorf("SORT (%s) = %s, want %s", tc.crit, s, tc.want)
		}
	}
}

func threadString(roots []*ThreadNode) string {
	return render(func(w *Writer) { w.Thread(roots) })
}

// TestThreadReferencesRFC5256 builds messages that give RFC 5256 §4's
// example responses.
func TestThreadReferencesRFC5256(t *testing.T) {
	d := func(n int) string { return fmt.Sprintf("Date: Mon, 2 Jan 2006 10:%02d:00 +0000", n) }
	msgs := []SortItem{
		item(2, "Message-ID: <2@x>\nSubject: two\n"+d(1)),
		item(3, "Message-ID: <3@x>\nSubject: three\n"+d(2)),
		item(6, "Message-ID: <6@x>\nReferences: <3@x>\nSubject: Re: three\n"+d(3)),
		item(4, "Message-ID: <4@x>\nReferences: <3@x> <6@x>\nSubject: Re: three\n"+d(4)),
		item(23, "Message-ID: <23@x>\nIn-Reply-To: <4@x>\nSubject: Re: three\n"+d(5)),
		item(44, "Message-ID: <44@x>\nReferences: <3@x> <6@x>\nSubject: Re: three\n"+d(6)),
		item(7, "Message-ID: <7@x>\nReferences: <3@x> <6@x> <44@x>\nSubject: Re: three\n"+d(7)),
		item(96, "Message-ID: <96@x>\nReferences: <3@x> <6@x> <44@x> <7@x>\nSubject: Re: three\n"+d(8)),
	}
	if got, want := threadString(ThreadReferences(msgs, false)), "(2)(3 6 (4 23)(44 7 96))"; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
	// Two replies to a message that is not in the mailbox: a dummy root.
	dummy := []SortItem{
		item(3, "Message-ID: <a@x>\nReferences: <gone@x>\nSubject: Re: q\n"+d(1)),
		item(5, "Message-ID: <b@x>\nReferences: <gone@x>\nSubject: Re: q\n"+d(2)),
	}
	if got, want := threadString(ThreadReferences(dummy, false)), "((3)(5))"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
	if got, want := threadString(ThreadReferences(dummy, true)), "((30)(50))"; got != want {
		t.Errorf("UID THREAD: got %s, want %s", got, want)
	}
}

func TestThreadReferencesSubjectsAndLoops(t *testing.T) {
	d := func(n int) string { return fmt.Sprintf("Date: Mon, 2 Jan 2006 10:%02d:00 +0000", n) }
	msgs := []SortItem{
		// A reply without references joins the original by subject.
		item(1, "Message-ID: <1@x>\nSubject: lunch\n"+d(1)),
		item(2, "Message-ID: <2@x>\nSubject: Re: lunch\n"+d(2)),
		// Two unrelated messages with one subject share a dummy.
		item(3, "Message-ID: <3@x>\nSubject: report\n"+d(3)),
		item(4, "Message-ID: <4@x>\nSubject: report\n"+d(4)),
		// References that loop, a duplicate Message-ID, none at all.
		item(5, "Message-ID: <5@x>\nReferences: <6@x> <5@x>\nSubject: a\n"+d(5)),
		item(6, "Message-ID: <6@x>\nReferences: <5@x> <6@x>\nSubject: b\n"+d(6)),
		item(7, "Message-ID: <5@x>\nSubject: c\n"+d(7)),
		item(8, "Subject: d\n"+d(8)),
	}
	got := threadString(ThreadReferences(msgs, false))
	if want := "(1 2)((3)(4))(6 5)(7)(8)"; got != want {
		t.Errorf("got %s\nwant %s", got, want)
	}
}

func TestThreadOrderedSubject(t *testing.T) {
	d := func(n int) string { return fmt.Sprintf("Date: Mon, 2 Jan 2006 10:%02d:00 +0000", n) }
	msgs := []SortItem{
		item(1, "Subject: b\n"+d(5)),
		item(2, "Subject: a\n"+d(1)),
		item(3, "Subject: Re: a\n"+d(2)),
		item(4, "Subject: Re: b\n"+d(6)),
		item(5, "Subject: Fwd: a\n"+d(3)),
		item(6, "Subject: c\n"+d(4)),
	}
	if got, want := threadString(ThreadOrderedSubject(msgs, false)), "(2 (3)(5))(6)(1 4)"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

// A References field that another message's longer one contradicts: the
// message's own last reference wins (RFC 5256 §3 step 1B).
func TestThreadReferencesReparent(t *testing.T) {
	d := func(n int) string { return fmt.Sprintf("Date: Mon, 2 Jan 2006 10:%02d:00 +0000", n) }
	msgs := []SortItem{
		item(3, "Message-ID: <x@x>\nReferences: <a@x> <b@x>\nSubject: s\n"+d(3)),
		item(2, "Message-ID: <b@x>\nReferences: <c@x>\nSubject: s\n"+d(2)),
		item(1, "Message-ID: <c@x>\nSubject: s\n"+d(1)),
	}
	if got, want := threadString(ThreadReferences(msgs, false)), "(1 2 3)"; got != want {
		t.Errorf("got %s, want %s", got, want)
	}
}

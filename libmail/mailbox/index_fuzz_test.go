package mailbox

import (
	"bytes"
	"testing"
)

// FuzzParseIndex checks that parseIndex never panics, that what it
// accepts keeps the invariants the store relies on, and that it survives
// a round trip through format unchanged.
func FuzzParseIndex(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		ix, err := parseIndex(bytes.NewReader(data))
		if err != nil {
			return
		}
		prev := uint32(0)
		for _, e := range ix.Entries {
			if e.UID <= prev || e.UID >= ix.UIDNext || e.ModSeq > ix.HighestModSeq || !validBase(e.Base) {
				t.Fatalf("invariant broken: %+v in %+v", e, ix)
			}
			prev = e.UID
		}
		out := ix.format()
		iy, err := parseIndex(bytes.NewReader(out))
		if err != nil {
			t.Fatalf("format of %+v does not parse: %v\n%s", ix, err, out)
		}
		if !bytes.Equal(iy.format(), out) {
			t.Fatalf("round trip changed:\n%s\n%s", out, iy.format())
		}
	})
}

func TestParseIndex(t *testing.T) {
	good := "postern-index 2\n1795000000 4 7 3 1795000000123456789 0\n1 2 1795000000 120 :2,S 1795000000.M1P2Q3.host,S=100,W=120\n3 7 1795000001 10 :2, foreign name with spaces\n"
	ix, err := parseIndex(bytes.NewReader([]byte(good)))
	if err != nil {
		t.Fatal(err)
	}
	if len(ix.Entries) != 2 || ix.Entries[1].Base != "foreign name with spaces" || ix.CurTime != 1795000000123456789 || string(ix.format()) != good {
		t.Fatalf("parsed %+v, formats as %q", ix, ix.format())
	}
	// Version 1 (no directory times) still reads, UIDs and all, and is
	// written back as version 2 with the times unknown.
	v1 := "postern-index 1\n1795000000 4 7 3\n1 2 1795000000 120 :2,S a\n3 7 1795000001 10 :2, b\n"
	ix, err = parseIndex(bytes.NewReader([]byte(v1)))
	if err != nil || len(ix.Entries) != 2 || ix.Entries[1].UID != 3 || ix.CurTime != 0 {
		t.Fatalf("version 1: %+v, %v", ix, err)
	}
	if got, want := string(ix.format()), "postern-index 2\n1795000000 4 7 3 0 0\n1 2 1795000000 120 :2,S a\n3 7 1795000001 10 :2, b\n"; got != want {
		t.Fatalf("version 1 formats as %q, want %q", got, want)
	}
	for _, bad := range []string{
		"",
		"postern-index 2\n1 1 1 1\n",     // version 2 needs the times
		"postern-index 1\n1 1 1 1 0 0\n", // version 1 has none
		"postern-index 3\n1 1 1 1 0 0\n",
		"postern-index 1\n0 1 1 1\n",
		"postern-index 1\n1 2 1 1\n1 2 0 0 :2, a\n", // modseq above highest
		"postern-index 1\n1 2 5 1\n2 2 0 0 :2, a\n", // UID not below uidnext
		"postern-index 1\n1 5 5 1\n2 2 0 0 :2, a\n1 2 0 0 :2, b\n", // out of order
		"postern-index 1\n1 5 5 1\n1 2 0 0 :2, a\n2 2 0 0 :2, a\n", // duplicate name
		"postern-index 1\n1 5 5 1\n1 2 0 0 :2,1 a\n",
		"postern-index 1\n1 5 5 1\n1 2 0 0 2,S a\n",
		"postern-index 1\n1 5 5 1\n1 2 0 0 :2,S a:b\n",
		"postern-index 1\n1 5 5 1\n+1 2 0 0 :2,S a\n",
	} {
		if _, err := parseIndex(bytes.NewReader([]byte(bad))); err == nil {
			t.Errorf("accepted %q", bad)
		}
	}
}

// FuzzParseUIDList: Dovecot's dovecot-uidlist never panics the parser,
// and what it accepts keeps the invariants an index must have (so it
// formats into an index that parses, once sizes are known).
func FuzzParseUIDList(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		ix := parseUIDList(bytes.NewReader(data))
		if ix == nil {
			return
		}
		for i := range ix.Entries {
			ix.Entries[i].Size = 0
		}
		if _, err := parseIndex(bytes.NewReader(ix.format())); err != nil {
			t.Fatalf("adopted %+v, which formats into a bad index: %v", ix, err)
		}
	})
}

package recipient

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/maillog"
)

// TestReloadSeesReplacedFile: `postern user passwd` replaces the accounts
// file by rename with one of the same size (an argon2id hash is as long
// as the one before); the Directory must see the new password even when
// the new file also has the old one's mtime (two edits within the file
// system clock's granularity), since only the inode tells them apart.
func TestReloadSeesReplacedFile(t *testing.T) {
	dir := t.TempDir()
	accounts := filepath.Join(dir, "accounts")
	writeFile(t, accounts, "demo@example.test:{PLAIN}old-pw\n")
	mtime := time.Date(2026, 1, 1, 0, 0, 0, 0, time.UTC)
	if err := os.Chtimes(accounts, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	clk := newClock()
	d := New(params(nil, accounts, false), maillog.Discard(), clk.Now)
	if _, ok := d.Authenticate("demo@example.test", "old-pw"); !ok {
		t.Fatal("old password refused")
	}
	tmp := accounts + ".tmp"
	writeFile(t, tmp, "demo@example.test:{PLAIN}new-pw\n")
	if err := os.Chtimes(tmp, mtime, mtime); err != nil {
		t.Fatal(err)
	}
	if err := os.Rename(tmp, accounts); err != nil {
		t.Fatal(err)
	}
	clk.Advance(time.Second)
	if _, ok := d.Authenticate("demo@example.test", "new-pw"); !ok {
		t.Error("the replaced file's password is refused: the change was not seen")
	}
	if _, ok := d.Authenticate("demo@example.test", "old-pw"); ok {
		t.Error("the old password still works")
	}
}

// senderDir is a Directory with accounts, aliases (lists, chains, an
// alias naming itself, a bare local part, an extension), and a sender
// login map.
func senderDir(t *testing.T, loginMap string) (*Directory, *clock, string) {
	t.Helper()
	dir := t.TempDir()
	accounts := filepath.Join(dir, "accounts")
	aliases := filepath.Join(dir, "aliases")
	logins := filepath.Join(dir, "senders")
	writeFile(t, accounts, "demo@example.test:{PLAIN}x\nbob@example.test:{PLAIN}x\ncarol@other.example.test:{PLAIN}x\n")
	writeFile(t, aliases, strings.Join([]string{
		"postmaster: demo@example.test",
		"root: postmaster",
		"info@example.test: demo",
		"team@example.test: bob@example.test, Demo+team@example.test",
		"chain@example.test: team",
		"away@example.test: demo@remote.example",
		"self@example.test: self, bob",
		"loop1@example.test: loop2",
		"loop2@example.test: loop1",
		"",
	}, "\n"))
	writeFile(t, logins, loginMap)
	p := params([]string{aliases}, accounts, false)
	p.SMTPDSenderLoginMaps = []string{logins}
	clk := newClock()
	return New(p, maillog.Discard(), clk.Now), clk, logins
}

func TestOwnsSender(t *testing.T) {
	d, clk, logins := senderDir(t, "# shared sender addresses\n"+
		"billing@example.test   demo@example.test, BOB@example.test\n"+
		"@partner.example       carol@other.example.test\n"+
		"news@partner.example   bob@example.test\n"+
		"Demo+press@example.test bob@example.test\n")
	for _, c := range []struct {
		login, addr string
		want        bool
	}{
		{"demo@example.test", "demo@example.test", true},
		{"demo@example.test", "DEMO@Example.Test", true},
		{"DEMO@example.test", "demo@example.test", true},
		{"demo@example.test", "demo+lists@example.test", true}, // an extension of its own
		{"demo@example.test", "bob@example.test", false},       // another account
		{"demo@example.test", "postmaster@example.test", true}, // alias (bare key) to it
		{"demo@example.test", "postmaster@other.example.test", true},
		{"demo@example.test", "root@example.test", true},   // alias of an alias
		{"demo@example.test", "info@example.test", true},   // bare target, the alias's domain
		{"demo@example.test", "info+x@example.test", true}, // the alias, with an extension
		{"demo@example.test", "team@example.test", true},   // list member, through an extension
		{"bob@example.test", "team@example.test", true},    // list member
		{"carol@other.example.test", "team@example.test", false},
		{"bob@example.test", "chain@example.test", true},  // alias to a list
		{"demo@example.test", "away@example.test", false}, // expands elsewhere only
		{"bob@example.test", "self@example.test", true},   // alias naming itself, and bob
		{"demo@example.test", "self@example.test", false},
		{"demo@example.test", "loop1@example.test", false},    // a loop ends
		{"demo@example.test", "nobody@example.test", false},   // unknown local address
		{"demo@example.test", "demo@remote.example", false},   // another domain's demo
		{"bob@example.test", "billing@example.test", true},    // login map
		{"demo@example.test", "billing+x@example.test", true}, // login map, extension stripped
		{"carol@other.example.test", "billing@example.test", false},
		{"carol@other.example.test", "anyone@partner.example", true}, // @domain
		{"carol@other.example.test", "news@partner.example", false},  // the address entry wins over @domain
		{"bob@example.test", "news@partner.example", true},
		{"bob@example.test", "demo+press@example.test", true},  // an entry for an extension address
		{"bob@example.test", "demo+other@example.test", false}, // ... only that one
	} {
		got, err := d.OwnsSender(c.login, c.addr)
		if err != nil || got != c.want {
			t.Errorf("OwnsSender(%s, %s) = %v, %v; want %v", c.login, c.addr, got, err, c.want)
		}
	}

	// The map is reread when it changes.
	writeFile(t, logins, "billing@example.test carol@other.example.test\n")
	clk.Advance(time.Second)
	if ok, _ := d.OwnsSender("bob@example.test", "billing@example.test"); ok {
		t.Error("bob still owns billing@ after the map changed")
	}
	if ok, _ := d.OwnsSender("carol@other.example.test", "billing@example.test"); !ok {
		t.Error("carol does not own billing@ after the map changed")
	}
}

// TestOwnsSenderUnreadable: when a file that says who owns what cannot
// be read, the answer is an error (a temporary failure), not "no".
func TestOwnsSenderUnreadable(t *testing.T) {
	// A directory in the file's place stats, but does not read, for root
	// too; with nothing read before, there is no earlier map to keep.
	logins := filepath.Join(t.TempDir(), "senders")
	if err := os.Mkdir(logins, 0o755); err != nil {
		t.Fatal(err)
	}
	p := params(nil, "", false)
	p.SMTPDSenderLoginMaps = []string{logins}
	d := New(p, maillog.Discard(), newClock().Now)
	if ok, err := d.OwnsSender("demo@example.test", "other@example.test"); ok || err == nil {
		t.Errorf("OwnsSender with an unreadable map = %v, %v; want an error", ok, err)
	}
	// The account's own address needs no file.
	if ok, err := d.OwnsSender("demo@example.test", "demo@example.test"); !ok || err != nil {
		t.Errorf("OwnsSender(own address) = %v, %v", ok, err)
	}
}

func TestParseLoginMap(t *testing.T) {
	m, errs := ParseLoginMap(strings.NewReader("\xef\xbb\xbf# comment\n"+
		"a@x.test b@x.test,c@x.test , D@X.TEST\n"+
		"\n"+
		"@Y.test\tb@x.test\n"+
		"A@x.test e@x.test\n"+
		"lonely@x.test\n"+
		"bad@x..test b@x.test\n"+
		"@bad_domain b@x.test\n"+
		"z@x.test notalogin\n"+
		" indented@x.test b@x.test\n"+
		",,,\n"+
		"ctl@x.test b@x.test\x01\n"), "senders")
	var got []string
	for _, e := range errs {
		got = append(got, e.Error())
	}
	want := []string{
		"senders:5: duplicate entry a@x.test ignored, first defined on line 2",
		`senders:6: "lonely@x.test" has no logins: want "ADDRESS LOGIN, LOGIN..."`,
		`senders:7: "bad@x..test": malformed domain: "x..test"`,
		`senders:8: "@bad_domain": malformed domain: "bad_domain"`,
		`senders:9: login "notalogin": not an address of the form local@domain`,
		"senders:10: line starts with a blank (continuation lines are not supported)",
		"senders:11: no address",
		`senders:12: control character '\x01'`,
	}
	if strings.Join(got, "\n") != strings.Join(want, "\n") {
		t.Errorf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(want, "\n"))
	}
	if l, ok := m.Lookup("A@X.test"); !ok || strings.Join(l, " ") != "b@x.test c@x.test d@x.test" {
		t.Errorf("Lookup(a@x.test) = %q, %v", l, ok)
	}
	if l, ok := m.Lookup("@y.test"); !ok || strings.Join(l, " ") != "b@x.test" {
		t.Errorf("Lookup(@y.test) = %q, %v", l, ok)
	}
	if m.Len() != 2 {
		t.Errorf("Len() = %d, want 2", m.Len())
	}
	var nilMap *LoginMap
	if _, ok := nilMap.Lookup("a@x.test"); ok || nilMap.Len() != 0 {
		t.Error("nil map has entries")
	}
}

// FuzzParseLoginMap checks that ParseLoginMap never panics, reports only
// line errors for in-memory input, and keeps lower-case keys whose
// logins are account addresses.
func FuzzParseLoginMap(f *testing.F) {
	f.Add("# c\na@x.test b@x.test, c@x.test\n@y.test d@x.test\n")
	f.Add(",,,\n \n\t a\n")
	f.Fuzz(func(t *testing.T, input string) {
		m, errs := ParseLoginMap(strings.NewReader(input), "f")
		for _, err := range errs {
			if !strings.HasPrefix(err.Error(), "f:") {
				t.Fatalf("error without a line: %v", err)
			}
		}
		for key, e := range m.m {
			if key != strings.ToLower(key) || len(e.logins) == 0 {
				t.Fatalf("entry %q: %q", key, e.logins)
			}
			for _, l := range e.logins {
				if l != strings.ToLower(l) || !strings.Contains(l, "@") {
					t.Fatalf("entry %q: login %q", key, l)
				}
			}
		}
	})
}

package recipient

import (
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"postern.dev/postern/libmail/account"
	"postern.dev/postern/libmail/daemon"
)

// TestMailboxOfAccount: where an account's mail lives and whose it is,
// for local and the mail servers alike: a plain account is vmail's under
// the virtual base (or its home); an account whose uid field names a
// system user, by name or number, is that user's home Maildir, as that
// user; an unknown user or root is refused.
func TestMailboxOfAccount(t *testing.T) {
	me, err := daemon.LookupUser("nobody")
	if err != nil {
		t.Skip("no user nobody here")
	}
	vmail := &daemon.User{Name: "vmail", UID: 5000, GID: 5000, Home: "/nonexistent"}
	text := strings.Join([]string{
		"plain@example.test:{PLAIN}x",
		"homed@example.test:{PLAIN}x::::/srv/mail/homed",
		"byname@example.test:{PLAIN}x:" + me.Name + ":::",
		"bynumber@example.test:{PLAIN}x:" + strconv.Itoa(me.UID) + ":::",
		"nobody-here@example.test:{PLAIN}x:no-such-user-at-all:::",
		"root@example.test:{PLAIN}x:0:::",
	}, "\n") + "\n"
	f, errs := account.Parse(strings.NewReader(text), "accounts")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	get := func(addr string) *account.Account {
		a, ok := f.Lookup(addr)
		if !ok {
			t.Fatalf("no account %s", addr)
		}
		return a
	}
	for _, tc := range []struct {
		addr  string
		root  string
		owner int
	}{
		{"plain@example.test", "/var/mail/vhosts/example.test/plain", vmail.UID},
		{"homed@example.test", "/srv/mail/homed", vmail.UID},
		{"byname@example.test", filepath.Join(me.Home, "Maildir"), me.UID},
		{"bynumber@example.test", filepath.Join(me.Home, "Maildir"), me.UID},
	} {
		m, err := AccountMatch(get(tc.addr), "")
		if err != nil {
			t.Errorf("%s: %v", tc.addr, err)
			continue
		}
		if got := MaildirRoot(m, "/var/mail/vhosts", "Maildir/"); got != tc.root {
			t.Errorf("%s: Maildir %s, want %s", tc.addr, got, tc.root)
		}
		if got := MaildirOwner(m, vmail); got.UID != tc.owner {
			t.Errorf("%s: owner uid %d, want %d", tc.addr, got.UID, tc.owner)
		}
	}
	for _, addr := range []string{"nobody-here@example.test", "root@example.test"} {
		if _, err := AccountMatch(get(addr), ""); err == nil {
			t.Errorf("%s: no error", addr)
		}
	}
}

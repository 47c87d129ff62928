package master

import (
	"os"
	"strings"
	"testing"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/daemon"
)

// TestResolveIdentityNotRoot: started by an ordinary user, the master
// runs every daemon as that user, whatever users the file names.
func TestResolveIdentityNotRoot(t *testing.T) {
	if os.Geteuid() == 0 {
		t.Skip("runs as an ordinary user only")
	}
	p := &config.Params{}
	p.MailOwner, p.VmailUser = "no-such-user-here", "no-such-user-either"
	id, err := resolveIdentity(p)
	if err != nil {
		t.Fatal(err)
	}
	if id.root || id.owner.UID != os.Getuid() || id.vmail.UID != os.Getuid() {
		t.Errorf("identity %+v, want the invoking user for everything", id)
	}
}

// TestResolveIdentityRoot: a root master looks up mail_owner and
// vmail_user, says how to create one that is missing, and refuses users
// with uid 0.
func TestResolveIdentityRoot(t *testing.T) {
	if os.Geteuid() != 0 {
		t.Skip("needs root")
	}
	nobody, err := daemon.LookupUser("nobody")
	if err != nil {
		t.Skip("needs the user nobody:", err)
	}
	p := &config.Params{}
	p.MailOwner, p.VmailUser = "nobody", "nobody"
	id, err := resolveIdentity(p)
	if err != nil {
		t.Fatal(err)
	}
	if !id.root || id.owner.UID != nobody.UID || id.vmail.UID != nobody.UID {
		t.Errorf("identity %+v, want root running daemons as nobody", id)
	}
	for _, tc := range []struct{ owner, vmail, want string }{
		{"no-such-user-here", "nobody", "mail_owner: user \"no-such-user-here\": "},
		{"nobody", "no-such-user-here", "vmail_user: user \"no-such-user-here\": "},
		{"root", "nobody", "must not have uid 0"},
		{"nobody", "root", "must not have uid 0"},
	} {
		p.MailOwner, p.VmailUser = tc.owner, tc.vmail
		_, err := resolveIdentity(p)
		if err == nil || !strings.Contains(err.Error(), tc.want) {
			t.Errorf("mail_owner %s, vmail_user %s: %v, want %q", tc.owner, tc.vmail, err, tc.want)
		}
		if err != nil && strings.Contains(tc.want, "no-such") && !strings.Contains(err.Error(), "adduser --system --group no-such-user-here") {
			t.Errorf("%v: no hint how to create the user", err)
		}
	}
}

// TestUserFor: under a root master a service runs as mail_owner unless
// it names another user, never as root; without root everything runs as
// the invoking user. The identity is made up, so this needs no root.
func TestUserFor(t *testing.T) {
	nobody, err := daemon.LookupUser("nobody")
	if err != nil {
		t.Skip("needs the user nobody:", err)
	}
	owner := &daemon.User{Name: "mailer", UID: 4242, GID: 4242}
	svc := func(user string) *config.Service {
		s := &config.Service{Name: "svc", User: user}
		// Not in the user database: naming it must not look it up.
		s.Params.MailOwner = "mailer-not-in-passwd"
		return s
	}
	root := &identity{root: true, owner: owner, vmail: owner}
	for _, tc := range []struct {
		user    string
		wantUID int
		wantErr string
	}{
		{"", 4242, ""},
		{"mailer-not-in-passwd", 4242, ""},
		{"nobody", nobody.UID, ""},
		{"root", 0, "service svc: refusing to run a daemon as root"},
		{"no-such-user-here", 0, "service svc: user \"no-such-user-here\""},
	} {
		u, err := root.userFor(svc(tc.user))
		switch {
		case tc.wantErr != "" && (err == nil || !strings.Contains(err.Error(), tc.wantErr)):
			t.Errorf("user %q: %v, want %q", tc.user, err, tc.wantErr)
		case tc.wantErr == "" && (err != nil || u.UID != tc.wantUID):
			t.Errorf("user %q: %+v %v, want uid %d", tc.user, u, err, tc.wantUID)
		}
	}
	me := &identity{owner: owner, vmail: owner}
	if u, err := me.userFor(svc("nobody")); err != nil || u != owner {
		t.Errorf("not root, user nobody: %+v %v, want the invoking user", u, err)
	}
}

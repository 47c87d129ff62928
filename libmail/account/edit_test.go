package account

import (
	"errors"
	"strings"
	"testing"
)

// editSample has what an administrator's file has besides accounts: a
// byte order mark, comments, blank lines, CRLF, Dovecot's fields, a line
// that does not parse, a duplicate, and no final newline.
const editSample = "\xef\xbb\xbfa@x.test:{PLAIN}a::::/home/a\r\n" +
	"# comment about b\n" +
	"\n" +
	"B@X.test:{PLAIN}b:1000:1000:Bob:/var/vmail/b::userdb_mail=maildir:~/Maildir\n" +
	"broken line\n" +
	"c@x.test:{MD5-CRYPT}$1$old\n" +
	"b@x.test:{PLAIN}shadowed\n" +
	"d@x.test"

const hashB = "{PLAIN}new"

func TestAdd(t *testing.T) {
	out, err := Add([]byte(editSample), "New@X.test", hashB)
	if err != nil {
		t.Fatal(err)
	}
	if want := editSample + "\nnew@x.test:{PLAIN}new\n"; string(out) != want {
		t.Errorf("Add = %q, want %q", out, want)
	}
	f, _ := Parse(strings.NewReader(string(out)), "f")
	if a, ok := f.Authenticate("new@x.test", "new"); !ok || a.Address != "new@x.test" {
		t.Error("the added account does not log in")
	}
	if out, err := Add(nil, "a@x.test", hashB); err != nil || string(out) != "a@x.test:{PLAIN}new\n" {
		t.Errorf("Add to an empty file = %q, %v", out, err)
	}
	for _, addr := range []string{"a@x.test", "b@X.TEST", "c@x.test", "d@x.test"} {
		if _, err := Add([]byte(editSample), addr, hashB); !errors.Is(err, ErrExists) {
			t.Errorf("Add(%s) = %v, want ErrExists", addr, err)
		}
	}
}

func TestSetPassword(t *testing.T) {
	for _, c := range []struct{ addr, want string }{
		{"a@x.test", strings.Replace(editSample, "{PLAIN}a::::", "{PLAIN}new::::", 1)},
		// The first line is the account; the shadowed duplicate stays.
		{"b@x.test", strings.Replace(editSample, "B@X.test:{PLAIN}b:", "B@X.test:{PLAIN}new:", 1)},
		// A broken password is what passwd repairs.
		{"c@x.test", strings.Replace(editSample, "{MD5-CRYPT}$1$old", "{PLAIN}new", 1)},
		// A line without a password field gets one.
		{"d@x.test", strings.Replace(editSample, "\nd@x.test", "\nd@x.test:{PLAIN}new", 1)},
	} {
		out, err := SetPassword([]byte(editSample), c.addr, hashB)
		if err != nil || string(out) != c.want {
			t.Errorf("SetPassword(%s) = %q, %v\nwant %q", c.addr, out, err, c.want)
			continue
		}
		f, _ := Parse(strings.NewReader(string(out)), "f")
		if _, ok := f.Authenticate(c.addr, "new"); !ok {
			t.Errorf("%s does not log in with the new password", c.addr)
		}
	}
	if _, err := SetPassword([]byte(editSample), "nobody@x.test", hashB); !errors.Is(err, ErrNoAccount) {
		t.Errorf("SetPassword(nobody) = %v, want ErrNoAccount", err)
	}
}

func TestRemove(t *testing.T) {
	for _, c := range []struct{ addr, want string }{
		{"A@x.test", "\xef\xbb\xbf" + strings.SplitN(editSample, "\r\n", 2)[1]},
		{"b@x.test", strings.NewReplacer("B@X.test:{PLAIN}b:1000:1000:Bob:/var/vmail/b::userdb_mail=maildir:~/Maildir\n", "",
			"b@x.test:{PLAIN}shadowed\n", "").Replace(editSample)},
		{"d@x.test", strings.TrimSuffix(editSample, "d@x.test")},
	} {
		out, err := Remove([]byte(editSample), c.addr)
		if err != nil || string(out) != c.want {
			t.Errorf("Remove(%s) = %q, %v\nwant %q", c.addr, out, err, c.want)
		}
		f, _ := Parse(strings.NewReader(string(out)), "f")
		if _, ok := f.Lookup(c.addr); ok {
			t.Errorf("%s is still an account", c.addr)
		}
	}
	if _, err := Remove([]byte(editSample), "nobody@x.test"); !errors.Is(err, ErrNoAccount) {
		t.Errorf("Remove(nobody) = %v, want ErrNoAccount", err)
	}
}

func TestEditRefusesBadInput(t *testing.T) {
	for _, addr := range []string{"", "alice", "a b@x.test", "a@x.test:{PLAIN}x", "a@x.test\nb@x.test", "a@@x.test", "#a@x.test", "a:b@x.test", "\x7f@x.test"} {
		if _, err := Add(nil, addr, hashB); err == nil {
			t.Errorf("Add(%q) succeeded", addr)
		}
		if _, err := Remove([]byte(editSample), addr); err == nil {
			t.Errorf("Remove(%q) succeeded", addr)
		}
	}
	for _, hash := range []string{"", "plain", "{PLAIN}a:b", "{PLAIN}a\nx@x.test:{PLAIN}x", "{MD5}x"} {
		if _, err := Add(nil, "a@x.test", hash); err == nil || strings.Contains(err.Error(), hash) && hash != "" {
			t.Errorf("Add with password field %q: %v", hash, err)
		}
	}
}

func TestAccountsAndScheme(t *testing.T) {
	f, _ := Parse(strings.NewReader(sampleFile), "f")
	var got []string
	for _, a := range f.Accounts() {
		got = append(got, a.Address+"="+a.Scheme())
	}
	want := "bob@example.test=BLF-CRYPT carol@other.test=PLAIN dave@third.test=PLAIN demo@example.test=ARGON2ID list@other.test="
	if strings.Join(got, " ") != want {
		t.Errorf("Accounts() = %q, want %q", got, want)
	}
	if (*File)(nil).Accounts() != nil {
		t.Error("nil File has accounts")
	}
}

// FuzzEdit checks that the edits change only the lines of the address
// they edit: after Add, SetPassword or Remove, the file parses to the
// same accounts as before except that one, and the edited account is
// what the edit said.
func FuzzEdit(f *testing.F) {
	f.Add(editSample, "b@x.test")
	f.Add("a@x.test:{PLAIN}a\n# x\na@x.test:{PLAIN}b", "a@x.test")
	f.Fuzz(func(t *testing.T, text, addr string) {
		before, errs := Parse(strings.NewReader(text), "f")
		if before == nil || len(errs) > 20 {
			return
		}
		key, err := CheckAddress(addr)
		if err != nil {
			return
		}
		same := func(after *File, op string) {
			for _, a := range before.Accounts() {
				if a.Address == key {
					continue
				}
				b, ok := after.Lookup(a.Address)
				if !ok || b.Home != a.Home || b.Extra != a.Extra || b.Scheme() != a.Scheme() {
					t.Fatalf("%s %s changed %s: %+v -> %+v", op, key, a.Address, a, b)
				}
			}
		}
		if out, err := Add([]byte(text), addr, hashB); err == nil {
			after, _ := Parse(strings.NewReader(string(out)), "f")
			if _, ok := after.Authenticate(key, "new"); !ok {
				t.Fatalf("Add: %s does not log in\n%q", key, out)
			}
			same(after, "Add")
		}
		if out, err := SetPassword([]byte(text), addr, hashB); err == nil {
			after, _ := Parse(strings.NewReader(string(out)), "f")
			if _, ok := after.Authenticate(key, "new"); !ok {
				t.Fatalf("SetPassword: %s does not log in\n%q", key, out)
			}
			same(after, "SetPassword")
		}
		if out, err := Remove([]byte(text), addr); err == nil {
			after, _ := Parse(strings.NewReader(string(out)), "f")
			if _, ok := after.Lookup(key); ok {
				t.Fatalf("Remove: %s is still there\n%q", key, out)
			}
			same(after, "Remove")
		}
	})
}

func TestSetPasswordKeepsOtherProblems(t *testing.T) {
	text := "a@x.test:{PLAIN}a::::relative/home\n"
	if out, err := SetPassword([]byte(text), "a@x.test", hashB); err == nil || !strings.Contains(err.Error(), "line 1") {
		t.Errorf("SetPassword on a line with a relative home = %q, %v; want an error naming line 1", out, err)
	}
}

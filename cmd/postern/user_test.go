package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"

	"postern.dev/postern/libmail/account"
)

// fakeTTY stands in for a terminal: it answers each prompt with the next
// password, and records the prompts.
type fakeTTY struct {
	mu        sync.Mutex
	terminal  bool
	passwords []string
	prompts   []string
}

func (f *fakeTTY) IsTerminal() bool { return f.terminal }

func (f *fakeTTY) ReadPassword(prompt string) ([]byte, error) {
	f.mu.Lock()
	defer f.mu.Unlock()
	f.prompts = append(f.prompts, prompt)
	if len(f.passwords) == 0 {
		return nil, errors.New("no more input")
	}
	pw := f.passwords[0]
	f.passwords = f.passwords[1:]
	return []byte(pw), nil
}

// userRun runs postern with stdin as its standard input (not a terminal)
// or, when tty is set, with tty as its terminal.
func userRun(stdin string, tty *fakeTTY, args ...string) (stdout, stderr string, code int) {
	var out, errb bytes.Buffer
	if tty == nil {
		tty = &fakeTTY{}
	}
	a := &app{stdin: strings.NewReader(stdin), tty: tty, stdout: &out, stderr: &errb}
	code = runWith(a, args)
	return out.String(), errb.String(), code
}

// loginOK reports whether the accounts file lets addr log in with pw.
func loginOK(t *testing.T, path, addr, pw string) bool {
	t.Helper()
	f, errs := account.Load(path)
	if f == nil {
		t.Fatalf("load %s: %v", path, errs)
	}
	_, ok := f.Authenticate(addr, pw)
	return ok
}

// TestUserAddPasswdDel: add, passwd and del change one account each and
// keep every other byte of the file (comments, Dovecot's fields, a line
// that does not parse) and its mode; the password comes from standard
// input when it is not a terminal, and is stored as an argon2id hash.
func TestUserAddPasswdDel(t *testing.T) {
	e := newTestEnv(t, "")
	const others = "# accounts, shared with Dovecot\n" +
		"demo@example.test:{PLAIN}demo::::/var/vmail/demo::userdb_quota_rule=*:storage=1G\n" +
		"broken line\n"
	path := e.write(t, "accounts", others, 0o640)

	out, errs, code := userRun("s3cret pass\n", nil, "-c", e.cfg, "user", "add", "New@Example.Test")
	if code != 0 || errs != "" || out != "postern: added new@example.test to "+path+"\n" {
		t.Fatalf("user add: exit %d, %q %q", code, out, errs)
	}
	text, _ := os.ReadFile(path)
	if !strings.HasPrefix(string(text), others+"new@example.test:{ARGON2ID}$argon2id$v=19$") || strings.Contains(string(text), "s3cret") {
		t.Errorf("after add:\n%s", text)
	}
	if !loginOK(t, path, "new@example.test", "s3cret pass") || !loginOK(t, path, "demo@example.test", "demo") {
		t.Error("after add, an account does not log in")
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Errorf("mode after add %v, want 0640 as before", st.Mode().Perm())
	}

	// passwd reads one line; what follows it is not the password.
	if out, errs, code := userRun("other pass\nignored\n", nil, "-c", e.cfg, "user", "passwd", "new@example.test"); code != 0 || !strings.Contains(out, "changed the password of new@example.test") {
		t.Fatalf("user passwd: exit %d, %q %q", code, out, errs)
	}
	if loginOK(t, path, "new@example.test", "s3cret pass") || !loginOK(t, path, "new@example.test", "other pass") {
		t.Error("after passwd, the old password works or the new one does not")
	}
	text, _ = os.ReadFile(path)
	if !strings.HasPrefix(string(text), others) {
		t.Errorf("passwd changed other lines:\n%s", text)
	}

	// passwd keeps the account's other fields.
	if _, errs, code := userRun("demo2\n", nil, "-c", e.cfg, "user", "passwd", "demo@example.test"); code != 0 {
		t.Fatalf("user passwd demo: exit %d, %q", code, errs)
	}
	text, _ = os.ReadFile(path)
	if !strings.Contains(string(text), "\ndemo@example.test:{ARGON2ID}") || !strings.Contains(string(text), "::::/var/vmail/demo::userdb_quota_rule=*:storage=1G\n") {
		t.Errorf("passwd lost demo's other fields:\n%s", text)
	}

	if out, errs, code := userRun("", nil, "-c", e.cfg, "user", "del", "new@example.test"); code != 0 || !strings.Contains(out, "removed new@example.test") {
		t.Fatalf("user del: exit %d, %q %q", code, out, errs)
	}
	text, _ = os.ReadFile(path)
	if strings.Contains(string(text), "new@example.test") || !strings.HasPrefix(string(text), "# accounts, shared with Dovecot\ndemo@example.test:{ARGON2ID}") || !strings.HasSuffix(string(text), "broken line\n") {
		t.Errorf("after del:\n%s", text)
	}
	if st, _ := os.Stat(path); st.Mode().Perm() != 0o640 {
		t.Errorf("mode after del %v, want 0640", st.Mode().Perm())
	}
	if left, _ := filepath.Glob(filepath.Join(e.dir, ".accounts.*")); len(left) != 0 {
		t.Errorf("temporary files left: %v", left)
	}
}

// TestUserPrompt: on a terminal the password is asked for twice (without
// echo, through the terminal); two different answers change nothing.
func TestUserPrompt(t *testing.T) {
	e := newTestEnv(t, "")
	path := filepath.Join(e.dir, "accounts")
	before, _ := os.ReadFile(path)
	tty := &fakeTTY{terminal: true, passwords: []string{"one", "two"}}
	_, errs, code := userRun("on stdin\n", tty, "-c", e.cfg, "user", "add", "new@example.test")
	if code != 1 || !strings.Contains(errs, "the passwords differ; nothing changed") {
		t.Errorf("different answers: exit %d, %q", code, errs)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Errorf("the file changed:\n%s", after)
	}
	tty = &fakeTTY{terminal: true, passwords: []string{"same", "same"}}
	if _, errs, code := userRun("on stdin\n", tty, "-c", e.cfg, "user", "add", "new@example.test"); code != 0 {
		t.Fatalf("user add on a terminal: exit %d, %q", code, errs)
	}
	if want := []string{"New password for new@example.test: ", "Retype it: "}; strings.Join(tty.prompts, "|") != strings.Join(want, "|") {
		t.Errorf("prompts %q, want %q", tty.prompts, want)
	}
	if !loginOK(t, path, "new@example.test", "same") || loginOK(t, path, "new@example.test", "on stdin") {
		t.Error("the password typed is not the one stored")
	}
}

// TestUserRefusals: what user refuses, with which exit status (1 for a
// failure, 2 for a usage error), and that it refuses before asking for a
// password; there is no way to give a password on the command line.
func TestUserRefusals(t *testing.T) {
	e := newTestEnv(t, "")
	path := filepath.Join(e.dir, "accounts")
	before, _ := os.ReadFile(path)
	for _, c := range []struct {
		stdin string
		args  []string
		code  int
		msg   string
	}{
		{"pw\n", []string{"add", "demo@example.test"}, 1, "account exists: demo@example.test (line 1)"},
		{"pw\n", []string{"add", "DEMO@example.test"}, 1, "account exists"},
		{"pw\n", []string{"passwd", "nobody@example.test"}, 1, "no such account: nobody@example.test"},
		{"", []string{"del", "nobody@example.test"}, 1, "no such account: nobody@example.test"},
		{"\n", []string{"add", "new@example.test"}, 1, "empty password; nothing changed"},
		{"", []string{"add", "new@example.test"}, 1, "read password from standard input: EOF"},
		{strings.Repeat("x", 2000) + "\n", []string{"add", "new@example.test"}, 1, "password longer than 1024 bytes"},
		{"a\x00b\n", []string{"add", "new@example.test"}, 1, "the password contains a NUL"},
		{"pw\n", []string{"add", "alice"}, 2, "not an account address"},
		{"pw\n", []string{"add", "a:b@example.test"}, 2, "not an account address"},
		{"pw\n", []string{"add", "#a@example.test"}, 2, "not an account address"},
		{"pw\n", []string{"add"}, 2, "one address expected"},
		{"pw\n", []string{"add", "a@example.test", "b@example.test"}, 2, "too many arguments"},
		{"pw\n", []string{"add", "a@example.test", "-p", "secret"}, 2, "flag provided but not defined: -p"},
		{"pw\n", []string{"add", "a@example.test", "-password=secret"}, 2, "flag provided but not defined"},
		{"pw\n", []string{}, 2, "missing subcommand"},
		{"pw\n", []string{"rename", "a@example.test"}, 2, "unknown subcommand rename"},
		{"pw\n", []string{"list", "extra"}, 2, "unexpected argument"},
	} {
		tty := &fakeTTY{}
		args := append([]string{"-c", e.cfg, "user"}, c.args...)
		out, errs, code := userRun(c.stdin, tty, args...)
		if code != c.code || !strings.Contains(errs, c.msg) || out != "" {
			t.Errorf("postern user %s: exit %d, %q %q; want %d and %q", strings.Join(c.args, " "), code, out, errs, c.code, c.msg)
		}
		if c.code == 2 && !strings.Contains(errs, "usage: postern user") {
			t.Errorf("postern user %s: no usage in %q", strings.Join(c.args, " "), errs)
		}
	}
	// Refused before the password is asked for.
	tty := &fakeTTY{terminal: true, passwords: []string{"x", "x"}}
	if _, _, code := userRun("", tty, "-c", e.cfg, "user", "add", "demo@example.test"); code != 1 || len(tty.prompts) != 0 {
		t.Errorf("add of an existing account: exit %d, prompts %q", code, tty.prompts)
	}
	if after, _ := os.ReadFile(path); !bytes.Equal(before, after) {
		t.Errorf("a refused command changed the file:\n%s", after)
	}
}

// TestUserConcurrent: runs that edit the file at once all keep their
// edit: the lock serializes them, and a run that waited on the file the
// other replaced starts over on the new one.
func TestUserConcurrent(t *testing.T) {
	e := newTestEnv(t, "")
	path := filepath.Join(e.dir, "accounts")
	const n = 8
	var wg sync.WaitGroup
	for i := range n {
		wg.Go(func() {
			if _, errs, code := userRun(fmt.Sprintf("pw%d\n", i), nil, "-c", e.cfg, "user", "add", fmt.Sprintf("u%d@example.test", i)); code != 0 {
				t.Errorf("add u%d: exit %d, %q", i, code, errs)
			}
		})
	}
	wg.Wait()
	f, errs := account.Load(path)
	if len(errs) != 0 || f.Len() != n+1 {
		t.Fatalf("%d accounts after %d concurrent adds, errors %v", f.Len(), n, errs)
	}
	for i := range n {
		if _, ok := f.Authenticate(fmt.Sprintf("u%d@example.test", i), fmt.Sprintf("pw%d", i)); !ok {
			t.Errorf("u%d does not log in", i)
		}
	}
}

// TestUserNewFile: add creates a missing accounts file with the rights of
// a secret (0600 for its user; 0640 root:postern when root makes it);
// list shows nothing for a missing file; a symbolic link to the file
// stays a link.
func TestUserNewFile(t *testing.T) {
	e := newTestEnv(t, "")
	path := filepath.Join(e.dir, "accounts")
	os.Remove(path)
	if out, errs, code := userRun("", nil, "-c", e.cfg, "user", "list"); code != 0 || out != "" || errs != "" {
		t.Errorf("list without a file: exit %d, %q %q", code, out, errs)
	}
	for _, sub := range []string{"del", "passwd"} {
		if _, errs, code := userRun("pw\n", nil, "-c", e.cfg, "user", sub, "demo@example.test"); code != 1 || !strings.Contains(errs, "no such account") {
			t.Errorf("%s without a file: exit %d, %q", sub, code, errs)
		}
		if _, err := os.Stat(path); !errors.Is(err, os.ErrNotExist) {
			t.Errorf("%s of a missing account made the file: %v", sub, err)
		}
	}
	if _, errs, code := userRun("pw\n", nil, "-c", e.cfg, "user", "add", "first@example.test"); code != 0 {
		t.Fatalf("add to a missing file: exit %d, %q", code, errs)
	}
	st, err := os.Stat(path)
	if err != nil {
		t.Fatal(err)
	}
	mode, gid, err := secretMode()
	if err != nil {
		t.Fatal(err)
	}
	if st.Mode().Perm() != mode || gid >= 0 && int(st.Sys().(*syscall.Stat_t).Gid) != gid {
		t.Errorf("new file has mode %v gid %d, want %v %d", st.Mode().Perm(), st.Sys().(*syscall.Stat_t).Gid, mode, gid)
	}
	if !loginOK(t, path, "first@example.test", "pw") {
		t.Error("the first account does not log in")
	}

	real := filepath.Join(e.dir, "shared-with-dovecot")
	if err := os.Rename(path, real); err != nil {
		t.Fatal(err)
	}
	if err := os.Symlink(real, path); err != nil {
		t.Fatal(err)
	}
	if _, errs, code := userRun("pw2\n", nil, "-c", e.cfg, "user", "add", "second@example.test"); code != 0 {
		t.Fatalf("add through a link: exit %d, %q", code, errs)
	}
	if fi, err := os.Lstat(path); err != nil || fi.Mode()&os.ModeSymlink == 0 {
		t.Errorf("the link was replaced: %v %v", fi.Mode(), err)
	}
	if !loginOK(t, real, "second@example.test", "pw2") {
		t.Error("the account did not reach the linked file")
	}
}

// TestUserList: one address a line, sorted; -j gives the scheme (which
// shows accounts still waiting for a stronger hash) and home; problems
// in the file are warnings.
func TestUserList(t *testing.T) {
	e := newTestEnv(t, "")
	e.write(t, "accounts", "zed@example.test:{PLAIN}z\n"+
		"amy@example.test:{BLF-CRYPT}$2b$04$ABCDEFGHIJKLMNOPQRSTUO3u1qT0zJtu7kiwEZ9DoDx8UjbUTGwF.::::/var/vmail/amy\n"+
		"list@example.test:\n"+
		"broken\n", 0o600)
	out, errs, code := userRun("", nil, "-c", e.cfg, "user", "list")
	if code != 0 || out != "amy@example.test\nlist@example.test\nzed@example.test\n" || !strings.Contains(errs, "accounts:4: missing password field") {
		t.Errorf("list: exit %d, %q %q", code, out, errs)
	}
	out, _, code = userRun("", nil, "-c", e.cfg, "user", "list", "-j")
	var got []userEntry
	if err := json.Unmarshal([]byte(out), &got); code != 0 || err != nil {
		t.Fatalf("list -j: exit %d, %v\n%s", code, err, out)
	}
	want := []userEntry{{"amy@example.test", "BLF-CRYPT", "/var/vmail/amy"}, {"list@example.test", "", ""}, {"zed@example.test", "PLAIN", ""}}
	if fmt.Sprint(got) != fmt.Sprint(want) {
		t.Errorf("list -j = %+v, want %+v", got, want)
	}
}

// TestUserAddWarnsNonLocal: an account outside mydestination can log in
// but receives nothing here; add says so.
func TestUserAddWarnsNonLocal(t *testing.T) {
	e := newTestEnv(t, "")
	_, errs, code := userRun("pw\n", nil, "-c", e.cfg, "user", "add", "someone@elsewhere.example")
	if code != 0 || !strings.Contains(errs, "warning: elsewhere.example is not in mydestination") {
		t.Errorf("add outside mydestination: exit %d, %q", code, errs)
	}
}

package account

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"sync"
	"testing"
)

const sampleFile = "# accounts shared with Dovecot\n" +
	"demo@example.test:{ARGON2ID}$argon2id$v=19$m=19456,t=2,p=1$cG9zdGVybi1zYWx0LTAxNg$cEOYAgkpiMrC6T39L7G5mQoH9sWqv6FVCkypybv3Ttk\n" +
	"\n" +
	"   # indented comment\n" +
	"Bob@Example.TEST:{BLF-CRYPT}$2b$04$ABCDEFGHIJKLMNOPQRSTUO3u1qT0zJtu7kiwEZ9DoDx8UjbUTGwF.:1000:1000:Bob:/var/vmail/example.test/bob::userdb_mail=maildir:~/Maildir quota=1G\r\n" +
	"carol@other.test:{PLAIN}carol-pw:::::\n" +
	"list@other.test:\n" +
	"dave@third.test:{plain}dave-pw:2000:2001::/home/dave\n"

func TestParseFile(t *testing.T) {
	f, errs := Parse(strings.NewReader(sampleFile), "accounts")
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs)
	}
	if f.Len() != 5 {
		t.Errorf("Len() = %d, want 5", f.Len())
	}
	tests := []struct {
		lookup   string
		address  string
		home     string
		uid, gid string
		extra    string
		password string // a password that verifies, or "" for none
	}{
		{"demo@example.test", "demo@example.test", "", "", "", "", "correct horse battery staple"},
		{"DEMO@example.TEST", "demo@example.test", "", "", "", "", "correct horse battery staple"},
		{"bob@example.test", "bob@example.test", "/var/vmail/example.test/bob", "1000", "1000", "userdb_mail=maildir:~/Maildir quota=1G", "s3cret pass"},
		{"carol@other.test", "carol@other.test", "", "", "", "", "carol-pw"},
		{"list@other.test", "list@other.test", "", "", "", "", ""},
		{"dave@third.test", "dave@third.test", "/home/dave", "2000", "2001", "", "dave-pw"},
	}
	for _, tt := range tests {
		a, ok := f.Lookup(tt.lookup)
		if !ok {
			t.Errorf("Lookup(%q) found nothing", tt.lookup)
			continue
		}
		if a.Address != tt.address || a.Home != tt.home || a.UID != tt.uid || a.GID != tt.gid || a.Extra != tt.extra {
			t.Errorf("Lookup(%q) = %+v", tt.lookup, a)
		}
		if tt.password == "" {
			if a.CanLogIn() || a.Verify("") || a.Verify("anything") {
				t.Errorf("%s: account without a password can log in", tt.address)
			}
			continue
		}
		if !a.CanLogIn() || !a.Verify(tt.password) {
			t.Errorf("%s: correct password rejected", tt.address)
		}
		if a.Verify("wrong") || a.Verify("") {
			t.Errorf("%s: wrong password accepted", tt.address)
		}
	}
	if _, ok := f.Lookup("nobody@example.test"); ok {
		t.Error("Lookup(nobody) found something")
	}
	want := []string{"example.test", "other.test", "third.test"}
	if got := f.Domains(); !reflect.DeepEqual(got, want) {
		t.Errorf("Domains() = %q, want %q", got, want)
	}
}

func TestParseFileErrors(t *testing.T) {
	tests := []struct {
		name    string
		input   string
		errs    []string
		address []string // addresses the file must still hold
	}{
		{
			name:    "unknown scheme",
			input:   "a@x.test:{MD5-CRYPT}$1$abc$def\nb@x.test:{PLAIN}b\n",
			errs:    []string{`f:1: password of a@x.test: unknown password scheme "{MD5-CRYPT}"`},
			address: []string{"b@x.test"},
		},
		{
			name:  "no scheme",
			input: "a@x.test:secret\n",
			errs:  []string{"f:1: password of a@x.test: password lacks a {SCHEME} prefix"},
		},
		{
			name:  "missing password field",
			input: "a@x.test\n",
			errs:  []string{"f:1: missing password field"},
		},
		{
			name:  "user not an address",
			input: "alice:{PLAIN}x\n@x.test:{PLAIN}x\na@:{PLAIN}x\na@b@c:{PLAIN}x\n:{PLAIN}x\n",
			errs: []string{
				`f:1: user "alice": not an address of the form local@domain`,
				`f:2: user "@x.test": not an address of the form local@domain`,
				`f:3: user "a@": not an address of the form local@domain`,
				`f:4: user "a@b@c": not an address of the form local@domain`,
				`f:5: user "": not an address of the form local@domain`,
			},
		},
		{
			name:  "bad characters in user",
			input: " a@x.test:{PLAIN}x\na b@x.test:{PLAIN}x\na@x_y!.test:{PLAIN}x\n\xff@x.test:{PLAIN}x\n",
			errs: []string{
				`f:1: user " a@x.test": unexpected ' ' in local part`,
				`f:2: user "a b@x.test": unexpected ' ' in local part`,
				`f:3: user "a@x_y!.test": unexpected '!' in domain`,
				`f:4: user "\xff@x.test": invalid UTF-8`,
			},
		},
		{
			name:  "relative home",
			input: "a@x.test:{PLAIN}x:1:1::vmail/a\n",
			errs:  []string{`f:1: home "vmail/a" of a@x.test is not an absolute path`},
		},
		{
			name:  "control character",
			input: "a@x.test:{PLAIN}x\x00y\n",
			errs:  []string{`f:1: control character '\x00'`},
		},
		{
			name:    "duplicate",
			input:   "a@x.test:{PLAIN}first\nA@X.TEST:{PLAIN}second\n",
			errs:    []string{"f:2: duplicate account a@x.test ignored, first defined on line 1"},
			address: []string{"a@x.test"},
		},
		{
			name:    "long line",
			input:   "a@x.test:{PLAIN}" + strings.Repeat("x", maxLine) + "\nb@x.test:{PLAIN}b",
			errs:    []string{fmt.Sprintf("f:1: line longer than %d bytes", maxLine)},
			address: []string{"b@x.test"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			f, errs := Parse(strings.NewReader(tt.input), "f")
			var got []string
			for _, err := range errs {
				got = append(got, err.Error())
				var pe *ParseError
				if !errors.As(err, &pe) {
					t.Errorf("error %v is not a *ParseError", err)
				}
			}
			if !reflect.DeepEqual(got, tt.errs) {
				t.Errorf("errors = %q, want %q", got, tt.errs)
			}
			if f.Len() != len(tt.address) {
				t.Errorf("Len() = %d, want %d", f.Len(), len(tt.address))
			}
			for _, a := range tt.address {
				if _, ok := f.Lookup(a); !ok {
					t.Errorf("Lookup(%q) found nothing", a)
				}
			}
		})
	}
}

func TestDuplicateKeepsFirst(t *testing.T) {
	f, errs := Parse(strings.NewReader("a@x.test:{PLAIN}first\nA@X.TEST:{PLAIN}second\n"), "f")
	if len(errs) != 1 || !errors.Is(errs[0], ErrDuplicate) {
		t.Fatalf("errors = %v, want one ErrDuplicate", errs)
	}
	a, _ := f.Lookup("a@x.test")
	if !a.Verify("first") || a.Verify("second") {
		t.Error("the second definition won")
	}
}

func TestLookupReturnsCopy(t *testing.T) {
	f, _ := Parse(strings.NewReader("a@x.test:{PLAIN}x::::/home/a\n"), "f")
	a, _ := f.Lookup("a@x.test")
	a.Home = "/tmp/evil"
	b, _ := f.Lookup("a@x.test")
	if b.Home != "/home/a" {
		t.Error("modifying a Lookup result changed the File")
	}
	d := f.Domains()
	d[0] = "evil.test"
	if f.Domains()[0] != "x.test" {
		t.Error("modifying Domains' result changed the File")
	}
}

func TestAuthenticate(t *testing.T) {
	f, _ := Parse(strings.NewReader("a@x.test:{PLAIN}pw\nb@x.test:\n"), "f")
	if a, ok := f.Authenticate("A@x.test", "pw"); !ok || a.Address != "a@x.test" {
		t.Errorf("Authenticate(good) = %v, %v", a, ok)
	}
	for _, c := range []struct{ addr, pw string }{{"a@x.test", "bad"}, {"b@x.test", ""}, {"nobody@x.test", "pw"}} {
		if a, ok := f.Authenticate(c.addr, c.pw); ok || a != nil {
			t.Errorf("Authenticate(%q, %q) = %v, %v; want failure", c.addr, c.pw, a, ok)
		}
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestParseReadError(t *testing.T) {
	f, errs := Parse(failingReader{}, "f")
	if f != nil || len(errs) != 1 || !strings.Contains(errs[0].Error(), "disk on fire") {
		t.Errorf("Parse = %v, %v; want nil File and the read error", f, errs)
	}
	if f.Len() != 0 || f.Domains() != nil {
		t.Error("nil File has accounts")
	}
	if _, ok := f.Lookup("a@x.test"); ok {
		t.Error("nil File found an account")
	}
}

func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "accounts")
	if err := os.WriteFile(path, []byte("a@x.test:{PLAIN}x\nbroken\n"), 0o600); err != nil {
		t.Fatal(err)
	}
	f, errs := Load(path)
	if len(errs) != 1 || errs[0].Error() != path+":2: missing password field" {
		t.Errorf("Load errors = %v", errs)
	}
	if f.Len() != 1 {
		t.Errorf("Len() = %d, want 1", f.Len())
	}
	if _, errs := Load(filepath.Join(t.TempDir(), "missing")); len(errs) != 1 || !errors.Is(errs[0], os.ErrNotExist) {
		t.Errorf("Load(missing) errors = %v", errs)
	}
}

func TestConcurrentUse(t *testing.T) {
	f, _ := Parse(strings.NewReader("a@x.test:{PLAIN}pw\n"), "f")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 200 {
				if _, ok := f.Authenticate("a@x.test", "pw"); !ok {
					t.Error("Authenticate failed")
					return
				}
				f.Domains()
			}
		})
	}
	wg.Wait()
}

package alias

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

const sample = "\xef\xbb\xbf# Basic system aliases\n" +
	"MAILER-DAEMON: postmaster\n" +
	"postmaster: root\n" +
	"\n" +
	"staff: alice, bob@example.test,\n" +
	"  # a comment inside an entry does not end it\n" +
	"\t:include:/etc/mail/staff,\n" +
	"    \"|/usr/bin/archive --list staff\"\r\n" +
	"\"help desk\": carol\n" +
	"john.doe@example.test: \"john doe\"@example.test, /var/mail/john.copy\n" +
	"bot: |/usr/local/bin/bot -q, \\bot\n" +
	"   \n" +
	"root: admin\n"

func TestParse(t *testing.T) {
	tab, errs := Parse(strings.NewReader(sample), "aliases")
	if len(errs) != 0 {
		t.Fatalf("Parse errors: %v", errs)
	}
	tests := []struct {
		name string
		want []Target
	}{
		{"mailer-daemon", []Target{{Address, "postmaster"}}},
		{"MAILER-DAEMON", []Target{{Address, "postmaster"}}},
		{"PostMaster", []Target{{Address, "root"}}},
		{"staff", []Target{
			{Address, "alice"},
			{Address, "bob@example.test"},
			{Include, "/etc/mail/staff"},
			{Command, "/usr/bin/archive --list staff"},
		}},
		{"help desk", []Target{{Address, "carol"}}},
		{`"Help Desk"`, []Target{{Address, "carol"}}},
		{"John.Doe@Example.TEST", []Target{{Address, `"john doe"@example.test`}, {File, "/var/mail/john.copy"}}},
		{"bot", []Target{{Command, "/usr/local/bin/bot -q"}, {Address, "bot"}}},
		{"root", []Target{{Address, "admin"}}},
	}
	for _, tt := range tests {
		got, ok := tab.Lookup(tt.name)
		if !ok {
			t.Errorf("Lookup(%q) found nothing", tt.name)
			continue
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("Lookup(%q) = %+v, want %+v", tt.name, got, tt.want)
		}
	}
	if tab.Len() != 7 {
		t.Errorf("Len() = %d, want 7", tab.Len())
	}
	if _, ok := tab.Lookup("nobody"); ok {
		t.Error("Lookup(nobody) found something")
	}
}

func TestParseErrors(t *testing.T) {
	tests := []struct {
		name  string
		input string
		errs  []string
		names []string // names the table must still hold
	}{
		{
			name:  "no colon",
			input: "a: b\njust some words\nc: d\n",
			errs:  []string{"f:2: missing colon after name"},
			names: []string{"a", "c"},
		},
		{
			name:  "empty name",
			input: ": b\n\"\": c\n",
			errs:  []string{"f:1: empty name", `f:2: invalid name "\"\"": empty local part`},
		},
		{
			name:  "bad name",
			input: "foo bar: x\n",
			errs:  []string{`f:1: invalid name "foo bar": unexpected ' '`},
		},
		{
			name:  "no values",
			input: "a:\nb: ,  ,\n",
			errs:  []string{`f:1: no values for "a"`, `f:2: no values for "b"`},
		},
		{
			name:  "bad values reported on their own lines",
			input: "a: ok,\n  /tmp/a b,\n  x y\nb: c\n",
			errs: []string{
				`f:2: invalid value "/tmp/a b": path "/tmp/a b" must be written in double quotes`,
				`f:3: invalid value "x y": unexpected ' '`,
			},
			names: []string{"b"},
		},
		{
			name:  "unterminated quote",
			input: "a: \"b, c\nd: e\n",
			errs:  []string{"f:1: unterminated quoted string"},
			names: []string{"d"},
		},
		{
			name:  "unterminated quote in name",
			input: "\"a: b\n",
			errs:  []string{"f:1: unterminated quoted string in name"},
		},
		{
			name:  "orphan continuation",
			input: "  a: b\n  c\nd: e\n",
			errs:  []string{"f:1: continuation line without an entry to continue"},
			names: []string{"d"},
		},
		{
			name:  "duplicate",
			input: "a: b\nA: c\n",
			errs:  []string{`f:2: duplicate name "A" ignored, first defined on line 1`},
			names: []string{"a"},
		},
		{
			name:  "control character",
			input: "a: b\x00c\nd: e\n",
			errs:  []string{`f:1: control character '\x00'`},
			names: []string{"d"},
		},
		{
			name:  "control character in continuation drops the entry",
			input: "a: b,\n  c\x1b\nd: e\n",
			errs:  []string{`f:2: control character '\x1b'`},
			names: []string{"d"},
		},
		{
			name:  "invalid UTF-8",
			input: "a: b\xff\n",
			errs:  []string{"f:1: invalid UTF-8"},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			tab, errs := Parse(strings.NewReader(tt.input), "f")
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
			if tab.Len() != len(tt.names) {
				t.Errorf("Len() = %d, want %d", tab.Len(), len(tt.names))
			}
			for _, n := range tt.names {
				if _, ok := tab.Lookup(n); !ok {
					t.Errorf("Lookup(%q) found nothing", n)
				}
			}
		})
	}
}

func TestDuplicateIsWarning(t *testing.T) {
	tab, errs := Parse(strings.NewReader("a: first\na: second\nb\n"), "f")
	if len(errs) != 2 {
		t.Fatalf("errors = %v, want 2", errs)
	}
	if !IsWarning(errs[0]) || !errors.Is(errs[0], ErrDuplicate) {
		t.Errorf("%v is not a warning", errs[0])
	}
	if IsWarning(errs[1]) {
		t.Errorf("%v is a warning", errs[1])
	}
	got, _ := tab.Lookup("a")
	if want := []Target{{Address, "first"}}; !reflect.DeepEqual(got, want) {
		t.Errorf("Lookup(a) = %+v, want %+v", got, want)
	}
}

func TestParseLongLine(t *testing.T) {
	long := strings.Repeat("x", maxLine+10)
	input := "a: b\nc: " + long + "\n  continued\nd: e\n  " + long + "\n# " + long + "\nf: g"
	tab, errs := Parse(strings.NewReader(input), "f")
	want := []string{
		fmt.Sprintf("f:2: line longer than %d bytes", maxLine),
		fmt.Sprintf("f:5: line longer than %d bytes", maxLine),
	}
	var got []string
	for _, err := range errs {
		got = append(got, err.Error())
	}
	if !reflect.DeepEqual(got, want) {
		t.Errorf("errors = %q, want %q", got, want)
	}
	for name, want := range map[string]bool{"a": true, "c": false, "d": false, "f": true} {
		if _, ok := tab.Lookup(name); ok != want {
			t.Errorf("Lookup(%q) found = %v, want %v", name, ok, want)
		}
	}
}

type failingReader struct{}

func (failingReader) Read([]byte) (int, error) { return 0, errors.New("disk on fire") }

func TestParseReadError(t *testing.T) {
	tab, errs := Parse(failingReader{}, "f")
	if tab != nil || len(errs) != 1 || !strings.Contains(errs[0].Error(), "disk on fire") {
		t.Errorf("Parse = %v, %v; want nil table and the read error", tab, errs)
	}
	if tab.Len() != 0 {
		t.Error("nil table has entries")
	}
	if _, ok := tab.Lookup("a"); ok {
		t.Error("nil table found a name")
	}
}

func TestLoad(t *testing.T) {
	path := filepath.Join(t.TempDir(), "aliases")
	if err := os.WriteFile(path, []byte("a: b\nbroken\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	tab, errs := Load(path)
	if len(errs) != 1 || errs[0].Error() != path+":2: missing colon after name" {
		t.Errorf("Load errors = %v", errs)
	}
	if tab.Len() != 1 {
		t.Errorf("Len() = %d, want 1", tab.Len())
	}
	if _, errs := Load(filepath.Join(t.TempDir(), "missing")); len(errs) != 1 || !errors.Is(errs[0], os.ErrNotExist) {
		t.Errorf("Load(missing) errors = %v", errs)
	}
}

func TestLookupReturnsCopy(t *testing.T) {
	tab, _ := Parse(strings.NewReader("a: b, c\n"), "f")
	got, _ := tab.Lookup("a")
	got[0].Value = "changed"
	again, _ := tab.Lookup("a")
	if again[0].Value != "b" {
		t.Error("modifying a Lookup result changed the table")
	}
}

func TestConcurrentLookup(t *testing.T) {
	tab, _ := Parse(strings.NewReader(sample), "aliases")
	var wg sync.WaitGroup
	for range 8 {
		wg.Go(func() {
			for range 1000 {
				if _, ok := tab.Lookup("staff"); !ok {
					t.Error("Lookup(staff) failed")
					return
				}
			}
		})
	}
	wg.Wait()
}

func bigTable(n int) string {
	var b strings.Builder
	for i := range n {
		fmt.Fprintf(&b, "user%d: target%d@example.test, other%d\n", i, i, i)
	}
	return b.String()
}

func TestLargeTable(t *testing.T) {
	// How fast is BenchmarkParse100k's to say, not a timed test's.
	input := bigTable(100000)
	tab, errs := Parse(strings.NewReader(input), "big")
	if len(errs) != 0 {
		t.Fatalf("errors: %v", errs[:1])
	}
	if tab.Len() != 100000 {
		t.Fatalf("Len() = %d", tab.Len())
	}
	got, ok := tab.Lookup("USER99999")
	if !ok || got[0].Value != "target99999@example.test" {
		t.Errorf("Lookup(USER99999) = %v, %v", got, ok)
	}
}

func BenchmarkParse100k(b *testing.B) {
	input := bigTable(100000)
	b.SetBytes(int64(len(input)))
	for b.Loop() {
		Parse(strings.NewReader(input), "big")
	}
}

func BenchmarkLookup(b *testing.B) {
	tab, _ := Parse(strings.NewReader(bigTable(100000)), "big")
	for b.Loop() {
		tab.Lookup("user5000")
	}
}

package alias

import (
	"os"
	"path/filepath"
	"reflect"
	"strings"
	"testing"
)

func TestParseList(t *testing.T) {
	tests := []struct {
		name  string
		input string
		want  []Target
		errs  []string
	}{
		{
			name:  "forward file",
			input: "# keep a copy\n\\joe, joe@example.test\n\"|/usr/bin/vacation joe\"\n",
			want:  []Target{{Address, "joe"}, {Address, "joe@example.test"}, {Command, "/usr/bin/vacation joe"}},
		},
		{
			name:  "one per line, indented, trailing commas",
			input: "  alice,\n\tbob,\r\n\n/var/mail/archive\n:include:/etc/more\n",
			want:  []Target{{Address, "alice"}, {Address, "bob"}, {File, "/var/mail/archive"}, {Include, "/etc/more"}},
		},
		{
			name:  "empty",
			input: "",
		},
		{
			name:  "errors keep the good values",
			input: "alice, bad value, bob\n\"open\ncarol\n",
			want:  []Target{{Address, "alice"}, {Address, "bob"}, {Address, "carol"}},
			errs: []string{
				`l:1: invalid value "bad value": unexpected ' '`,
				"l:2: unterminated quoted string",
			},
		},
		{
			name:  "no continuation lines in lists",
			input: "|/bin/prog\n  -x\n",
			want:  []Target{{Command, "/bin/prog"}, {Address, "-x"}},
		},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, errs := ParseList(strings.NewReader(tt.input), "l")
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("targets = %+v, want %+v", got, tt.want)
			}
			var gotErrs []string
			for _, err := range errs {
				gotErrs = append(gotErrs, err.Error())
			}
			if !reflect.DeepEqual(gotErrs, tt.errs) {
				t.Errorf("errors = %q, want %q", gotErrs, tt.errs)
			}
		})
	}
}

func TestLoadList(t *testing.T) {
	path := filepath.Join(t.TempDir(), ".forward")
	if err := os.WriteFile(path, []byte("a, b\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	got, errs := LoadList(path)
	if len(errs) != 0 || len(got) != 2 {
		t.Errorf("LoadList = %v, %v", got, errs)
	}
	if _, errs := LoadList(filepath.Join(t.TempDir(), "missing")); len(errs) != 1 {
		t.Errorf("LoadList(missing) errors = %v", errs)
	}
}

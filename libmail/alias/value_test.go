package alias

import (
	"reflect"
	"testing"
)

func TestSplitValues(t *testing.T) {
	tests := []struct {
		in      string
		want    []string
		wantErr bool
	}{
		{"a, b,c", []string{"a", "b", "c"}, false},
		{" a ,, b, ", []string{"a", "b"}, false},
		{`"x, y"@d, z`, []string{`"x, y"@d`, "z"}, false},
		{`|/bin/sh -c "a, b", c`, []string{`|/bin/sh -c "a, b"`, "c"}, false},
		{`a\,b, c`, []string{`a\,b`, "c"}, false},
		{`"a\", b", c`, []string{`"a\", b"`, "c"}, false},
		{"", nil, false},
		{`a, "open, b`, []string{"a"}, true},
	}
	for _, tt := range tests {
		items, _, err := splitValues(tt.in)
		if (err != nil) != tt.wantErr {
			t.Errorf("splitValues(%q) error = %v, want error %v", tt.in, err, tt.wantErr)
		}
		var got []string
		for _, it := range items {
			got = append(got, it.text)
			if tt.in[it.off:it.off+len(it.text)] != it.text {
				t.Errorf("splitValues(%q): item %q has wrong offset %d", tt.in, it.text, it.off)
			}
		}
		if !reflect.DeepEqual(got, tt.want) {
			t.Errorf("splitValues(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestParseValue(t *testing.T) {
	tests := []struct {
		in   string
		want Target // zero means an error is expected
	}{
		{"user", Target{Address, "user"}},
		{"user@example.test", Target{Address, "user@example.test"}},
		{`"quoted local"@example.test`, Target{Address, `"quoted local"@example.test`}},
		{`"plain"@example.test`, Target{Address, "plain@example.test"}},
		{`\user`, Target{Address, "user"}},
		{`"quoted local"`, Target{Address, `"quoted local"`}},
		{`"user@example.test"`, Target{Address, `"user@example.test"`}},
		{":include:/etc/mail/staff", Target{Include, "/etc/mail/staff"}},
		{":INCLUDE: /etc/mail/staff", Target{Include, "/etc/mail/staff"}},
		{`":include:/etc/mail/my staff"`, Target{Include, "/etc/mail/my staff"}},
		{"|/usr/bin/prog -x", Target{Command, "/usr/bin/prog -x"}},
		{"| /usr/bin/prog", Target{Command, "/usr/bin/prog"}},
		{`"|/usr/bin/prog -x"`, Target{Command, "/usr/bin/prog -x"}},
		{`"|/usr/bin/prog \"a b\""`, Target{Command, `/usr/bin/prog "a b"`}},
		{`|/bin/sh -c "echo a, b"`, Target{Command, `/bin/sh -c "echo a, b"`}},
		{"/var/mail/archive", Target{File, "/var/mail/archive"}},
		{`"/var/mail/my archive"`, Target{File, "/var/mail/my archive"}},
		{"/var/mail/a b", Target{}},
		{`/var/mail/a"b"`, Target{}},
		{":include:", Target{}},
		{":include:relative", Target{}},
		{`":include:relative"`, Target{}},
		{"|", Target{}},
		{"|   ", Target{}},
		{`"|  "`, Target{}},
		{`""`, Target{}},
		{`"a" b`, Target{}},
		{"user@", Target{}},
		{"a b", Target{}},
		{"<user@example.test>", Target{}},
		{"Joe <joe@example.test>", Target{}},
		{`\/x`, Target{}},
		{`\|x`, Target{}},
		{`\:include:/x`, Target{}},
		{`\/x@example.test`, Target{Address, `"/x"@example.test`}},
	}
	for _, tt := range tests {
		got, err := parseValue(tt.in)
		if tt.want == (Target{}) {
			if err == nil {
				t.Errorf("parseValue(%q) = %+v, want error", tt.in, got)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseValue(%q): %v", tt.in, err)
			continue
		}
		if got != tt.want {
			t.Errorf("parseValue(%q) = %+v, want %+v", tt.in, got, tt.want)
		}
	}
}

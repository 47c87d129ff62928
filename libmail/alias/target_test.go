package alias

import "testing"

func TestTargetString(t *testing.T) {
	tests := []struct {
		t    Target
		want string
	}{
		{Target{Address, "user@example.test"}, "user@example.test"},
		{Target{Address, `"john doe"@example.test`}, `"john doe"@example.test`},
		{Target{Include, "/etc/mail/staff"}, ":include:/etc/mail/staff"},
		{Target{Include, "/etc/mail/my staff"}, `":include:/etc/mail/my staff"`},
		{Target{Command, "/usr/bin/prog -x"}, `"|/usr/bin/prog -x"`},
		{Target{Command, `/bin/sh -c "a\b"`}, `"|/bin/sh -c \"a\\b\""`},
		{Target{File, "/var/mail/archive"}, "/var/mail/archive"},
		{Target{File, "/var/mail/a,b"}, `"/var/mail/a,b"`},
		{Target{File, "/var/mail/a b"}, `"/var/mail/a b"`},
	}
	for _, tt := range tests {
		got := tt.t.String()
		if got != tt.want {
			t.Errorf("%+v.String() = %q, want %q", tt.t, got, tt.want)
		}
		back, err := parseValue(got)
		if err != nil {
			t.Errorf("parseValue(%q): %v", got, err)
		} else if back != tt.t {
			t.Errorf("parseValue(%q) = %+v, want %+v", got, back, tt.t)
		}
	}
}

func TestKindString(t *testing.T) {
	for k, want := range map[Kind]string{Address: "address", Include: "include", Command: "command", File: "file", 0: "Kind(0)"} {
		if got := k.String(); got != want {
			t.Errorf("Kind(%d).String() = %q, want %q", int(k), got, want)
		}
	}
}

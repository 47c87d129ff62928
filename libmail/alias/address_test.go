package alias

import "testing"

func TestParseAddress(t *testing.T) {
	tests := []struct {
		in   string
		want string // canonical form; empty means an error is expected
	}{
		{"postmaster", "postmaster"},
		{"Postmaster", "Postmaster"},
		{"user@example.test", "user@example.test"},
		{"first.last+tag@Example.TEST", "first.last+tag@Example.TEST"},
		{`"postmaster"`, "postmaster"},
		{`"john doe"@example.test`, `"john doe"@example.test`},
		{`"a\"b"@example.test`, `"a\"b"@example.test`},
		{`"a\\b"`, `"a\\b"`},
		{`\root`, "root"},
		{`a\ b`, `"a b"`},
		{"a..b", "a..b"},
		{"jöhn@exämple.test", "jöhn@exämple.test"},
		{"user@[192.0.2.1]", "user@[192.0.2.1]"},
		{"user@[IPv6:2001:db8::1]", "user@[IPv6:2001:db8::1]"},
		{`"|cmd"@example.test`, `"|cmd"@example.test`},
		{`"#x"`, `"#x"`},
		{"", ""},
		{`""`, ""},
		{"@example.test", ""},
		{"user@", ""},
		{"a@b@c", ""},
		{"a b", ""},
		{"a(b)", ""},
		{`"open`, ""},
		{`"a"b`, ""},
		{`a\`, ""},
		{"user@exa mple", ""},
		{"user@[1.2.3.4", ""},
		{"user@[]", ""},
		{"user@[a b]", ""},
	}
	for _, tt := range tests {
		a, err := parseAddress(tt.in)
		if tt.want == "" {
			if err == nil {
				t.Errorf("parseAddress(%q) = %q, want error", tt.in, a)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseAddress(%q): %v", tt.in, err)
			continue
		}
		if got := a.String(); got != tt.want {
			t.Errorf("parseAddress(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestLookupKey(t *testing.T) {
	tests := []struct{ in, want string }{
		{"Postmaster", "postmaster"},
		{"USER@Example.Test", "user@example.test"},
		{`"Postmaster"`, "postmaster"},
		{`"John Doe"@example.test`, `"john doe"@example.test`},
		{"John Doe@example.test", `"john doe"@example.test`},
		{"john doe", `"john doe"`},
		{"/tmp/x", `"/tmp/x"`},
		{`"broken`, `"broken`},
	}
	for _, tt := range tests {
		if got := lookupKey(tt.in); got != tt.want {
			t.Errorf("lookupKey(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

package smtpd

import (
	"reflect"
	"testing"
)

func TestParseCommand(t *testing.T) {
	tests := []struct {
		line string
		want command
	}{
		{"EHLO client.example", command{"EHLO", "client.example"}},
		{"ehlo  client.example  ", command{"EHLO", "client.example"}},
		{"QUIT", command{"QUIT", ""}},
		{"mail FROM:<a@b>", command{"MAIL", "FROM:<a@b>"}},
		{"", command{"", ""}},
		{"   ", command{"", ""}},
	}
	for _, tt := range tests {
		if got := parseCommand([]byte(tt.line)); got != tt.want {
			t.Errorf("parseCommand(%q) = %+v, want %+v", tt.line, got, tt.want)
		}
	}
}

func TestParsePath(t *testing.T) {
	tests := []struct {
		arg, prefix string
		ok          bool
		addr        string
		params      map[string]string
	}{
		{"FROM:<alice@example.org>", "FROM:", true, "alice@example.org", nil},
		{"from:<alice@example.org>", "FROM:", true, "alice@example.org", nil},
		{"FROM: <alice@example.org>", "FROM:", true, "alice@example.org", nil},
		{"FROM:<>", "FROM:", true, "", nil},
		{"FROM:alice@example.org", "FROM:", true, "alice@example.org", nil},
		{"FROM:<a@b> SIZE=10 body=8bitmime", "FROM:", true, "a@b", map[string]string{"SIZE": "10", "BODY": "8bitmime"}},
		{"FROM:<a@b> SMTPUTF8", "FROM:", true, "a@b", map[string]string{"SMTPUTF8": ""}},
		{`TO:<"john doe"@example.test>`, "TO:", true, "john doe@example.test", nil},
		{`TO:<"a\"b"@example.test>`, "TO:", true, `a"b@example.test`, nil},
		{`TO:<"a>b"@example.test>`, "TO:", true, "a>b@example.test", nil},
		{"TO:<@relay.example,@r2.example:demo@example.test>", "TO:", true, "demo@example.test", nil},
		{"TO:<postmaster>", "TO:", true, "postmaster", nil},
		{"TO:<a@[192.0.2.1]>", "TO:", true, "a@[192.0.2.1]", nil},
		// Refused.
		{"FROM:<a@b", "FROM:", false, "", nil},
		{"FROM:<a@b>x", "FROM:", false, "", nil},
		{"FROM:<a@b> =x", "FROM:", false, "", nil},
		{"TO:<a@b>", "FROM:", false, "", nil},
		{"FRO", "FROM:", false, "", nil},
		{`TO:<"unterminated@example.test>`, "TO:", false, "", nil},
		{`TO:<a"b@example.test>`, "TO:", false, "", nil},
		{`TO:<"a"b@example.test>`, "TO:", false, "", nil},
		{"TO:<@relay.example>", "TO:", false, "", nil},
	}
	for _, tt := range tests {
		p, ok := parsePath(tt.arg, tt.prefix)
		if ok != tt.ok {
			t.Errorf("parsePath(%q) ok = %v, want %v", tt.arg, ok, tt.ok)
			continue
		}
		if !ok {
			continue
		}
		if p.addr != tt.addr || !reflect.DeepEqual(p.params, tt.params) {
			t.Errorf("parsePath(%q) = %q %v, want %q %v", tt.arg, p.addr, p.params, tt.addr, tt.params)
		}
	}
}

func TestPrintable(t *testing.T) {
	if got := printable("a\x00b\r\nc\x7fd"); got != "a?b??c?d" {
		t.Errorf("printable = %q", got)
	}
	if got := printable("δοκιμή"); got != "δοκιμή" {
		t.Errorf("printable changed UTF-8: %q", got)
	}
}

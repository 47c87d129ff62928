package sasl

import (
	"errors"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"postern.dev/postern/libmail/textfile"
)

func TestParsePasswords(t *testing.T) {
	in := "\xef\xbb\xbf# smarthosts\n" +
		"[Relay.Example.com]:587\tuser@example.com:pa:ss word  \n" +
		"\n" +
		"   # an indented comment\n" +
		"relay.example.net   u:p\r\n" +
		"[10.0.0.1] u2:p2\n"
	p, errs := ParsePasswords(strings.NewReader(in), "sasl_passwd")
	if len(errs) > 0 {
		t.Fatal(errs)
	}
	for _, tt := range []struct {
		keys []string
		want Secret
		key  string
		ok   bool
	}{
		{[]string{"[relay.example.com]:587"}, Secret{"user@example.com", "pa:ss word"}, "[relay.example.com]:587", true},
		{[]string{"relay.example.net:25", "relay.example.net"}, Secret{"u", "p"}, "relay.example.net", true},
		{[]string{"[10.0.0.1]"}, Secret{"u2", "p2"}, "[10.0.0.1]", true},
		{[]string{"[relay.example.com]", "relay.example.com"}, Secret{}, "", false},
	} {
		got, key, ok := p.Lookup(tt.keys...)
		if got != tt.want || key != tt.key || ok != tt.ok {
			t.Errorf("Lookup(%q) = %+v, %q, %v", tt.keys, got, key, ok)
		}
	}
	if p.Len() != 3 {
		t.Errorf("Len() = %d", p.Len())
	}
}

// TestParsePasswordsErrors: each bad line is reported at FILE:LINE,
// without the password, and the good lines are kept.
func TestParsePasswordsErrors(t *testing.T) {
	lines := []struct {
		line, err string
	}{
		{"relay.example.com u:secret", ""},
		{"relay.example.com u:secret2", "relay.example.com is given again (first on line 1)"},
		{"relay.example.org", "no USERNAME:PASSWORD"},
		{"relay.example.org usersecret", "no colon"},
		{"relay.example.org :secret", "empty user name"},
		{"relay.example.org u:", "empty password"},
		{"  relay.example.org u:secret", "continuation lines are not supported"},
		{"user@example.org u:secret", "entries by sender address are not supported"},
		{"[relay.example.org u:secret", "missing ]"},
		{"[relay.example.org]:submission u:secret", "bad port"},
		{"relay.example.org u:sec\x00ret", "control character"},
		{"relay.example.org u:" + strings.Repeat("s", maxPasswordLine), "line longer than"},
	}
	var in strings.Builder
	var want []string
	for i, l := range lines {
		in.WriteString(l.line + "\n")
		if l.err != "" {
			want = append(want, "sasl_passwd:"+strconv.Itoa(i+1)+": ")
		}
	}
	p, errs := ParsePasswords(strings.NewReader(in.String()), "sasl_passwd")
	if len(errs) != len(want) {
		t.Fatalf("%d errors, want %d: %v", len(errs), len(want), errs)
	}
	k := 0
	for _, l := range lines {
		if l.err == "" {
			continue
		}
		e := errs[k]
		var pe *textfile.ParseError
		if !errors.As(e, &pe) || !strings.HasPrefix(e.Error(), want[k]) || !strings.Contains(e.Error(), l.err) {
			t.Errorf("error %q, want %q...%q", e, want[k], l.err)
		}
		if strings.Contains(e.Error(), "secret") || strings.Contains(e.Error(), "sss") {
			t.Errorf("error quotes the password: %v", e)
		}
		k++
	}
	if s, _, ok := p.Lookup("relay.example.com"); !ok || s.Password != "secret" {
		t.Errorf("the first entry is not kept: %+v", s)
	}
}

func TestLoadPasswordsMissing(t *testing.T) {
	p, errs := LoadPasswords(filepath.Join(t.TempDir(), "none"))
	if p != nil || len(errs) != 1 || !errors.Is(errs[0], os.ErrNotExist) {
		t.Errorf("missing file: %v, %v", p, errs)
	}
}

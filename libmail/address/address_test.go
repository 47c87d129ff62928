package address

import (
	"errors"
	"strings"
	"testing"
)

func TestCheck(t *testing.T) {
	for _, tc := range []struct {
		addr string
		utf8 bool
		err  error
	}{
		{"user@example.test", false, nil},
		{"User.Name+tag@Example.TEST", false, nil},
		{"john doe@example.test", false, nil},
		{"a@b@example.test", false, nil},
		{"user@[192.0.2.1]", false, nil},
		{"user@[IPv6:2001:db8::1]", false, nil},
		{"user@[2001:db8::1]", false, ErrBadDomain},
		{"user@[IPv6:192.0.2.1]", false, ErrBadDomain},
		{"δοκιμή@παράδειγμα.δοκιμή", true, nil},
		{"δοκιμή@example.test", false, ErrNotASCII},
		{"", false, ErrEmpty},
		{"postmaster", false, ErrNoDomain},
		{"@example.test", false, ErrNoDomain},
		{"user@", false, ErrNoDomain},
		{"us\x00er@example.test", false, ErrBadChar},
		{"user@exa mple.test", false, ErrBadDomain},
		{"user@-bad.test", false, ErrBadDomain},
		{"user@bad..test", false, ErrBadDomain},
		{"user@example.test.", false, ErrBadDomain},
		{"\xff@example.test", true, ErrBadUTF8},
		{string(make([]byte, 65)) + "@x.test", false, ErrTooLong},
	} {
		err := Check(tc.addr, tc.utf8)
		if !errors.Is(err, tc.err) {
			t.Errorf("Check(%q, %v) = %v, want %v", tc.addr, tc.utf8, err, tc.err)
		}
	}
}

// TestAppendPath: the wire form of an address in MAIL FROM and RCPT TO
// (RFC 5321 §4.1.2). The local parts that are not Dot-strings are the
// ones an unquoted writer mangles or lets inject parameters through.
func TestAppendPath(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"", ""}, // the null sender
		{"user@example.test", "user@example.test"},
		{"first.last@example.test", "first.last@example.test"},
		{"o'brien+x@example.test", "o'brien+x@example.test"},
		{"a=b@example.test", "a=b@example.test"}, // '=' is atext
		{"!#$%&'*+-/=?^_`{|}~@example.test", "!#$%&'*+-/=?^_`{|}~@example.test"},
		{"postmaster", "postmaster"},
		{"john doe@example.test", `"john doe"@example.test`},
		{"john doe", `"john doe"`},
		{`a"b@example.test`, `"a\"b"@example.test`},
		{`a\b@example.test`, `"a\\b"@example.test`},
		{`\"@example.test`, `"\\\""@example.test`},
		{"x> RET=FULL ENVID=Y@evil.test", `"x> RET=FULL ENVID=Y"@evil.test`},
		{"x>@evil.test", `"x>"@evil.test`},
		{"a@b@example.test", `"a@b"@example.test`},
		{".lead@example.test", `".lead"@example.test`},
		{"trail.@example.test", `"trail."@example.test`},
		{"two..dots@example.test", `"two..dots"@example.test`},
		{"a,b@example.test", `"a,b"@example.test`},
		{"a:b@example.test", `"a:b"@example.test`},
		{"(c)@example.test", `"(c)"@example.test`},
		{"@example.test", `""@example.test`}, // empty local part
		{"δοκιμή@παράδειγμα.δοκιμή", "δοκιμή@παράδειγμα.δοκιμή"},
		{"δοκ ιμή@example.test", `"δοκ ιμή"@example.test`},
		{"user@[IPv6:2001:db8::1]", "user@[IPv6:2001:db8::1]"},
		{"john doe@[192.0.2.1]", `"john doe"@[192.0.2.1]`},
	} {
		if got := string(AppendPath([]byte("<"), tc.in)); got != "<"+tc.want {
			t.Errorf("AppendPath(%q) = %q, want %q", tc.in, got, "<"+tc.want)
		}
		if got := Quote(tc.in); got != tc.want {
			t.Errorf("Quote(%q) = %q, want %q", tc.in, got, tc.want)
		}
	}
}

func TestStripExtension(t *testing.T) {
	for _, tc := range []struct{ local, delim, base, ext string }{
		{"user+box", "+", "user", "box"},
		{"user+a+b", "+", "user", "a+b"},
		{"user-box", "+-", "user", "box"},
		{"+user", "+", "+user", ""},
		{"user", "+", "user", ""},
		{"user+box", "", "user+box", ""},
	} {
		b, e := StripExtension(tc.local, tc.delim)
		if b != tc.base || e != tc.ext {
			t.Errorf("StripExtension(%q, %q) = %q, %q", tc.local, tc.delim, b, e)
		}
	}
}

func TestSplitCanonical(t *testing.T) {
	if l, d := Split("a@b@Example.TEST"); l != "a@b" || d != "Example.TEST" {
		t.Errorf("Split = %q %q", l, d)
	}
	if got := Canonical("User@Example.TEST"); got != "User@example.test" {
		t.Errorf("Canonical = %q", got)
	}
}

func TestALabel(t *testing.T) {
	for _, tc := range []struct{ in, want string }{
		{"example.com", "example.com"},
		{"Example.COM.", "example.com"},
		{"mail.Example.co.UK", "mail.example.co.uk"},
		{"пример.рф", "xn--e1afmkfd.xn--p1ai"},
		{"Bücher.example", "xn--bcher-kva.example"},
		{"xn--bcher-kva.example", "xn--bcher-kva.example"},
		{"", ""},
		{".", ""},
		{"[192.0.2.1]", ""},
		{"a..b", ""},
		{".example.com", ""},
		{"exa mple.com", ""},
		{"-bad.example", ""},
		{"\xff.example", ""},
		{strings.Repeat("a", 64) + ".example", ""},
	} {
		got, err := ALabel(tc.in)
		if got != tc.want || (err == nil) != (tc.want != "") {
			t.Errorf("ALabel(%q) = %q, %v; want %q", tc.in, got, err, tc.want)
		}
	}
}

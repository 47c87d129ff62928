package maillog

import (
	"testing"
	"unicode/utf8"
)

func TestTruncate(t *testing.T) {
	for _, tc := range []struct {
		in   string
		n    int
		want string
	}{
		{"short", 10, "short"},
		{"exactly10!", 10, "exactly10!"},
		{"eleven1234", 9, "eleven..."},
		{"abcdefghijk", 3, "..."},
		{"ab\u00e9cd", 5, "ab..."},   // é is two bytes: not cut in half
		{"a\u20acbcd", 5, "a..."},    // € is three bytes
		{"a\ufffdbcd", 5, "a..."},    // and so is a genuine U+FFFD
		{"ab\xe9\xe9cd", 5, "ab..."}, // not UTF-8: cut where the count says
		{"ab\x80\x80\x80\x80\x80cdef", 6, "ab\x80..."},
	} {
		got := Truncate(tc.in, tc.n)
		if got != tc.want {
			t.Errorf("Truncate(%q, %d) = %q, want %q", tc.in, tc.n, got, tc.want)
		}
		if len(got) > max(tc.n, len(Truncated)) {
			t.Errorf("Truncate(%q, %d) = %q is longer than %d", tc.in, tc.n, got, tc.n)
		}
		if utf8.ValidString(tc.in) && !utf8.ValidString(got) {
			t.Errorf("Truncate(%q, %d) = %q is not UTF-8", tc.in, tc.n, got)
		}
	}
}

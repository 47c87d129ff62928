package textfile

import (
	"io"
	"strings"
	"testing"
)

func TestLineReader(t *testing.T) {
	in := "\xef\xbb\xbffirst\r\n# comment\n\n" + strings.Repeat("x", 20) + "\nlast without LF"
	lr := NewLineReader(strings.NewReader(in), 10)
	want := []struct {
		line string
		long bool
	}{{"first", false}, {"# comment", false}, {"", false}, {"x", true}, {"last without LF", true}}
	// The last line is 15 bytes: long too, first byte kept.
	want[4].line = "l"
	for i, w := range want {
		line, err := lr.Next()
		if err != nil {
			t.Fatalf("line %d: %v", i+1, err)
		}
		if string(line) != w.line || lr.Long != w.long || lr.N != i+1 {
			t.Errorf("line %d: %q long=%v n=%d, want %q long=%v", i+1, line, lr.Long, lr.N, w.line, w.long)
		}
	}
	if _, err := lr.Next(); err != io.EOF {
		t.Errorf("after the last line: %v, want EOF", err)
	}
}

func TestIsCommentAndCheckControl(t *testing.T) {
	for line, want := range map[string]bool{"": true, "  \t": true, " # x": true, "a # b": false} {
		if IsComment([]byte(line)) != want {
			t.Errorf("IsComment(%q) = %v", line, !want)
		}
	}
	for line, ok := range map[string]bool{"a\tb": true, "a\x00b": false, "a\x7fb": false, "a\rb": false, "é": true} {
		if err := CheckControl([]byte(line)); (err == nil) != ok {
			t.Errorf("CheckControl(%q) = %v", line, err)
		}
	}
	err := &ParseError{File: "/etc/aliases", Line: 7, Err: io.ErrUnexpectedEOF}
	if err.Error() != "/etc/aliases:7: unexpected EOF" {
		t.Errorf("ParseError says %q", err.Error())
	}
}

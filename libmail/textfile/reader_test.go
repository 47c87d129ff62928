package textfile

import (
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
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

// TestEntries: blank lines and comments are skipped, entry sees the
// others with their numbers, its errors and over-long lines come back as
// ParseErrors naming the line, and a read error ends the table
// incomplete.
func TestEntries(t *testing.T) {
	in := "# head\none\n\n" + strings.Repeat("x", 20) + "\nbad\n  # c\nlast"
	var seen []string
	errs, complete := Entries(strings.NewReader(in), "f", 10, func(n int, line []byte) error {
		seen = append(seen, fmt.Sprintf("%d:%s", n, line))
		if string(line) == "bad" {
			return errors.New("bad entry")
		}
		return nil
	})
	if got := strings.Join(seen, " "); got != "2:one 5:bad 7:last" || !complete {
		t.Errorf("entries %q complete=%v", got, complete)
	}
	var msgs []string
	for _, e := range errs {
		var pe *ParseError
		if !errors.As(e, &pe) {
			t.Errorf("%v is not a ParseError", e)
		}
		msgs = append(msgs, e.Error())
	}
	if got := strings.Join(msgs, "|"); got != "f:4: line longer than 10 bytes|f:5: bad entry" {
		t.Errorf("errors %q", got)
	}
	r := io.MultiReader(strings.NewReader("one\n"), iotest.ErrReader(errors.New("disk on fire")))
	errs, complete = Entries(r, "f", 10, func(int, []byte) error { return nil })
	if complete || len(errs) != 1 || !strings.Contains(errs[0].Error(), "read f: disk on fire") {
		t.Errorf("after a read error: complete=%v %v", complete, errs)
	}
}

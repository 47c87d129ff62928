package imap

import (
	"bytes"
	"errors"
	"io"
	"os"
	"path/filepath"
	"strings"
	"testing"

	"golang.org/x/tools/txtar"
)

// TestParseGolden runs testdata/parse/*.txtar: the "input" file is what a
// client sends (LF becomes CRLF), "output" is each command's canonical
// form (Format) or the refusal, and "+" where the server asked for a
// literal. UPDATE_GOLDEN=1 rewrites the outputs.
func TestParseGolden(t *testing.T) {
	files, _ := filepath.Glob("testdata/parse/*.txtar")
	if len(files) == 0 {
		t.Fatal("no golden files")
	}
	for _, file := range files {
		t.Run(strings.TrimSuffix(filepath.Base(file), ".txtar"), func(t *testing.T) {
			ar, err := txtar.ParseFile(file)
			if err != nil {
				t.Fatal(err)
			}
			var input []byte
			outIdx := -1
			for i, f := range ar.Files {
				switch f.Name {
				case "input":
					input = f.Data
				case "output":
					outIdx = i
				}
			}
			got := runParse(t, strings.ReplaceAll(string(input), "\n", "\r\n"))
			if os.Getenv("UPDATE_GOLDEN") != "" {
				if outIdx < 0 {
					ar.Files = append(ar.Files, txtar.File{Name: "output"})
					outIdx = len(ar.Files) - 1
				}
				ar.Files[outIdx].Data = []byte(got)
				if err := os.WriteFile(file, txtar.Format(ar), 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			if outIdx < 0 {
				t.Fatal("no output file; run with UPDATE_GOLDEN=1")
			}
			if want := string(ar.Files[outIdx].Data); got != want {
				t.Errorf("output differs\n--- got\n%s\n--- want\n%s", got, want)
			}
		})
	}
}

// testLimits are small, so the golden files can show the limits at work.
func testLimits() Limits {
	return Limits{Line: 200, Command: 1000, Literal: 100, Append: 300, Depth: 8}
}

func runParse(t *testing.T, input string) string {
	var out strings.Builder
	r := NewReader(strings.NewReader(input), testLimits(), func() error {
		out.WriteString("+\n")
		return nil
	})
	for {
		cmd, err := r.ReadCommand()
		var e *Error
		switch {
		case errors.As(err, &e):
			tag := e.Tag
			if tag == "" {
				tag = "*"
			}
			out.WriteString(tag + " " + e.Error() + "\n")
			if e.Fatal {
				out.WriteString("(closed)\n")
				return out.String()
			}
			continue
		case err == io.EOF:
			return out.String()
		case err != nil:
			out.WriteString("error: " + err.Error() + "\n")
			return out.String()
		}
		s := Format(cmd)
		checkRoundTrip(t, s)
		out.WriteString(strings.ReplaceAll(s, "\r\n", "\n") + "\n")
	}
}

// checkRoundTrip parses a formatted command again and wants the same form.
func checkRoundTrip(t testing.TB, s string) {
	t.Helper()
	lim := DefaultLimits()
	lim.Command, lim.Literal, lim.Append = 1<<30, 1<<30, 1<<30
	r := NewReader(strings.NewReader(s+"\r\n"), lim, nil)
	cmd, err := r.ReadCommand()
	if err != nil {
		t.Fatalf("canonical form %q does not parse: %v", s, err)
	}
	if again := Format(cmd); again != s {
		t.Fatalf("canonical form changes when parsed again:\n%q\n%q", s, again)
	}
}

func TestLiteralAtEnd(t *testing.T) {
	for _, tc := range []struct {
		line string
		n    int64
		sync bool
		ok   bool
	}{
		{"a LOGIN {5}\r\n", 5, true, true},
		{"a LOGIN {5+}\r\n", 5, false, true},
		{"a APPEND x ~{12}\r\n", 12, true, true},
		{"a LOGIN {}\r\n", 0, false, false},
		{"a LOGIN {+}\r\n", 0, false, false},
		{"a LOGIN {-1}\r\n", 0, false, false},
		{"a LOGIN {99999999999999}\r\n", 0, false, false},
		{"a LOGIN \"{5}\"\r\n", 0, false, false},
	} {
		n, sync, ok := literalAtEnd([]byte(tc.line))
		if n != tc.n || sync != tc.sync || ok != tc.ok {
			t.Errorf("%q: got %d %v %v", tc.line, n, sync, ok)
		}
	}
}

func TestReadLineAndLimits(t *testing.T) {
	r := NewReader(strings.NewReader("DONE\r\n"+strings.Repeat("x", 300)+"\r\na NOOP\n"), testLimits(), nil)
	if l, err := r.ReadLine(); err != nil || l != "DONE" {
		t.Fatalf("ReadLine: %q %v", l, err)
	}
	if _, err := r.ReadCommand(); err == nil || !strings.Contains(err.Error(), "too long") {
		t.Fatalf("long line: %v", err)
	}
	cmd, err := r.ReadCommand()
	if err != nil || cmd.Name != "NOOP" {
		t.Fatalf("after a long line: %v %v", cmd, err)
	}
}

// After STARTTLS the session must see what the client pipelined behind
// it in plaintext (Buffered) and drop it, then read on the new stream.
func TestReaderBufferedAndReset(t *testing.T) {
	r := NewReader(strings.NewReader("a STARTTLS\r\nb LOGIN x y\r\n"), testLimits(), nil)
	if _, err := r.ReadCommand(); err != nil {
		t.Fatal(err)
	}
	if r.Buffered() == 0 {
		t.Fatal("the injected command is not seen as buffered")
	}
	r.Reset(strings.NewReader("c NOOP\r\n"))
	cmd, err := r.ReadCommand()
	if err != nil || cmd.Tag != "c" {
		t.Fatalf("after Reset: %v %v", cmd, err)
	}
}

type testSink struct {
	bytes.Buffer
	discarded bool
}

func (s *testSink) Discard() error { s.discarded = true; return nil }

func TestAppendSink(t *testing.T) {
	var sinks []*testSink
	var conts int
	run := func(input string, failSink bool) (*Command, error) {
		r := NewReader(strings.NewReader(input), testLimits(), func() error { conts++; return nil })
		r.SetAppendSink(func(n int64) (AppendSink, error) {
			if failSink {
				return nil, errors.New("over quota")
			}
			s := &testSink{}
			sinks = append(sinks, s)
			return s, nil
		})
		return r.ReadCommand()
	}
	cmd, err := run("a APPEND {5}\r\nDraft (\\Seen) {11}\r\nSubject: x\r\n\r\n", false)
	if err != nil {
		t.Fatal(err)
	}
	a := cmd.Args.(*Append)
	if a.Mailbox != "Draft" || a.Message != nil || a.Sink != sinks[0] || a.Size != 11 ||
		sinks[0].String() != "Subject: x\r" || sinks[0].discarded || conts != 2 {
		t.Errorf("got %+v, sink %q, %d continuations", a, sinks[0].String(), conts)
	}
	// A command that does not parse after its message drops the sink.
	if _, err := run("b APPEND INBOX ~{3+}\r\nabc junk\r\n", false); err == nil || !sinks[1].discarded {
		t.Errorf("junk after the message: %v, discarded %v", err, sinks[1].discarded)
	}
	// So does a connection that ends inside the message.
	if _, err := run("c APPEND INBOX {30}\r\nshort", false); err == nil || !sinks[2].discarded {
		t.Errorf("short message: %v, discarded %v", err, sinks[2].discarded)
	}
	// A sink that cannot be opened refuses the command, and the
	// synchronizing literal is never asked for.
	conts = 0
	_, err = run("d APPEND INBOX {3}\r\n", true)
	var e *Error
	if !errors.As(err, &e) || e.Status != "NO" || e.Tag != "d" || conts != 0 {
		t.Errorf("failing sink: %v, %d continuations", err, conts)
	}
	// The UTF8 form (RFC 6855) goes to the sink as well.
	cmd, err = run("e APPEND INBOX UTF8 (~{2+}\r\nhi)\r\n", false)
	if err != nil || cmd.Args.(*Append).Sink == nil || !cmd.Args.(*Append).UTF8 {
		t.Errorf("UTF8 append: %v %+v", err, cmd)
	}
}

package esmtp

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

// parseReply parses data as one complete reply; it is readReply on a
// buffer, for the tests and the fuzz target. The data comes in pieces, as
// from a network, so that lines straddle refills of the read buffer.
func parseReply(data []byte) (Reply, error) {
	br := bufio.NewReaderSize(iotest.HalfReader(bytes.NewReader(data)), readBufferSize)
	r, err := readReply(br)
	if err != nil {
		return Reply{}, err
	}
	if _, err := br.Peek(1); err == nil {
		return Reply{}, fmt.Errorf("%w: data after the last line", errReplySyntax)
	}
	return r, nil
}

func TestParseReply(t *testing.T) {
	for _, tc := range []struct {
		in       string
		code     int
		enhanced string
		text     string // String()
		err      bool
	}{
		{in: "250 2.0.0 Ok: queued as X\r\n", code: 250, enhanced: "2.0.0", text: "250 2.0.0 Ok: queued as X"},
		{in: "250-mx.example\r\n250-PIPELINING\r\n250 SIZE 1000\r\n", code: 250, text: "250-mx.example 250-PIPELINING 250 SIZE 1000"},
		{in: "550-5.1.1 No such user\r\n550 5.1.1 Try again\r\n", code: 550, enhanced: "5.1.1", text: "550-5.1.1 No such user 550 5.1.1 Try again"},
		{in: "250\r\n", code: 250, text: "250"},
		{in: "354 End data\n", code: 354, text: "354 End data"},                // bare LF tolerated
		{in: "451 4.3.0\r\n", code: 451, enhanced: "4.3.0", text: "451 4.3.0"}, // code alone
		{in: "550 4.1.1 class mismatch\r\n", code: 550, text: "550 4.1.1 class mismatch"},
		{in: "550 5.1.1000 too long detail\r\n", code: 550, text: "550 5.1.1000 too long detail"},
		{in: "550 5.1.1.2 four parts\r\n", code: 550, text: "550 5.1.1.2 four parts"},
		// Only the first line carries the code: no Enhanced, the words as
		// they came (DSN still finds 5.1.1, see TestReplyDSN).
		{in: "550-5.1.1 No such user\r\n550 Try again\r\n", code: 550, text: "550-5.1.1 No such user 550 Try again"},
		{in: "550-5.1.1 a\r\n550 5.7.1 b\r\n", code: 550, text: "550-5.1.1 a 550 5.7.1 b"},
		{in: "250-\r\n250 \r\n", code: 250, text: "250- 250"},
		{in: "250 2.0 short\r\n", code: 250, text: "250 2.0 short"},
		{in: "220 123.45.6 not a code\r\n", code: 220, text: "220 123.45.6 not a code"},
		{in: "25 short\r\n", err: true},
		{in: "abc def\r\n", err: true},
		{in: "650 out of range\r\n", err: true},
		{in: "150 preliminary\r\n", err: true},
		{in: "250_bad separator\r\n", err: true},
		{in: "250-first\r\n251 other code\r\n", err: true},
		{in: "250-unterminated\r\n", err: true},
		{in: "250 ok", err: true},
		{in: "250 ok\r\n250 trailing\r\n", err: true},
		{in: "250 cr\rinside\r\n", err: true},
		{in: "250 " + strings.Repeat("x", maxReplyLine) + "\r\n", err: true},
		{in: strings.Repeat("250-x\r\n", maxReplyLines) + "250 x\r\n", err: true},
	} {
		r, err := parseReply([]byte(tc.in))
		if tc.err {
			if err == nil {
				t.Errorf("parseReply(%q) = %+v, want an error", tc.in, r)
			}
			continue
		}
		if err != nil {
			t.Errorf("parseReply(%q): %v", tc.in, err)
			continue
		}
		if r.Code != tc.code || r.Enhanced != tc.enhanced || r.String() != tc.text {
			t.Errorf("parseReply(%q) = %d %q %q, want %d %q %q", tc.in, r.Code, r.Enhanced, r.String(), tc.code, tc.enhanced, tc.text)
		}
	}
}

// TestReplyBounded: a server may send a reply of 256 lines of 4 KB; the
// agent keeps about 2 KB of it and renders at most MaxReplyText bytes,
// marked as cut, for the log, the queue entry and DSNs. It used to keep
// and render all of it, and every attempt wrote all of it again.
func TestReplyBounded(t *testing.T) {
	var in strings.Builder
	line := "451-4.7.1 " + strings.Repeat("<spam&eggs> ", 400)
	for i := 0; i < 59; i++ {
		in.WriteString(line[:4000] + "\r\n")
	}
	in.WriteString("451 4.7.1 last line\r\n")
	r, err := parseReply([]byte(in.String()))
	if err != nil {
		t.Fatal(err)
	}
	if r.Code != 451 || r.Enhanced != "4.7.1" || r.DSN() != "4.7.1" {
		t.Errorf("reply %d %q", r.Code, r.Enhanced)
	}
	if kept := strings.Count(r.Text, "\n") + 1; len(r.Text) > maxReplyKeep+maxReplyLine || kept >= 60 {
		t.Errorf("kept %d lines, %d bytes of text", kept, len(r.Text))
	}
	s := r.String()
	if len(s) > MaxReplyText || !strings.HasPrefix(s, "451-4.7.1 <spam&eggs> ") || !strings.HasSuffix(s, "...") {
		t.Errorf("rendered as %d bytes: %.100q...%q", len(s), s, s[max(len(s)-20, 0):])
	}
	// A reply whose lines are dropped is marked as cut even when the
	// lines kept are shorter than MaxReplyText: maxReplyKeep is larger.
	in.Reset()
	for i := 0; i < 200; i++ {
		in.WriteString("250-" + strings.Repeat("x", 11) + "\r\n")
	}
	in.WriteString("250 last\r\n")
	r, err = parseReply([]byte(in.String()))
	if err != nil || !strings.HasSuffix(r.String(), "...") || strings.Contains(r.Text, "last") {
		t.Errorf("reply of 201 short lines: %.60q, %v", r.String(), err)
	}
	// A bad line is quoted in part in the error, which is logged and
	// recorded.
	_, err = parseReply([]byte("451-4.7.1 ok\r\n451_" + strings.Repeat("x", 4000) + "\r\n"))
	if err == nil || len(err.Error()) > 200 {
		t.Errorf("error of %d bytes: %.200v", len(err.Error()), err)
	}
}

// TestParseExtensionsLong: an EHLO reply is parsed from the lines kept,
// so a normal one, even with long lines, keeps all its keywords.
func TestParseExtensionsLong(t *testing.T) {
	r, err := parseReply([]byte("250-mx.example.net Hello client.example.org [192.0.2.1], pleased to meet you\r\n" +
		"250-AUTH " + strings.Repeat("MECH-", 100) + "PLAIN\r\n250-PIPELINING\r\n250-SIZE 52428800\r\n250-8BITMIME\r\n" +
		"250-ENHANCEDSTATUSCODES\r\n250-DSN\r\n250-SMTPUTF8\r\n250 STARTTLS\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	x := ParseExtensions(&r)
	want := Extensions{Pipelining: true, Size: true, SizeLimit: 52428800, EightBitMIME: true,
		SMTPUTF8: true, DSN: true, StartTLS: true, Enhanced: true, Auth: strings.Repeat("MECH-", 100) + "PLAIN"}
	if x != want {
		t.Errorf("extensions %+v, want %+v", x, want)
	}
}

func TestReplyDSN(t *testing.T) {
	for in, want := range map[string]string{
		"250 ok\r\n":              "2.0.0",
		"450 busy\r\n":            "4.0.0",
		"550 no\r\n":              "5.0.0",
		"550 5.7.1 denied\r\n":    "5.7.1",
		"354 go ahead\r\n":        "2.0.0",
		"452 4.5.3 too many\r\n":  "4.5.3",
		"554 4.5.3 mismatch\r\n":  "5.0.0",
		"250 2.1.5 Recipient\r\n": "2.1.5",
		// RFC 2034 servers write the code on every line; one that wrote it
		// on the first line only is taken at its word too.
		"550-5.1.1 No such user\r\n550 Try again\r\n": "5.1.1",
		"550-No such user\r\n550 5.1.1 Try again\r\n": "5.0.0",
	} {
		r, err := parseReply([]byte(in))
		if err != nil {
			t.Fatal(err)
		}
		if got := r.DSN(); got != want {
			t.Errorf("DSN of %q = %s, want %s", in, got, want)
		}
	}
}

// FuzzParseReply checks that the parser never panics and that what it
// accepts is a well-formed reply.
func FuzzParseReply(f *testing.F) {
	for _, s := range []string{"250 ok\r\n", "250-a\r\n250 b\r\n", "550 5.1.1 x\r\n", "250\r\n", "4"} {
		f.Add([]byte(s))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		r, err := parseReply(data)
		if err != nil {
			if !errors.Is(err, errReplySyntax) && !strings.Contains(err.Error(), "EOF") {
				t.Fatalf("unexpected error kind: %v", err)
			}
			// The error is logged and recorded: it quotes only the start
			// of a bad line (at most 80 bytes, each quoted in at most 4).
			if len(err.Error()) > 400 {
				t.Fatalf("error of %d bytes: %.400v", len(err.Error()), err)
			}
			return
		}
		if r.Code < 200 || r.Code > 599 {
			t.Fatalf("accepted %q as %+v", data, r)
		}
		// What is kept is bounded: lines are kept until they pass
		// maxReplyKeep bytes, and the rendering is at most MaxReplyText;
		// a reply that lost lines is marked as cut.
		read, kept := bytes.Count(data, []byte{'\n'}), strings.Count(r.Text, "\n")+1
		if len(r.Text) >= maxReplyKeep+maxReplyLine || kept > read {
			t.Fatalf("kept %d of %d lines: %+v", kept, read, r)
		}
		if s := r.String(); len(s) > MaxReplyText || kept < read && !strings.HasSuffix(s, "...") {
			t.Fatalf("rendered as %d bytes: %q", len(s), s)
		}
		if strings.ContainsAny(r.Text, "\r\x00") {
			t.Fatalf("control character in %+v", r)
		}
		if e := r.Enhanced; e != "" {
			if int(e[0]-'0') != r.Class() || strings.Count(e, ".") != 2 || enhancedLen(e, r.Class()) != len(e) {
				t.Fatalf("enhanced code %q of %+v", e, r)
			}
		}
		// What smtpd would write of the reply reads back as the same
		// reply: the two sides agree on the wire form.
		wire := r.Append(nil)
		again, err := parseReply(wire)
		if err != nil || again != r {
			t.Fatalf("round trip of %+v through %q: %+v, %v", r, wire, again, err)
		}
	})
}

func TestParseExtensions(t *testing.T) {
	r, err := parseReply([]byte("250-mx.example.net Hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n250-smtputf8\r\n250-DSN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250 CHUNKING\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	x := ParseExtensions(&r)
	want := Extensions{Pipelining: true, Size: true, SizeLimit: 10240000, EightBitMIME: true,
		SMTPUTF8: true, DSN: true, StartTLS: true, Enhanced: true}
	if x != want {
		t.Errorf("extensions %+v, want %+v", x, want)
	}
	r, _ = parseReply([]byte("250-mx\r\n250 SIZE\r\n"))
	if x := ParseExtensions(&r); !x.Size || x.SizeLimit != 0 {
		t.Errorf("SIZE without a limit: %+v", x)
	}
}

// TestReplyReadInPieces: replies read as a network delivers them, a few
// bytes at a time, come out as they went in. The enhanced code of the
// first line used to be kept as a slice of the read buffer, which the
// following lines overwrite when a reply does not begin at the start of
// the buffer: a 451 4.7.1 reply came out with the DSN "gs> <".
func TestReplyReadInPieces(t *testing.T) {
	var in strings.Builder
	in.WriteString("250 2.1.0 Ok\r\n451-4.7.1 first line\r\n")
	for i := 0; i < 40; i++ {
		in.WriteString("451-4.7.1 " + strings.Repeat(string(rune('a'+i%26)), 200) + "\r\n")
	}
	in.WriteString("451 4.7.1 last line\r\n")
	for _, rd := range []io.Reader{
		iotest.OneByteReader(strings.NewReader(in.String())),
		iotest.HalfReader(strings.NewReader(in.String())),
		iotest.DataErrReader(strings.NewReader(in.String())),
	} {
		br := bufio.NewReaderSize(rd, readBufferSize)
		if r, err := readReply(br); err != nil || r.String() != "250 2.1.0 Ok" {
			t.Fatalf("first reply %q, %v", r.String(), err)
		}
		r, err := readReply(br)
		if err != nil {
			t.Fatal(err)
		}
		if r.Enhanced != "4.7.1" || r.DSN() != "4.7.1" || !strings.HasPrefix(r.Text, "first line\n") ||
			!strings.HasPrefix(r.String(), "451-4.7.1 first line 451-4.7.1 aaa") {
			t.Errorf("read as %d %q %.60q", r.Code, r.Enhanced, r.Text)
		}
	}
}

// TestReplyWire: replies as smtpd builds them go on the wire as Postfix
// writes them, and the client reads each back as the same Reply.
func TestReplyWire(t *testing.T) {
	for _, tc := range []struct {
		r          Reply
		wire, text string // Append, String
	}{
		{Reply{Code: 250, Enhanced: "2.1.0", Text: "Ok"}, "250 2.1.0 Ok\r\n", "250 2.1.0 Ok"},
		{Reply{Code: 354, Text: "End data with <CR><LF>.<CR><LF>"}, "354 End data with <CR><LF>.<CR><LF>\r\n", "354 End data with <CR><LF>.<CR><LF>"},
		{Reply{Code: 250, Text: "mail.example.test\nPIPELINING\nSIZE 10240000"},
			"250-mail.example.test\r\n250-PIPELINING\r\n250 SIZE 10240000\r\n", "250-mail.example.test 250-PIPELINING 250 SIZE 10240000"},
		{Reply{Code: 550, Enhanced: "5.7.1", Text: "Refused\nSee the policy"},
			"550-5.7.1 Refused\r\n550 5.7.1 See the policy\r\n", "550-5.7.1 Refused 550 5.7.1 See the policy"},
		// RFC 4954 §4: an empty challenge is "334 ", with the space.
		{Reply{Code: 334}, "334 \r\n", "334"},
		{Reply{Code: 451, Enhanced: "4.3.0"}, "451 4.3.0\r\n", "451 4.3.0"},
	} {
		if got := string(tc.r.Append(nil)); got != tc.wire {
			t.Errorf("Append(%+v) = %q, want %q", tc.r, got, tc.wire)
		}
		if got := tc.r.String(); got != tc.text {
			t.Errorf("String(%+v) = %q, want %q", tc.r, got, tc.text)
		}
		if back, err := parseReply([]byte(tc.wire)); err != nil || back != tc.r {
			t.Errorf("%q reads back as %+v, %v", tc.wire, back, err)
		}
	}
}

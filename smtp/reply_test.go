package smtp

import (
	"errors"
	"slices"
	"strings"
	"testing"
)

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
// agent keeps about 2 KB of it and renders at most maxReplyText bytes,
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
	kept := 0
	for _, l := range r.Lines {
		kept += len(l)
	}
	if kept > maxReplyKeep+maxReplyLine || len(r.Lines)+r.Dropped != 60 {
		t.Errorf("kept %d lines of %d bytes in all, dropped %d", len(r.Lines), kept, r.Dropped)
	}
	s := r.String()
	if len(s) > maxReplyText || !strings.HasPrefix(s, "451-4.7.1 <spam&eggs> ") || !strings.HasSuffix(s, "...") {
		t.Errorf("rendered as %d bytes: %.100q...%q", len(s), s, s[max(len(s)-20, 0):])
	}
	// A short reply whose lines are dropped is still marked as cut.
	short := Reply{Code: 250, Lines: []string{"250-a"}, Dropped: 3}
	if got := short.String(); got != "250-a ..." {
		t.Errorf("String() = %q", got)
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
	x := parseExtensions(&r)
	want := extensions{pipelining: true, size: true, sizeLimit: 52428800, eightBitMIME: true,
		smtputf8: true, dsn: true, startTLS: true, enhanced: true}
	if x != want || r.Dropped != 0 {
		t.Errorf("extensions %+v, want %+v (dropped %d)", x, want, r.Dropped)
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
		if r.Code < 200 || r.Code > 599 || len(r.Lines) == 0 || len(r.Lines)+r.Dropped > maxReplyLines {
			t.Fatalf("accepted %q as %+v", data, r)
		}
		// What is kept is bounded: lines are kept until they pass
		// maxReplyKeep bytes, and the rendering is at most maxReplyText.
		kept := 0
		for _, l := range r.Lines[:len(r.Lines)-1] {
			kept += len(l)
		}
		if kept >= maxReplyKeep || r.Dropped > 0 && kept+len(r.Lines[len(r.Lines)-1]) < maxReplyKeep {
			t.Fatalf("kept %d lines, dropped %d: %+v", len(r.Lines), r.Dropped, r)
		}
		if s := r.String(); len(s) > maxReplyText || r.Dropped > 0 && !strings.HasSuffix(s, "...") {
			t.Fatalf("rendered as %d bytes: %q", len(s), s)
		}
		for _, l := range r.Lines {
			if !strings.HasPrefix(l, r.Lines[0][:3]) || strings.ContainsAny(l, "\r\n") {
				t.Fatalf("bad line %q in %+v", l, r)
			}
		}
		if e := r.Enhanced; e != "" {
			if e[0] != r.Lines[0][0] || strings.Count(e, ".") != 2 || !strings.HasPrefix(r.Text(0), e) {
				t.Fatalf("enhanced code %q of %+v", e, r)
			}
		}
		// Rendering the lines again must give the same reply; dropped lines
		// come back as lines of the code alone.
		lines := slices.Clone(r.Lines)
		for i := r.Dropped; i > 0; i-- {
			sep := "-"
			if i == 1 {
				sep = ""
			}
			lines = append(lines, r.Lines[0][:3]+sep)
		}
		again, err := parseReply([]byte(strings.Join(lines, "\r\n") + "\r\n"))
		if err != nil || again.String() != r.String() || again.Enhanced != r.Enhanced || !slices.Equal(again.Lines, r.Lines) || again.Dropped != r.Dropped {
			t.Fatalf("round trip of %+v: %+v, %v", r, again, err)
		}
	})
}

func TestParseExtensions(t *testing.T) {
	r, err := parseReply([]byte("250-mx.example.net Hello\r\n250-PIPELINING\r\n250-SIZE 10240000\r\n250-8BITMIME\r\n250-smtputf8\r\n250-DSN\r\n250-STARTTLS\r\n250-ENHANCEDSTATUSCODES\r\n250 CHUNKING\r\n"))
	if err != nil {
		t.Fatal(err)
	}
	x := parseExtensions(&r)
	want := extensions{pipelining: true, size: true, sizeLimit: 10240000, eightBitMIME: true,
		smtputf8: true, dsn: true, startTLS: true, enhanced: true}
	if x != want {
		t.Errorf("extensions %+v, want %+v", x, want)
	}
	r, _ = parseReply([]byte("250-mx\r\n250 SIZE\r\n"))
	if x := parseExtensions(&r); !x.size || x.sizeLimit != 0 {
		t.Errorf("SIZE without a limit: %+v", x)
	}
}

package main

import (
	"bufio"
	"bytes"
	"errors"
	"io"
	"strings"
	"testing"
)

// FuzzParseList: any address list either is refused as a bad address or
// gives addresses that pass the check, never a panic.
func FuzzParseList(f *testing.F) {
	for _, s := range []string{"bob", "a@b.example, \"c d\"@e.example", "Grp: x@y.example;", "Name (c) <n@x.example>", "a b@@", "<>"} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, s string) {
		list, err := parseList(s)
		if err != nil {
			if !errors.Is(err, errBadAddress) {
				t.Fatalf("%q: %v", s, err)
			}
			return
		}
		for _, a := range list {
			if a == "" || checkRecipient(a) != nil {
				t.Fatalf("%q gave %q", s, a)
			}
		}
	})
}

// FuzzExtract: what -t makes of any message keeps every byte but the
// Bcc: fields, in order, and no Bcc: field is left in the header.
func FuzzExtract(f *testing.F) {
	f.Add("To: a@b.example\nBcc: c@d.example,\n e\nSubject: x\n\nBcc: body\n", 200)
	f.Add("Resent-Bcc: x\nTo: y\n\n", 10)
	f.Add(" leading\nTo: a\n", 1000)
	f.Fuzz(func(t *testing.T, msg string, limit int) {
		if limit < 1 || limit > 1<<16 {
			return
		}
		in := newInput(strings.NewReader(msg), true, 1<<20)
		h, err := readHeader(in, limit)
		if err != nil {
			return
		}
		if _, err := h.extract(); err != nil {
			if !errors.Is(err, errBadAddress) {
				t.Fatalf("extract: %v", err)
			}
			return // sendmail exits 65: nothing goes out
		}
		for _, f := range h.fields {
			if n := strings.ToLower(fieldName(f)); n == "bcc" || n == "resent-bcc" {
				t.Fatalf("a %s: field is left: %q", n, f)
			}
		}
		var b bytes.Buffer
		h.writeTo(&b)
		rest, _ := io.ReadAll(readerOf(in))
		// Only a missing last line end may be added (CRs are removed).
		if out := b.String() + string(rest); len(out) > len(msg)+1 {
			t.Fatalf("output longer than input: %q -> %q", msg, out)
		}
	})
}

// readerOf reads what an input has left.
func readerOf(in *input) io.Reader {
	var b bytes.Buffer
	for {
		line, err := in.next()
		if err != nil {
			return &b
		}
		b.Write(line)
	}
}

// FuzzSMTP runs -bs on any input: no panic, every reply line well
// formed.
func FuzzSMTP(f *testing.F) {
	f.Add("EHLO x\r\nMAIL FROM:<a@b.example>\r\nRCPT TO:<c@d.example> NOTIFY=NEVER\r\nDATA\r\nx\r\n..y\r\n.\r\nQUIT\r\n")
	f.Add("HELO x\nMAIL FROM:<> ENVID=+41+\nRCPT TO:<@r:c>\nDATA\n")
	f.Fuzz(func(t *testing.T, dialogue string) {
		cfg, _ := setup(t, "")
		var out, errb bytes.Buffer
		run([]string{"sendmail", "-C", cfg, "-bs"}, strings.NewReader(dialogue), &out, &errb)
		r := bufio.NewReader(&out)
		for {
			l, err := r.ReadString('\n')
			if err != nil {
				if l != "" {
					t.Fatalf("unfinished reply line %q", l)
				}
				return
			}
			if len(l) < 6 || l[0] < '2' || l[0] > '5' || (l[3] != ' ' && l[3] != '-') || !strings.HasSuffix(l, "\r\n") {
				t.Fatalf("reply line %q", l)
			}
		}
	})
}

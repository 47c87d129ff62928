package main

import (
	"bytes"
	"errors"
	"io"
	"reflect"
	"strings"
	"testing"
)

func readAll(t *testing.T, in *input) (string, error) {
	var b strings.Builder
	for {
		line, err := in.next()
		if err == io.EOF {
			return b.String(), nil
		}
		if err != nil {
			return b.String(), err
		}
		b.Write(line)
	}
}

func TestInput(t *testing.T) {
	for _, c := range []struct {
		in         string
		ignoreDots bool
		want       string
	}{
		{"a\nb\n", false, "a\nb\n"},
		{"a\r\nb\r\r\n", false, "a\nb\n"},
		{"a\n.\nb\n", false, "a\n"},
		{"a\n.\r\nb\n", false, "a\n"},
		{"a\n.\nb\n", true, "a\n.\nb\n"},
		{"a\n..\nb", false, "a\n..\nb\n"},
		{"From alice Mon Dec  7 05:00:00 2026\nSubject: x\n", false, "Subject: x\n"},
		{"Subject: x\nFrom alice\n", false, "Subject: x\nFrom alice\n"},
	} {
		got, err := readAll(t, newInput(strings.NewReader(c.in), c.ignoreDots, 1000))
		if err != nil || got != c.want {
			t.Errorf("%q (-i %v): got %q, %v; want %q", c.in, c.ignoreDots, got, err, c.want)
		}
	}
	for _, in := range []string{"a\rb\n", "a\x00b\n", strings.Repeat("x", 1000) + "\n"} {
		if _, err := readAll(t, newInput(strings.NewReader(in), false, 1000)); !errors.Is(err, errMessage) {
			t.Errorf("%.20q: got %v, want errMessage", in, err)
		}
	}
}

func TestExtract(t *testing.T) {
	msg := "From: alice@example.org\n" +
		"To: Bob <bob@example.org>, carol\n" +
		"Cc: \"Dave, D.\" <dave@example.org> (a comment)\n" +
		"Bcc: eve@example.org,\n" +
		"  frank\n" +
		"Subject: To: nobody@example.org\n" +
		"\n" +
		"Bcc: body@example.org\n"
	in := newInput(strings.NewReader(msg), false, 10000)
	h, err := readHeader(in, 1000)
	if err != nil {
		t.Fatal(err)
	}
	rcpts, err := h.extract()
	if err != nil {
		t.Fatal(err)
	}
	want := []string{"bob@example.org", "carol", "dave@example.org", "eve@example.org", "frank"}
	if !reflect.DeepEqual(rcpts, want) {
		t.Errorf("recipients %q, want %q", rcpts, want)
	}
	var b bytes.Buffer
	h.writeTo(&b)
	rest, _ := readAll(t, in)
	got := b.String() + rest
	wantMsg := "From: alice@example.org\nTo: Bob <bob@example.org>, carol\nCc: \"Dave, D.\" <dave@example.org> (a comment)\n" +
		"Subject: To: nobody@example.org\n\nBcc: body@example.org\n"
	if got != wantMsg {
		t.Errorf("message after -t:\n%s\nwant:\n%s", got, wantMsg)
	}
}

func TestExtractResent(t *testing.T) {
	msg := "To: old@example.org\nBcc: oldbcc@example.org\nResent-To: new@example.org\nResent-Bcc: hidden@example.org\n\nbody\n"
	h, err := readHeader(newInput(strings.NewReader(msg), false, 10000), 1000)
	if err != nil {
		t.Fatal(err)
	}
	rcpts, err := h.extract()
	if err != nil || !reflect.DeepEqual(rcpts, []string{"new@example.org", "hidden@example.org"}) {
		t.Errorf("got %q, %v", rcpts, err)
	}
	var b bytes.Buffer
	h.writeTo(&b)
	if strings.Contains(strings.ToLower(b.String()), "bcc") {
		t.Errorf("a Bcc: survived: %q", b.String())
	}
}

func TestParseList(t *testing.T) {
	for in, want := range map[string][]string{
		"bob":                                  {"bob"},
		"bob, carol@example.org":               {"bob", "carol@example.org"},
		"undisclosed-recipients:;":             nil,
		"friends: a@example.org, b;":           {"a@example.org", "b"},
		"Bob Smith <bob>":                      {"bob"},
		"<bob@example.org>":                    {"bob@example.org"},
		"\"john doe\"@example.org":             {"john doe@example.org"},
		"":                                     nil,
		"user+tag@example.org (Some One)":      {"user+tag@example.org"},
		"Ünïcode <üser@example.org>":           {"üser@example.org"},
		"a@example.org,b@example.org,,":        {"a@example.org", "b@example.org"},
		"Name (comment, with comma) <x@y.org>": {"x@y.org"},
	} {
		got, err := parseList(in)
		if err != nil || !reflect.DeepEqual(got, want) {
			t.Errorf("parseList(%q) = %q, %v; want %q", in, got, err, want)
		}
	}
	for _, in := range []string{"a b@@", "bob@", "@example.org", "a@b..c", "a\x01b", "<>", "bob smith"} {
		if got, err := parseList(in); !errors.Is(err, errBadAddress) {
			t.Errorf("parseList(%q) = %q, %v; want errBadAddress", in, got, err)
		}
	}
}

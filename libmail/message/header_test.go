package message

import (
	"bufio"
	"errors"
	"io"
	"strings"
	"testing"
	"testing/iotest"
)

type field struct{ name, value string }

// scanAll runs ScanHeader with r's buffer of the given size and collects
// the fields.
func scanAll(in string, bufSize, limit int) ([]field, error) {
	var got []field
	r := bufio.NewReaderSize(strings.NewReader(in), bufSize)
	err := ScanHeader(r, limit, func(name, value []byte) bool {
		got = append(got, field{string(name), string(value)})
		return true
	})
	return got, err
}

func TestScanHeader(t *testing.T) {
	tests := []struct {
		name string
		in   string
		want []field
		rest string // what remains in the reader afterwards
	}{
		{"crlf", "From: a@b\r\nTo: c@d\r\n\r\nbody\r\n",
			[]field{{"From", "a@b"}, {"To", "c@d"}}, "body\r\n"},
		{"lf", "Return-Path: <a@b>\nDelivered-To: c@d\n\nbody\n",
			[]field{{"Return-Path", "<a@b>"}, {"Delivered-To", "c@d"}}, "body\n"},
		{"folded", "Subject: a\r\n b\r\n\tc\r\nX: y\r\n\r\n",
			[]field{{"Subject", "a b\tc"}, {"X", "y"}}, ""},
		{"no colon ends header", "From: a\r\ngarbage line\r\nTo: b\r\n\r\n",
			[]field{{"From", "a"}}, "To: b\r\n\r\n"},
		{"leading continuation", " folded\r\nTo: b\r\n\r\n", nil, "To: b\r\n\r\n"},
		{"empty name", ": v\r\nTo: b\r\n\r\n", nil, "To: b\r\n\r\n"},
		{"space in name", "Bad Name: v\r\n\r\n", nil, "\r\n"},
		{"control in name", "X\x00Y: z\r\n\r\n", nil, "\r\n"},
		{"obsolete space before colon", "Subject : hi\r\n\r\n",
			[]field{{"Subject", "hi"}}, ""},
		{"mbox from line", "From a@b Mon Jan  1 00:00:00 2024\nTo: c\n\n", nil, "To: c\n\n"},
		{"eof without blank line", "Delivered-To: x@y\r\nMessage-ID: <1@h>",
			[]field{{"Delivered-To", "x@y"}, {"Message-ID", "<1@h>"}}, ""},
		{"eof after continuation", "A: b\r\n c",
			[]field{{"A", "b c"}}, ""},
		{"bare cr kept", "Subject: a\rb\r\r\n\r\n",
			[]field{{"Subject", "a\rb\r"}}, ""},
		{"empty input", "", nil, ""},
		{"no header", "\r\nbody", nil, "body"},
		{"empty value", "X:\r\nY:   \r\n \r\n\r\n",
			[]field{{"X", ""}, {"Y", ""}}, ""},
		{"value keeps inner colons", "Date: Mon, 1 Jan 2024 10:00:00 +0000\n\n",
			[]field{{"Date", "Mon, 1 Jan 2024 10:00:00 +0000"}}, ""},
		{"continuation after blank is body", "A: b\r\n\r\n c\r\n",
			[]field{{"A", "b"}}, " c\r\n"},
		{"long line", "X: " + strings.Repeat("v", 5000) + "\r\nY: z\r\n\r\n",
			[]field{{"X", strings.Repeat("v", 5000)}, {"Y", "z"}}, ""},
	}
	for _, tt := range tests {
		for _, size := range []int{16, 4096} {
			r := bufio.NewReaderSize(strings.NewReader(tt.in), size)
			var got []field
			err := ScanHeader(r, 1<<20, func(name, value []byte) bool {
				got = append(got, field{string(name), string(value)})
				return true
			})
			if err != nil {
				t.Fatalf("%s/%d: %v", tt.name, size, err)
			}
			if !equalFields(got, tt.want) {
				t.Errorf("%s/%d: got %q, want %q", tt.name, size, got, tt.want)
			}
			rest, _ := io.ReadAll(r)
			if string(rest) != tt.rest {
				t.Errorf("%s/%d: rest %q, want %q", tt.name, size, rest, tt.rest)
			}
		}
	}
}

func equalFields(a, b []field) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestScanHeaderStopsEarly(t *testing.T) {
	in := "Delivered-To: a\r\nMessage-ID: <x@y>\r\nDelivered-To: b\r\n\r\n"
	r := bufio.NewReader(strings.NewReader(in))
	var names []string
	err := ScanHeader(r, 1000, func(name, value []byte) bool {
		names = append(names, string(name))
		return string(name) != "Message-ID"
	})
	if err != nil {
		t.Fatal(err)
	}
	if len(names) != 2 {
		t.Fatalf("callback ran for %q, want it to stop after Message-ID", names)
	}
}

func TestScanHeaderLimit(t *testing.T) {
	in := "A: 1\r\nB: 2\r\n\r\n" // 14 bytes including the empty line
	tests := []struct {
		limit   int
		want    []field
		wantErr bool
	}{
		{14, []field{{"A", "1"}, {"B", "2"}}, false},
		{13, []field{{"A", "1"}}, true},
		{12, []field{{"A", "1"}}, true},
		{11, nil, true}, // B's line is cut off, so A's end is never seen
		{1, nil, true},
	}
	for _, tt := range tests {
		for _, size := range []int{16, 4096} {
			got, err := scanAll(in, size, tt.limit)
			if gotErr := errors.Is(err, ErrHeaderTooLong); gotErr != tt.wantErr {
				t.Errorf("limit %d/%d: error %v, want ErrHeaderTooLong: %v", tt.limit, size, err, tt.wantErr)
			}
			if !equalFields(got, tt.want) {
				t.Errorf("limit %d/%d: got %q, want %q", tt.limit, size, got, tt.want)
			}
		}
	}
	// An endless header line must be cut off at the limit, not buffered.
	r := bufio.NewReader(io.MultiReader(strings.NewReader("X: "), endless{}))
	err := ScanHeader(r, 64<<10, func(_, _ []byte) bool { return true })
	if !errors.Is(err, ErrHeaderTooLong) {
		t.Fatalf("endless line: error %v, want ErrHeaderTooLong", err)
	}
	if _, err := scanAll(in, 16, 0); err == nil {
		t.Fatal("limit 0 accepted")
	}
}

type endless struct{}

func (endless) Read(p []byte) (int, error) {
	for i := range p {
		p[i] = 'x'
	}
	return len(p), nil
}

func TestScanHeaderReadError(t *testing.T) {
	boom := errors.New("connection reset")
	r := bufio.NewReader(io.MultiReader(strings.NewReader("A: 1\r\n"), iotest.ErrReader(boom)))
	err := ScanHeader(r, 1000, func(_, _ []byte) bool { return true })
	if !errors.Is(err, boom) {
		t.Fatalf("error %v, want %v", err, boom)
	}
}

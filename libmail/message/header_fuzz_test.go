package message

import (
	"bufio"
	"bytes"
	"errors"
	"strings"
	"testing"
)

// refScan is a deliberately naive model of ScanHeader that works on whole
// lines of an in-memory message, so that the streaming version, with all
// its buffer boundaries, can be checked against it.
func refScan(in string, limit int) ([]field, bool) {
	var out []field
	var cur string
	have := false
	emit := func() {
		if have {
			name, value, _ := strings.Cut(cur, ":")
			out = append(out, field{strings.Trim(name, " \t"), strings.Trim(value, " \t")})
			have = false
		}
	}
	total := 0
	for len(in) > 0 {
		line := in
		if i := strings.IndexByte(in, '\n'); i >= 0 {
			line = in[:i+1]
		}
		in = in[len(line):]
		total += len(line)
		if total > limit {
			return out, true
		}
		if line == "\n" || line == "\r\n" {
			break
		}
		text := line
		if strings.HasSuffix(text, "\n") {
			text = strings.TrimSuffix(strings.TrimSuffix(text, "\n"), "\r")
		}
		if line[0] == ' ' || line[0] == '\t' {
			if !have {
				return out, false
			}
			cur += text
			continue
		}
		emit()
		name, _, ok := strings.Cut(text, ":")
		name = strings.Trim(name, " \t")
		if !ok || name == "" || strings.IndexFunc(name, func(r rune) bool { return r < 33 || r > 126 }) >= 0 {
			return out, false
		}
		cur, have = text, true
	}
	emit()
	return out, false
}

func FuzzScanHeader(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		in := string(data)
		for _, limit := range []int{1, 40, len(in), 1 << 20} {
			if limit <= 0 {
				continue
			}
			want, wantErr := refScan(in, limit)
			for _, size := range []int{16, 4096} {
				got, err := scanAll(in, size, limit)
				if err != nil && !errors.Is(err, ErrHeaderTooLong) {
					t.Fatalf("unexpected error %v", err)
				}
				if (err != nil) != wantErr {
					t.Fatalf("limit %d buf %d: error %v, model says too long: %v", limit, size, err, wantErr)
				}
				if !equalFields(got, want) {
					t.Fatalf("limit %d buf %d: got %q, model %q", limit, size, got, want)
				}
				for _, f := range got {
					if f.name == "" || strings.ContainsAny(f.name, ":\n ") || strings.Contains(f.value, "\n") {
						t.Fatalf("bad field %q", f)
					}
				}
			}
		}
		// Stopping after the first field must report exactly that field.
		var n int
		r := bufio.NewReaderSize(bytes.NewReader(data), 16)
		_ = ScanHeader(r, 1<<20, func(_, _ []byte) bool { n++; return false })
		if n > 1 {
			t.Fatalf("callback ran %d times after returning false", n)
		}
	})
}

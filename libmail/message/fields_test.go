package message

import (
	"strings"
	"testing"
)

// fieldsAll runs Fields and returns the fields as ScanHeader reports them
// (name, unfolded and trimmed body), the raw fields, and the end offset.
func fieldsAll(in string) (got []field, raw []string, end int) {
	end = Fields([]byte(in), func(name, f []byte) {
		raw = append(raw, string(f))
		_, body, _ := strings.Cut(string(f), ":")
		if b, ok := strings.CutSuffix(body, "\n"); ok {
			body = strings.TrimSuffix(b, "\r")
		}
		body = strings.NewReplacer("\r\n ", " ", "\r\n\t", "\t", "\n ", " ", "\n\t", "\t").Replace(body)
		got = append(got, field{string(name), strings.Trim(body, " \t")})
	})
	return got, raw, end
}

func TestFields(t *testing.T) {
	for _, c := range []struct {
		in    string
		names []string
		end   int
	}{
		{"", nil, 0},
		{"\r\nbody\r\n", nil, 0},
		{"A: 1\r\nB: 2\r\n\r\nbody\r\n", []string{"A", "B"}, 12},
		{"A: 1\r\n folded\r\nB: 2\r\n", []string{"A", "B"}, 21},
		{"A: 1\r\nnot a field\r\nB: 2\r\n\r\n", []string{"A"}, 6},
		{" leading continuation\r\nA: 1\r\n", nil, 0},
		{"A : obsolete space\r\n\r\n", []string{"A"}, 20},
		{"A: no line end", []string{"A"}, 14},
		{"A: 1\nB: 2\n\nbody\n", []string{"A", "B"}, 10},
	} {
		got, raw, end := fieldsAll(c.in)
		var names []string
		for _, f := range got {
			names = append(names, f.name)
		}
		if strings.Join(names, ",") != strings.Join(c.names, ",") || end != c.end {
			t.Errorf("%q: fields %q ending at %d, want %q at %d", c.in, names, end, c.names, c.end)
		}
		if strings.Join(raw, "") != c.in[:end] {
			t.Errorf("%q: raw fields %q do not make up the first %d bytes", c.in, raw, end)
		}
	}
}

// FuzzFields: Fields finds the fields ScanHeader finds, with the same
// names and bodies, and its raw fields are the input up to its end,
// without gap or overlap.
func FuzzFields(f *testing.F) {
	for _, s := range []string{
		"A: 1\r\nB: 2\r\n\r\nbody\r\n", "A: 1\r\n folded\r\n\tmore\r\nB:\r\n", "x\r\nA: 1\r\n", "A: 1\r\n\r", "\n", ": x\r\n",
	} {
		f.Add(s)
	}
	f.Fuzz(func(t *testing.T, in string) {
		got, raw, end := fieldsAll(in)
		want, err := scanAll(in, 4096, len(in)+1)
		if err != nil {
			t.Fatal(err)
		}
		if !equalFields(got, want) {
			t.Fatalf("Fields found %q, ScanHeader %q", got, want)
		}
		if end < 0 || end > len(in) || strings.Join(raw, "") != in[:end] {
			t.Fatalf("raw fields %q, end %d of %q", raw, end, in)
		}
	})
}

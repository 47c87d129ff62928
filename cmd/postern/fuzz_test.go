package main

import (
	"strings"
	"testing"
)

// FuzzTagList: any record text parses or is refused without panic; a
// list that parses has non-empty names without ";" or "=", values
// without ";", both trimmed, and parses again to the same tags when
// written back.
func FuzzTagList(f *testing.F) {
	f.Add("v=DKIM1; k=ed25519; p=k0URRud+dS0RYPAlbZ3MNoqAEFcrAvdiKPcr0nsgRys=")
	f.Add("v=STSv1; id=20260101T000000;")
	f.Add(" v = TLSRPTv1 ; rua=mailto:a@b,https://c/d ;; ")
	f.Fuzz(func(t *testing.T, s string) {
		tags, ok := tagList(s)
		if !ok {
			return
		}
		var parts []string
		for k, v := range tags {
			if k == "" || strings.ContainsAny(k, ";=") || strings.Contains(v, ";") || k != strings.TrimSpace(k) || v != strings.TrimSpace(v) {
				t.Fatalf("%q: tag %q=%q", s, k, v)
			}
			parts = append(parts, k+"="+v)
		}
		again, ok := tagList(strings.Join(parts, ";"))
		if !ok || len(again) != len(tags) {
			t.Fatalf("%q: %v written back gives %v, %v", s, tags, again, ok)
		}
		for k, v := range tags {
			if again[k] != v {
				t.Fatalf("%q: %s=%q becomes %q", s, k, v, again[k])
			}
		}
	})
}

// FuzzCollate: any log text is collated without panic; every line
// printed is one of the input's, and all but the connect lines (held
// back until their message's client= line) come in input order.
func FuzzCollate(f *testing.F) {
	f.Add(sampleLog, "1J0UG67L94S6LET3")
	f.Add("Dec  7 05:00:00 h p[1]: connect from a[1]\nDec  7 05:00:00 h p[1]: 0000000000000000: client=a[1]\nx p[1]: disconnect from a[1]\n", "0000000000000000")
	f.Add("p[1]: 0000000000000000: sender delay notification: 0000000000000001\np[1]: 0000000000000001: removed\n", "0000000000000000")
	f.Fuzz(func(t *testing.T, log, id string) {
		lines := strings.Split(log, "\n")
		var got []string
		c := newCollator(id, func(l string) { got = append(got, l) })
		for _, l := range lines {
			c.feed(l)
		}
		if c.matched != len(got) {
			t.Fatalf("matched %d, printed %d", c.matched, len(got))
		}
		i := 0
		for _, g := range got {
			if strings.Contains(g, "connect from ") {
				if !strings.Contains(log, g) {
					t.Fatalf("printed %q, not an input line; input %q", g, log)
				}
				continue
			}
			for i < len(lines) && lines[i] != g {
				i++
			}
			if i == len(lines) {
				t.Fatalf("printed %q, not an input line in order; input %q", g, log)
			}
			i++
		}
	})
}

package alias

import (
	"errors"
	"reflect"
	"sort"
	"strings"
	"testing"
)

// FuzzParse checks that Parse never panics, reports only *ParseErrors for
// in-memory input, and that every table it builds survives being written
// back with Target.String and parsed again.
func FuzzParse(f *testing.F) {
	f.Add("postmaster: root\nstaff: a, b@example.test,\n  :include:/etc/staff, \"|/bin/x -y\"\n")
	f.Fuzz(func(t *testing.T, input string) {
		tab, errs := Parse(strings.NewReader(input), "fuzz")
		for _, err := range errs {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
		}
		keys := make([]string, 0, tab.Len())
		for k := range tab.m {
			keys = append(keys, k)
		}
		sort.Strings(keys)
		var b strings.Builder
		for _, k := range keys {
			if _, ok := tab.Lookup(k); !ok {
				t.Fatalf("Lookup(%q) of a stored key failed", k)
			}
			b.WriteString(k)
			b.WriteString(":")
			for i, target := range tab.m[k].targets {
				if i > 0 {
					// Continuation lines exercise the joining as well.
					b.WriteString(",\n\t")
				}
				b.WriteString(" ")
				b.WriteString(target.String())
			}
			b.WriteString("\n")
		}
		again, errs := Parse(strings.NewReader(b.String()), "again")
		if len(errs) != 0 {
			t.Fatalf("reparsing %q: %v", b.String(), errs)
		}
		if again.Len() != tab.Len() {
			t.Fatalf("reparsed table has %d names, want %d", again.Len(), tab.Len())
		}
		for _, k := range keys {
			if got, want := again.m[k].targets, tab.m[k].targets; !reflect.DeepEqual(got, want) {
				t.Fatalf("name %q: reparsed %+v, want %+v", k, got, want)
			}
		}
	})
}

// FuzzParseList checks that ParseList never panics and that the values it
// returns survive Target.String and parsing again, both one per line and
// comma-separated on one line.
func FuzzParseList(f *testing.F) {
	f.Add("\\joe, \"|/usr/bin/vacation joe\"\n")
	f.Fuzz(func(t *testing.T, input string) {
		targets, errs := ParseList(strings.NewReader(input), "fuzz")
		for _, err := range errs {
			var pe *ParseError
			if !errors.As(err, &pe) {
				t.Fatalf("error %v is not a *ParseError", err)
			}
		}
		for _, sep := range []string{"\n", ", "} {
			parts := make([]string, len(targets))
			for i, target := range targets {
				parts[i] = target.String()
			}
			text := strings.Join(parts, sep)
			again, errs := ParseList(strings.NewReader(text), "again")
			if len(errs) != 0 {
				t.Fatalf("reparsing %q: %v", text, errs)
			}
			if len(again) != len(targets) || (len(targets) > 0 && !reflect.DeepEqual(again, targets)) {
				t.Fatalf("reparsing %q gave %+v, want %+v", text, again, targets)
			}
		}
	})
}

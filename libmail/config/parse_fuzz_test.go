package config

import (
	"bytes"
	"fmt"
	"reflect"
	"slices"
	"strings"
	"testing"

	"github.com/BurntSushi/toml"
)

// listItemsKept checks that $name expansion left the file's list items
// whole: an item that refers to no parameter ("/srv/My Aliases/aliases",
// "$home/My Mail/.forward") must come out of loading exactly as it went
// in, not split at its spaces or commas. (Whether an item that refers to
// a parameter may become several items is left open.)
func listItemsKept(text []byte, c *Config) error {
	raw := rawDefaults().clone()
	if _, err := toml.Decode(string(text), &raw); err != nil {
		return nil // Parse accepted it, so this cannot happen; not this check's business
	}
	vr, vc := reflect.ValueOf(&raw).Elem(), reflect.ValueOf(&c.Params).Elem()
	for _, p := range Table() {
		if p.Kind != List {
			continue
		}
		got := vc.FieldByIndex(p.index).Interface().([]string)
		for _, it := range vr.FieldByIndex(p.index).Interface().([]string) {
			refers := false
			substitute(it, func(ref string) (string, bool, error) {
				_, known := Lookup(ref)
				refers = refers || known
				return "", known, nil
			})
			if !refers && strings.TrimSpace(it) != "" && !slices.Contains(got, it) {
				return fmt.Errorf("%s: the file's item %q is not among the loaded %q", p.Name, it, got)
			}
		}
	}
	return nil
}

// sameParams reports the first parameter whose value differs between a
// and b, comparing the decoded values themselves (lists item by item; an
// empty list equals a missing one), not their text.
func sameParams(a, b *Params) error {
	va, vb := reflect.ValueOf(a).Elem(), reflect.ValueOf(b).Elem()
	for _, p := range Table() {
		x, y := va.FieldByIndex(p.index).Interface(), vb.FieldByIndex(p.index).Interface()
		if p.Kind == List {
			xs, ys := x.([]string), y.([]string)
			if len(xs) == 0 && len(ys) == 0 {
				continue
			}
			x, y = xs, ys
		}
		if !reflect.DeepEqual(x, y) {
			return fmt.Errorf("%s: %#v became %#v", p.Name, x, y)
		}
	}
	return nil
}

// FuzzParse parses arbitrary text as a configuration file. It must not
// panic, every error must name the file first (FILE:LINE: or FILE:), list
// items must come through $name expansion whole, and a configuration that
// loads must survive `postern config show`: the TOML WriteParams writes
// for it parses again to the same values.
func FuzzParse(f *testing.F) {
	const name = "/etc/postern/fuzz.toml"
	opt := Options{Hostname: "h.example"}
	f.Fuzz(func(t *testing.T, text []byte) {
		c, err := Parse(text, name, opt)
		if err != nil {
			if !strings.HasPrefix(err.Error(), name+":") {
				t.Fatalf("error does not begin with the file name: %v", err)
			}
			return
		}
		if c.File != name || c.MyHostname == "" || c.MyDomain == "" {
			t.Fatalf("file %q myhostname %q mydomain %q", c.File, c.MyHostname, c.MyDomain)
		}
		if err := c.Params.validate(); err != nil {
			t.Fatalf("loaded parameters do not validate: %v", err)
		}
		if err := listItemsKept(text, c); err != nil {
			t.Fatalf("expansion split list items: %v\ninput:\n%s", err, text)
		}
		for _, s := range c.Services {
			if err := s.validate(); err != nil {
				t.Fatalf("service %s loaded but does not validate: %v", s.Name, err)
			}
		}
		var out bytes.Buffer
		if err := WriteParams(&out, &c.Params, nil); err != nil {
			t.Fatal(err)
		}
		c2, err := Parse(out.Bytes(), "written", opt)
		if err != nil {
			t.Fatalf("written parameters do not parse: %v\ninput:\n%s\nwritten:\n%s", err, text, out.Bytes())
		}
		if err := sameParams(&c.Params, &c2.Params); err != nil {
			t.Fatalf("round trip through WriteParams changed %v\ninput:\n%s\nwritten:\n%s", err, text, out.Bytes())
		}
	})
}

package config

import (
	"fmt"
	"reflect"
	"strings"
)

// expand replaces $name and ${name} in string and list parameters by the
// value of the named parameter, as Postfix does in main.cf. Names that are
// not parameters ($home and $user in forward_path, a literal $ in a
// command) are left alone for the code that knows them.
func expand(p *Params) error {
	x := &expander{p: p, done: map[string][]string{}}
	for _, prm := range Table() {
		if prm.Kind != String && prm.Kind != List {
			continue
		}
		items, err := x.resolve(prm, 0)
		if err != nil {
			return err
		}
		f := p.field(prm)
		if prm.Kind == String {
			f.SetString(items[0])
		} else {
			f.Set(reflect.ValueOf(items))
		}
	}
	return nil
}

// expander memoizes expanded values: a string parameter as one item, a
// list as its items.
type expander struct {
	p    *Params
	done map[string][]string
}

func (x *expander) resolve(prm Param, depth int) ([]string, error) {
	if v, ok := x.done[prm.Name]; ok {
		return v, nil
	}
	if depth > 10 {
		return nil, &paramError{prm.Name, fmt.Errorf("$name references nest too deep (a loop?)")}
	}
	var raw []string
	if prm.Kind == String {
		raw = []string{x.p.field(prm).String()}
	} else {
		raw = x.p.field(prm).Interface().([]string)
	}
	var out []string
	for _, item := range raw {
		// A list item that names a list parameter ("$mydestination")
		// becomes that list's items; otherwise an item stays one item,
		// spaces and all ("/srv/My Mail/aliases").
		split := false
		s, err := substitute(item, func(ref string) (string, bool, error) {
			r, ok := Lookup(ref)
			if !ok {
				return "", false, nil
			}
			v, err := x.resolve(r, depth+1)
			if r.Kind == List {
				split = true
			}
			return strings.Join(v, ", "), true, err
		})
		if err != nil {
			return nil, err
		}
		if split && prm.Kind == List {
			out = append(out, splitList(s)...)
		} else {
			out = append(out, s)
		}
	}
	if prm.Kind == String && len(out) == 0 {
		out = []string{""}
	}
	x.done[prm.Name] = out
	return out, nil
}

// substitute expands $name and ${name} in s through lookup, which reports
// whether it knows the name. "$$" is a literal dollar.
func substitute(s string, lookup func(string) (string, bool, error)) (string, error) {
	if !strings.Contains(s, "$") {
		return s, nil
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '$' || i+1 == len(s) {
			b.WriteByte(s[i])
			continue
		}
		if s[i+1] == '$' {
			b.WriteString("$$")
			i++
			continue
		}
		name, end := "", i+1
		if s[i+1] == '{' {
			j := strings.IndexByte(s[i+2:], '}')
			if j < 0 {
				b.WriteByte(s[i])
				continue
			}
			name, end = s[i+2:i+2+j], i+3+j
		} else {
			for end < len(s) && (isNameByte(s[end])) {
				end++
			}
			name = s[i+1 : end]
		}
		val, ok, err := lookup(name)
		if err != nil {
			return "", err
		}
		if !ok {
			b.WriteString(s[i:end])
		} else {
			b.WriteString(val)
		}
		i = end - 1
	}
	return b.String(), nil
}

func isNameByte(c byte) bool {
	return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
}

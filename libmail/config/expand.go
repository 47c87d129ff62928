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
	v := reflect.ValueOf(p).Elem()
	done := map[string]string{}
	var resolve func(name string, depth int) (string, error)
	resolve = func(name string, depth int) (string, error) {
		if s, ok := done[name]; ok {
			return s, nil
		}
		if depth > 10 {
			return "", &paramError{name, fmt.Errorf("$name references nest too deep (a loop?)")}
		}
		prm, _ := Lookup(name)
		s, err := substitute(valueText(p, prm), func(ref string) (string, bool, error) {
			if _, ok := Lookup(ref); !ok {
				return "", false, nil
			}
			r, err := resolve(ref, depth+1)
			return r, true, err
		})
		if err != nil {
			return "", err
		}
		done[name] = s
		return s, nil
	}
	for _, prm := range Table() {
		if prm.Kind != String && prm.Kind != List {
			continue
		}
		s, err := resolve(prm.Name, 0)
		if err != nil {
			return err
		}
		f := v.FieldByIndex(prm.index)
		if prm.Kind == String {
			f.SetString(s)
		} else if strings.Contains(strings.Join(f.Interface().([]string), ""), "$") {
			f.Set(reflect.ValueOf(splitList(s)))
		}
	}
	return nil
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

package config

import (
	"fmt"
	"reflect"
	"strconv"
	"strings"
	"sync"
)

// Kind is the type of a parameter's value.
type Kind string

const (
	String Kind = "string"
	Int    Kind = "int"
	Bool   Kind = "bool"
	List   Kind = "list"
	Time   Kind = "time"
)

// Param is one row of the parameter table.
type Param struct {
	Name    string
	Section string // the embedded struct of Params it lives in
	Kind    Kind
	Default string // as text; lists are comma-separated
	Doc     string
	index   []int // reflect field index path in Params
}

// DefaultTOML renders the default as a TOML value.
func (p Param) DefaultTOML() string { return literal(p.Kind, p.Default) }

// Table returns every parameter in the order of the configuration file.
func Table() []Param { return table() }

var table = sync.OnceValue(func() []Param {
	var out []Param
	pt := reflect.TypeFor[Params]()
	for i := range pt.NumField() {
		sec := pt.Field(i)
		for j := range sec.Type.NumField() {
			f := sec.Type.Field(j)
			out = append(out, Param{
				Name:    f.Tag.Get("toml"),
				Section: sec.Name,
				Kind:    kindOf(f.Type),
				Default: f.Tag.Get("default"),
				Doc:     f.Tag.Get("doc"),
				index:   []int{i, j},
			})
		}
	}
	return out
})

var byName = sync.OnceValue(func() map[string]Param {
	m := make(map[string]Param)
	for _, p := range table() {
		m[p.Name] = p
	}
	return m
})

// Lookup finds a parameter by name.
func Lookup(name string) (Param, bool) {
	p, ok := byName()[name]
	return p, ok
}

func kindOf(t reflect.Type) Kind {
	switch {
	case t == reflect.TypeFor[Duration]():
		return Time
	case t.Kind() == reflect.String:
		return String
	case t.Kind() == reflect.Bool:
		return Bool
	case t.Kind() == reflect.Int || t.Kind() == reflect.Int64:
		return Int
	case t.Kind() == reflect.Slice && t.Elem().Kind() == reflect.String:
		return List
	}
	panic(fmt.Sprintf("config: parameter of unsupported type %s", t))
}

// literal renders a value given as text (lists comma-separated) as TOML.
func literal(k Kind, text string) string {
	switch k {
	case Int, Bool:
		return text
	case List:
		return listLiteral(splitList(text))
	}
	return quote(text)
}

// listLiteral renders a list of strings as a TOML array.
func listLiteral(list []string) string {
	items := make([]string, len(list))
	for i, s := range list {
		items[i] = quote(s)
	}
	return "[" + strings.Join(items, ", ") + "]"
}

// field is the struct field that holds parameter prm.
func (p *Params) field(prm Param) reflect.Value {
	return reflect.ValueOf(p).Elem().FieldByIndex(prm.index)
}

// splitList splits a comma- or space-separated list, as Postfix does.
func splitList(s string) []string {
	return strings.FieldsFunc(s, func(r rune) bool { return r == ',' || r == ' ' || r == '\t' || r == '\n' })
}

// quote renders a TOML basic string. TOML's escapes are JSON's, not Go's,
// so strconv.Quote is not usable (it writes \x00).
func quote(s string) string {
	var b strings.Builder
	b.WriteByte('"')
	for _, r := range s {
		switch {
		case r == '"' || r == '\\':
			b.WriteByte('\\')
			b.WriteRune(r)
		case r == '\n':
			b.WriteString(`\n`)
		case r == '\t':
			b.WriteString(`\t`)
		case r < 0x20 || r == 0x7f:
			b.WriteString(`\u` + fmt.Sprintf("%04X", r))
		default:
			b.WriteRune(r)
		}
	}
	b.WriteByte('"')
	return b.String()
}

// valueText renders the value of p in params as text, the form used by
// `postern config show` and by Default.
func valueText(params *Params, p Param) string {
	v := params.field(p)
	switch p.Kind {
	case List:
		return strings.Join(v.Interface().([]string), ", ")
	case Int:
		return strconv.FormatInt(v.Int(), 10)
	case Bool:
		return strconv.FormatBool(v.Bool())
	case Time:
		return v.Interface().(Duration).String()
	}
	return v.String()
}

// Value returns the text of a parameter's value in p, and whether the
// parameter exists.
func (p *Params) Value(name string) (string, bool) {
	prm, ok := Lookup(name)
	if !ok {
		return "", false
	}
	return valueText(p, prm), true
}

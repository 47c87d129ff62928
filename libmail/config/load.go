package config

import (
	"bytes"
	"errors"
	"fmt"
	"os"
	"reflect"
	"regexp"
	"slices"
	"strings"
	"sync"

	"github.com/BurntSushi/toml"
)

// DefaultFile is where postern looks when no -c is given.
const DefaultFile = "/etc/postern/postern.toml"

// Config is a loaded configuration file.
type Config struct {
	// Params are the global parameters, with $names expanded.
	Params
	// Services are the service table, sorted by name, disabled ones
	// included (Enabled false).
	Services []*Service
	// File is the path the configuration came from ("" for defaults).
	File string
}

// Options are facts about the machine that some defaults depend on. Tests
// set them; the zero value asks the system.
type Options struct {
	Hostname string // default for myhostname; empty means os.Hostname
}

// Service returns the named service, or nil.
func (c *Config) Service(name string) *Service {
	for _, s := range c.Services {
		if s.Name == name {
			return s
		}
	}
	return nil
}

// Load reads and checks the configuration file at path.
func Load(path string, opt Options) (*Config, error) {
	text, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("read configuration: %w", err)
	}
	return Parse(text, path, opt)
}

// Default returns the configuration used when the file is empty.
func Default(opt Options) *Config {
	c, err := Parse(nil, "", opt)
	if err != nil {
		panic("config: the built-in defaults do not load: " + err.Error())
	}
	return c
}

// fileDoc is the shape of the file: parameters at the top level, the
// service table under [services]. Services are decoded one by one so a
// table in the file amends the built-in row of the same name.
type fileDoc struct {
	Params
	Services map[string]toml.Primitive `toml:"services"`
}

type serviceDoc struct {
	Service
	Overrides toml.Primitive `toml:"overrides"`
}

// rawDefaults are the parameter defaults before $names are expanded.
var rawDefaults = sync.OnceValue(func() Params {
	var b strings.Builder
	for _, p := range Table() {
		fmt.Fprintf(&b, "%s = %s\n", p.Name, p.DefaultTOML())
	}
	var p Params
	if _, err := toml.Decode(b.String(), &p); err != nil {
		panic("config: parameter table defaults do not decode: " + err.Error())
	}
	return p
})

// Parse decodes a configuration file's text; name is used in messages.
func Parse(text []byte, name string, opt Options) (*Config, error) {
	where := name
	if where == "" {
		where = "defaults"
	}
	fd := fileDoc{Params: rawDefaults().clone()}
	md, err := toml.NewDecoder(bytes.NewReader(text)).Decode(&fd)
	if err != nil {
		return nil, decodeError(where, err)
	}
	c := &Config{Params: fd.Params, File: name}

	builtin := builtinServices()
	overrides := map[string]toml.Primitive{} // the file's overrides tables
	names := map[string]bool{}
	for n := range builtin {
		names[n] = true
	}
	for n := range fd.Services {
		names[n] = true
	}
	for n := range names {
		doc := serviceDoc{Service: Service{ProcessLimit: 1, Enabled: true}}
		var builtinOverrides string
		if b, ok := builtin[n]; ok {
			doc.Service = b.Service
			builtinOverrides = b.overrides
		}
		if prim, ok := fd.Services[n]; ok {
			if err := md.PrimitiveDecode(prim, &doc); err != nil {
				return nil, decodeError(where, err)
			}
		}
		if _, ok := builtin[n]; !ok && doc.Kind == "" && doc.Command == "" {
			return nil, fmt.Errorf("%s:%d: %w", where, keyLine(text, toml.Key{"services", n}), unknownService(n, builtin))
		}
		svc := doc.Service
		svc.Name = n
		svc.Params = fd.Params.clone()
		if _, err := toml.Decode(builtinOverrides, &svc.Params); err != nil {
			panic("config: built-in overrides of " + n + " do not decode: " + err.Error())
		}
		if md.IsDefined("services", n, "overrides") {
			if err := md.PrimitiveDecode(doc.Overrides, &svc.Params); err != nil {
				return nil, decodeError(where, err)
			}
			overrides[n] = doc.Overrides
		}
		if err := svc.validate(); err != nil {
			return nil, fmt.Errorf("%s:%d: service %s: %w", where, keyLine(text, toml.Key{"services", n}), n, err)
		}
		c.Services = append(c.Services, &svc)
	}
	sortServices(c.Services)
	c.applyPostscreen()
	if smtp, pass := c.Service("smtp"), c.Service(PostscreenService); smtp != nil && pass != nil && pass.Enabled && smtp.Command == "postscreen" {
		// The smtpd behind postscreen is the port-25 smtpd: it sees the
		// smtp service's overrides, then its own, so that turning
		// postscreen on does not lose what [services.smtp.overrides]
		// says about smtpd.
		pass.Params = smtp.Params.clone()
		if prim, ok := overrides[PostscreenService]; ok {
			if err := md.PrimitiveDecode(prim, &pass.Params); err != nil {
				return nil, decodeError(where, err)
			}
		}
	}

	if und := md.Undecoded(); len(und) > 0 {
		var msgs []string
		for _, k := range und {
			msgs = append(msgs, fmt.Sprintf("%s:%d: unknown parameter %q", where, keyLine(text, k), k.String()))
		}
		return nil, errors.New(strings.Join(msgs, "\n"))
	}

	for _, s := range c.Services {
		s.Overrides = diff(&c.Params, &s.Params)
	}
	if err := c.Params.finish(opt); err != nil {
		return nil, locate(where, text, nil, err)
	}
	if err := c.Params.validate(); err != nil {
		return nil, locate(where, text, nil, err)
	}
	if err := c.checkTransports(&c.Params); err != nil {
		return nil, locate(where, text, nil, err)
	}
	for _, s := range c.Services {
		err := s.Params.finish(opt)
		// A disabled service may be incomplete (submissions without a
		// certificate, as shipped); it is checked when it is enabled.
		if err == nil && s.Enabled {
			err = s.Params.validate()
		}
		if err == nil && s.Enabled {
			err = c.checkTransports(&s.Params)
		}
		if err != nil {
			return nil, locate(where, text, toml.Key{"services", s.Name, "overrides"}, err)
		}
	}
	if err := c.checkLoginSessions(); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	if err := c.checkPostscreen(); err != nil {
		return nil, fmt.Errorf("%s: %w", where, err)
	}
	return c, nil
}

// finish fills the defaults that depend on the machine, expands $names and
// checks the values.
func (p *Params) finish(opt Options) error {
	if p.MyHostname == "" {
		h := opt.Hostname
		if h == "" {
			var err error
			if h, err = os.Hostname(); err != nil {
				return &paramError{"myhostname", fmt.Errorf("cannot find the hostname: %w", err)}
			}
		}
		p.MyHostname = h
	}
	if p.MyDomain == "" {
		if _, d, ok := strings.Cut(p.MyHostname, "."); ok && d != "" {
			p.MyDomain = d
		} else {
			p.MyDomain = "localdomain"
		}
	}
	return expand(p)
}

// paramError is a problem with one parameter's value.
type paramError struct {
	name string
	err  error
}

func (e *paramError) Error() string { return e.name + ": " + e.err.Error() }
func (e *paramError) Unwrap() error { return e.err }

// locate turns a paramError into FILE:LINE: form.
func locate(where string, text []byte, prefix toml.Key, err error) error {
	var pe *paramError
	if errors.As(err, &pe) {
		k := append(append(toml.Key{}, prefix...), pe.name)
		line := keyLine(text, k)
		if line == 0 && len(prefix) > 0 {
			line = keyLine(text, toml.Key{pe.name})
		}
		return fmt.Errorf("%s:%d: %w", where, line, err)
	}
	return fmt.Errorf("%s: %w", where, err)
}

// typeErrorRE matches BurntSushi/toml's type errors, which are plain
// errors that carry the line only in their text.
var typeErrorRE = regexp.MustCompile(`^toml: line (\d+) \(last key "([^"]*)"\): (.*)$`)

// decodeError gives TOML syntax and type errors the FILE:LINE: form.
func decodeError(where string, err error) error {
	var pe toml.ParseError
	if errors.As(err, &pe) {
		msg := pe.Message
		if pe.LastKey != "" {
			msg = fmt.Sprintf("%s: %s", pe.LastKey, msg)
		}
		return fmt.Errorf("%s:%d: %s", where, pe.Position.Line, msg)
	}
	if m := typeErrorRE.FindStringSubmatch(err.Error()); m != nil {
		return fmt.Errorf("%s:%s: %s: %s", where, m[1], m[2], m[3])
	}
	return fmt.Errorf("%s: %w", where, err)
}

// clone copies p deeply: the TOML decoder writes list values into the
// existing backing array when it is large enough, so sharing one between
// the defaults, the global values and a service would let one change the
// others.
func (p Params) clone() Params {
	v := reflect.ValueOf(&p).Elem()
	for _, prm := range Table() {
		if prm.Kind == List {
			f := v.FieldByIndex(prm.index)
			f.Set(reflect.ValueOf(slices.Clone(f.Interface().([]string))))
		}
	}
	return p
}

// diff lists the parameters whose value in b differs from a, as name=value.
func diff(a, b *Params) []string {
	var out []string
	for _, p := range Table() {
		if va, vb := valueText(a, p), valueText(b, p); va != vb {
			out = append(out, p.Name+"="+vb)
		}
	}
	return out
}

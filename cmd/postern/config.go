package main

import (
	"fmt"
	"os"
	"strings"

	"postern.dev/postern/libmail/config"
)

const configHelp = "Check, show or edit the configuration file."

func cmdConfig(a *app, args []string) error {
	return a.subcommands("config", "[-c FILE] check | show [-d|-n] [NAME...] | set NAME=VALUE...", configHelp, args,
		map[string]func(*app, []string) error{"check": configCheck, "show": configShow, "set": configSet})
}

// configCheck parses the file strictly, as every daemon will.
func configCheck(a *app, args []string) error {
	fs := a.flags("config check", "[-c FILE]", "Parse the configuration strictly; report the file, line and key of each problem.")
	if _, err := a.parse(fs, args, 0); err != nil {
		return err
	}
	c, err := config.Load(a.cfgPath, config.Options{})
	if err != nil {
		return err
	}
	fmt.Fprintf(a.stdout, "postern: %s is valid (%d services enabled)\n", a.cfgPath, enabled(c))
	return nil
}

func enabled(c *config.Config) int {
	n := 0
	for _, s := range c.Services {
		if s.Enabled {
			n++
		}
	}
	return n
}

// configShow prints parameters as postconf does: all effective values,
// only defaults (-d) or only what differs from the defaults (-n).
func configShow(a *app, args []string) error {
	fs := a.flags("config show", "[-c FILE] [-d|-n] [NAME...]", "Print the effective value of every parameter, or of those named, as TOML.")
	defaults := fs.Bool("d", false, "show the defaults")
	changed := fs.Bool("n", false, "show only parameters that differ from the defaults")
	names, err := a.parse(fs, args, -1)
	if err != nil {
		return err
	}
	def := config.Default(config.Options{})
	var cfg *config.Config
	if *defaults {
		cfg = def
	} else {
		var err error
		if cfg, err = config.Load(a.cfgPath, config.Options{}); err != nil {
			return err
		}
	}
	var b strings.Builder
	var base *config.Params
	if *changed {
		base = &def.Params
	}
	config.WriteParams(&b, &cfg.Params, base)
	if len(names) > 0 {
		var out strings.Builder
		for _, n := range names {
			if _, ok := config.Lookup(n); !ok {
				return fmt.Errorf("unknown parameter %q", n)
			}
			for _, line := range strings.Split(b.String(), "\n") {
				if strings.HasPrefix(line, n+" = ") {
					out.WriteString(line + "\n")
				}
			}
		}
		fmt.Fprint(a.stdout, out.String())
		return nil
	}
	fmt.Fprint(a.stdout, b.String())
	if !*changed {
		fmt.Fprintln(a.stdout)
		config.WriteServices(a.stdout, cfg.Services)
	}
	return nil
}

// configSet edits the file in place, keeping its comments, and refuses
// an edit that would make it invalid.
func configSet(a *app, args []string) error {
	fs := a.flags("config set", "[-c FILE] NAME=VALUE...", "Edit the configuration file in place, keeping its comments; the result is checked before it is written.")
	args, err := a.parse(fs, args, -1)
	if err != nil {
		return err
	}
	if len(args) == 0 {
		return usageError("missing NAME=VALUE")
	}
	text, err := os.ReadFile(a.cfgPath)
	if err != nil && !os.IsNotExist(err) {
		return err
	}
	s := string(text)
	for _, kv := range args {
		name, value, ok := strings.Cut(kv, "=")
		if !ok {
			return usageError(fmt.Sprintf("%q is not NAME=VALUE", kv))
		}
		if s, err = config.Set(s, strings.TrimSpace(name), strings.TrimSpace(value), config.Options{}); err != nil {
			return err
		}
	}
	mode := os.FileMode(0o644)
	if st, err := os.Stat(a.cfgPath); err == nil {
		mode = st.Mode().Perm()
	}
	if err := writeFile(a.cfgPath, []byte(s), mode); err != nil {
		return err
	}
	// As postconf -e: the file changed, the running system did not.
	fmt.Fprintf(a.stdout, "postern: %s updated; run \"postern reload\" to make a running mail system use it\n", a.cfgPath)
	return nil
}

package config

import (
	"fmt"
	"io"
	"sort"
	"strings"
)

// sectionTitles name the sections of the shipped file and the man page, in
// the order of Params.
var sectionTitles = map[string]string{
	"General":    "The mail system",
	"Queue":      "Queue and queue manager",
	"SMTPD":      "SMTP server (smtpd)",
	"Postscreen": "Connection screening (postscreen)",
	"Limits":     "Client limits (smtpd and anvil)",
	"DKIM":       "DKIM signing",
	"SMTP":       "SMTP client (smtp)",
	"Local":      "Local delivery (local)",
	"Login":      "Mailbox access: the login processes of imapd and pop3d",
	"Pickup":     "Local submission (sendmail and pickup)",
	"Master":     "Supervisor (master)",
	"Logging":    "Logging",
}

// WriteParams writes "name = value" lines in TOML syntax for every
// parameter of p, or, when base is not nil, for those whose value differs
// from base (postconf -n).
func WriteParams(w io.Writer, p *Params, base *Params) error {
	for _, prm := range Table() {
		v := valueText(p, prm)
		if base != nil && v == valueText(base, prm) {
			continue
		}
		lit := literal(prm.Kind, v)
		if prm.Kind == List {
			// From the items themselves: an item may hold a space or a
			// comma, which the text form cannot tell from a separator.
			lit = listLiteral(p.field(prm).Interface().([]string))
		}
		if _, err := fmt.Fprintf(w, "%s = %s\n", prm.Name, lit); err != nil {
			return err
		}
	}
	return nil
}

// WriteServices writes the service table in TOML syntax.
func WriteServices(w io.Writer, ss []*Service) error {
	for _, s := range ss {
		if err := writeService(w, "", s); err != nil {
			return err
		}
	}
	return nil
}

func writeService(w io.Writer, prefix string, s *Service) error {
	var b strings.Builder
	fmt.Fprintf(&b, "%s[services.%s]\n", prefix, s.Name)
	fmt.Fprintf(&b, "%skind = %s\n", prefix, quote(s.Kind))
	fmt.Fprintf(&b, "%slisten = %s\n", prefix, listLiteral(s.Listen))
	fmt.Fprintf(&b, "%scommand = %s\n", prefix, quote(s.Command))
	if len(s.Args) > 0 {
		fmt.Fprintf(&b, "%sargs = %s\n", prefix, listLiteral(s.Args))
	}
	if s.User != "" {
		fmt.Fprintf(&b, "%suser = %s\n", prefix, quote(s.User))
	}
	fmt.Fprintf(&b, "%sprocess_limit = %d\n", prefix, s.ProcessLimit)
	if len(s.Capabilities) > 0 {
		fmt.Fprintf(&b, "%scapabilities = %s\n", prefix, listLiteral(s.Capabilities))
	}
	fmt.Fprintf(&b, "%senabled = %t\n", prefix, s.Enabled)
	if len(s.Overrides) > 0 {
		fmt.Fprintf(&b, "%s[services.%s.overrides]\n", prefix, s.Name)
		for _, o := range s.Overrides {
			name, val, _ := strings.Cut(o, "=")
			prm, _ := Lookup(name)
			fmt.Fprintf(&b, "%s%s = %s\n", prefix, name, literal(prm.Kind, val))
		}
	}
	b.WriteString("\n")
	_, err := io.WriteString(w, b.String())
	return err
}

// ShippedFile returns the text of conf/postern.toml: every parameter with
// its documentation and default, commented out, and the built-in service
// table, also commented out. It is generated so that it cannot drift from
// the table; `make generate` (and a test) keep the committed copy equal.
func ShippedFile() string {
	var b strings.Builder
	b.WriteString(`# postern.toml - the configuration of the postern mail system.
#
# Every parameter is listed below with its default, commented out: a line
# you uncomment and change overrides the default, and anything not set here
# keeps it. String values may refer to other parameters as $name or ${name}.
# Unknown or mistyped keys are errors: run "postern config check" after an
# edit, "postern config show -n" to see what differs from the defaults, and
# "postern reload" to apply it. See postern.toml(5).
#
# This file is generated from postern's parameter table; do not edit the
# copy in the source tree by hand.
`)
	section := ""
	for _, p := range Table() {
		if p.Section != section {
			section = p.Section
			fmt.Fprintf(&b, "\n# ==== %s ====\n", sectionTitles[section])
		}
		fmt.Fprintf(&b, "\n%s#%s = %s\n", wrapComment(p.Doc), p.Name, p.DefaultTOML())
	}
	b.WriteString(`
# ==== Services ====
#
# The service table plays the role of Postfix's master.cf: which daemons the
# master runs, on which sockets, as which user (empty: mail_owner), with how
# many processes, and per-service parameter overrides. These are the
# built-in services; a [services.NAME] table here changes only the fields it
# names, "enabled = false" turns a service off, and a new name adds one.
# Unix sockets are paths inside queue_directory.

`)
	var names []string
	builtin := builtinServices()
	for n := range builtin {
		names = append(names, n)
	}
	sort.Strings(names)
	for _, n := range names {
		s := builtin[n].Service
		s.Name = n
		for _, line := range strings.Split(strings.TrimSpace(builtin[n].overrides), "\n") {
			if line != "" {
				k, v, _ := strings.Cut(line, " = ")
				s.Overrides = append(s.Overrides, k+"="+strings.Trim(v, `"`))
			}
		}
		writeService(&b, "#", &s)
	}
	return b.String()
}

// wrapComment renders doc as "# " lines of at most 76 columns.
func wrapComment(doc string) string {
	var b strings.Builder
	line := "#"
	for _, w := range strings.Fields(doc) {
		if len(line)+1+len(w) > 76 {
			b.WriteString(line + "\n")
			line = "#"
		}
		line += " " + w
	}
	return b.String() + line + "\n"
}

package config

import (
	"fmt"
	"strings"
)

// ManPage returns postern.toml(5) in mdoc(7). The parameter list is the
// parameter table itself, so the manual cannot drift from the code.
func ManPage() string {
	var b strings.Builder
	b.WriteString(`.Dd November 23, 2026
.Dt POSTERN.TOML 5
.Os
.Sh NAME
.Nm postern.toml
.Nd configuration file of the postern mail system
.Sh SYNOPSIS
.Pa /etc/postern/postern.toml
.Sh DESCRIPTION
The postern mail system reads one TOML file, by default
.Pa /etc/postern/postern.toml ,
or the file given with
.Fl c
to any postern command.
Parameters are top-level keys; their names and defaults follow Postfix's
.Xr postconf 5
where Postfix has the same parameter.
A key that is not a parameter, or a value of the wrong type, is an error
that names the file, the line and the key;
.Ic postern config check
reports it without starting anything.
.Pp
String values may refer to other parameters as
.Li $name
or
.Li ${name} ;
references are expanded after the whole file, including per-service
overrides, has been read.
.Li $$
is a literal dollar sign.
Times are numbers with an optional unit
.Cm s , m , h , d
or
.Cm w
(seconds by default).
Lists are TOML arrays of strings.
.Sh SERVICES
The
.Li [services. Ns Ar name Ns Li \(rB
tables play the role of Postfix's
.Pa master.cf :
they say which daemons
.Xr master 8
runs.
Each has the keys
.Bl -tag -width process_limit
.It Cm kind
.Cm inet
(TCP sockets) or
.Cm unix
(a socket inside
.Va queue_directory ) .
.It Cm listen
the addresses, as host:port (":25" is every address) or socket paths.
.It Cm command
the program, in
.Va daemon_directory
unless absolute.
.It Cm args
extra arguments.
.It Cm user
the user it runs as; empty means
.Va mail_owner .
.It Cm process_limit
how many processes of it run.
Unlike Postfix's, one postern
.Xr smtpd 8
process serves many connections.
.It Cm capabilities
Linux capabilities kept when the master runs as root; only
.Cm setuid
and
.Cm setgid
are allowed, for
.Xr local 8 .
.It Cm enabled
false turns the service off.
.It Cm overrides
a table of parameters that this service sees with other values, as
.Fl o
in master.cf.
.El
.Pp
Built-in services are
.Cm smtp
(port 25),
.Cm submission
(587) and
.Cm submissions
(465, implicit TLS; both ship disabled because they need a certificate),
.Cm qmgr ,
.Cm local
and
.Cm outbound
(the SMTP client,
.Xr smtp 8 ,
on
.Pa private/smtp ) .
A table in the file changes only the keys it sets.
.Sh PARAMETERS
`)
	section := ""
	for _, p := range Table() {
		if p.Section != section {
			if section != "" {
				b.WriteString(".El\n")
			}
			section = p.Section
			fmt.Fprintf(&b, ".Ss %s\n.Bl -tag -width Ds\n", sectionTitles[section])
		}
		fmt.Fprintf(&b, ".It Va %s No (%s, default %s)\n%s\n", p.Name, p.Kind, manEscape(p.DefaultTOML()), sentences(p.Doc))
	}
	b.WriteString(`.El
.Sh FILES
.Bl -tag -width Ds
.It Pa /etc/postern/postern.toml
this file
.It Pa /etc/aliases
aliases, see
.Xr aliases 5
.It Pa /etc/postern/accounts
virtual accounts
.El
.Sh SEE ALSO
.Xr postern 1 ,
.Xr postern 7 ,
.Xr local 8 ,
.Xr master 8 ,
.Xr qmgr 8 ,
.Xr smtpd 8
`)
	return b.String()
}

// sentences puts each sentence of a parameter's documentation on a line
// of its own, as mdoc wants (it sets the spacing after a full stop from
// the line break), escaping each line.
func sentences(doc string) string {
	var lines []string
	rest := doc
	for {
		i := strings.Index(rest, ". ")
		// A sentence ends at ". " followed by a capital letter; "e.g. x"
		// and "(see 1.2. x)" do not.
		for i >= 0 && (i+2 >= len(rest) || rest[i+2] < 'A' || rest[i+2] > 'Z') {
			j := strings.Index(rest[i+2:], ". ")
			if j < 0 {
				i = -1
				break
			}
			i += 2 + j
		}
		if i < 0 {
			lines = append(lines, manEscape(rest))
			return strings.Join(lines, "\n")
		}
		lines = append(lines, manEscape(rest[:i+1]))
		rest = rest[i+2:]
	}
}

// manEscape protects text that mdoc would otherwise interpret: a leading
// dot or quote, and backslashes.
func manEscape(s string) string {
	s = strings.ReplaceAll(s, `\`, `\e`)
	if strings.HasPrefix(s, ".") || strings.HasPrefix(s, "'") {
		s = `\&` + s
	}
	return s
}

package main

import (
	"fmt"
	"path/filepath"
	"strings"
)

// Exit statuses from sysexits.h, as Postfix's sendmail uses them.
const (
	exOK          = 0
	exUsage       = 64 // EX_USAGE: the command line is wrong
	exDataErr     = 65 // EX_DATAERR: a bad address or message
	exNoUser      = 67 // EX_NOUSER: the caller is no user
	exUnavailable = 69 // EX_UNAVAILABLE
	exTempFail    = 75 // EX_TEMPFAIL: try again later (no maildrop, no config)
)

// Modes of operation (-b).
const (
	modeDeliver    = 'm' // -bm, the default: a message from standard input
	modeSMTP       = 's' // -bs: SMTP on standard input and output
	modeQueue      = 'p' // -bp, mailq: list the queue
	modeNewaliases = 'i' // -bi, -I, newaliases: check the aliases files
	modeFlush      = 'q' // -q: deliver the queue now
)

// options is the parsed command line.
type options struct {
	mode       byte
	config     string // -C
	sender     string // -f, -r
	hasSender  bool
	fullName   string // -F
	notify     string // -N, in RFC 3461 form
	ret        string // -R
	envID      string // -V
	body       string // -B
	extract    bool   // -t
	ignoreDots bool   // -i, -oi
	verbose    int    // -v
	site       string // -qR SITE, -qS SITE
	recipients []string
	warnings   []string // what the caller should hear but does not stop us
}

// usageErr is a command line we cannot run: exit 64.
type usageErr string

func (e usageErr) Error() string { return string(e) }

// parseArgs reads the command line as Postfix's sendmail does: single
// letter options, bundled or not, whose arguments may be attached or the
// next word; the first word that is not an option, or "--", starts the
// recipients. argv[0] chooses the mode (mailq, newaliases).
func parseArgs(args []string) (*options, error) {
	o := &options{mode: modeDeliver}
	switch filepath.Base(args[0]) {
	case "mailq":
		o.mode = modeQueue
	case "newaliases":
		o.mode = modeNewaliases
	}
	i := 1
	for ; i < len(args); i++ {
		a := args[i]
		if a == "--" {
			i++
			break
		}
		if len(a) < 2 || a[0] != '-' {
			break
		}
		for j := 1; j < len(a); j++ {
			c := a[j]
			if !strings.ContainsRune(withArg, rune(c)) {
				if err := o.flag(c); err != nil {
					return nil, err
				}
				continue
			}
			// An option with an argument takes the rest of the word, or
			// the next word; -q and -b's arguments are attached only.
			v := a[j+1:]
			if v == "" && c != 'q' {
				if i+1 >= len(args) {
					return nil, usageErr(fmt.Sprintf("option requires an argument -- '%c'", c))
				}
				i++
				v = args[i]
			}
			if err := o.option(c, v); err != nil {
				return nil, err
			}
			break
		}
	}
	o.recipients = args[i:]
	return o, nil
}

// withArg are the options that take an argument (Postfix's getopt
// string).
const withArg = "BCFLNORVXbefhopqr"

// flag handles an option without an argument.
func (o *options) flag(c byte) error {
	switch c {
	case 't':
		o.extract = true
	case 'i':
		o.ignoreDots = true
	case 'v':
		o.verbose++
	case 'I':
		o.mode = modeNewaliases
	case 'G', 'U', 'c', 'm', 'n', 'x':
		// Accepted and ignored, as by Postfix (-c is no config flag here).
	default:
		return usageErr(fmt.Sprintf("invalid option -- '%c'", c))
	}
	return nil
}

// option handles an option with its argument.
func (o *options) option(c byte, v string) error {
	switch c {
	case 'b':
		switch v {
		case "m", "s", "p", "i":
			o.mode = v[0]
		case "d", "l", "v", "z", "t", "h", "H", "P", "D":
			return usageErr("unsupported: -b" + v)
		default:
			return usageErr("unknown -b option: -b" + v)
		}
	case 'C':
		o.config = v
	case 'f', 'r':
		o.sender, o.hasSender = unbracket(v), true
	case 'F':
		o.fullName = v
	case 'N':
		n, ok := dsnNotify(v)
		if !ok {
			o.warnings = append(o.warnings, fmt.Sprintf("bad -N option value %q -- ignored", v))
		} else {
			o.notify = n
		}
	case 'R':
		switch strings.ToLower(v) {
		case "full", "hdrs":
			o.ret = strings.ToUpper(v)
		default:
			o.warnings = append(o.warnings, fmt.Sprintf("bad -R option value %q -- ignored", v))
		}
	case 'V':
		if !xtextSafe(v) {
			return usageErr(fmt.Sprintf("bad -V option value %q: up to 100 printable characters", v))
		}
		o.envID = v
	case 'B':
		switch strings.ToUpper(v) {
		case "8BITMIME", "7BIT":
			o.body = strings.ToUpper(v)
		default:
			return usageErr("-B option needs 8BITMIME or 7BIT")
		}
	case 'o':
		// -oi is -i; -oA names an aliases file, -oem, -om, -odb, -odi,
		// -oQ... and the rest are sendmail's and ignored, as by Postfix.
		if v == "i" {
			o.ignoreDots = true
		}
	case 'q':
		switch {
		case v == "":
			o.mode = modeFlush
		case v[0] == 'R' || v[0] == 'S':
			site := v[1:]
			if site == "" {
				return usageErr("-q" + v[:1] + " needs a site")
			}
			o.mode, o.site = modeFlush, site
		default:
			// -q INTERVAL asks sendmail to become a queue runner:
			// postern's qmgr runs the queue anyway.
		}
	case 'e', 'h', 'L', 'O', 'p', 'X':
		// Accepted and ignored, as by Postfix.
	}
	return nil
}

// dsnNotify turns -N's value (sendmail's "success,delay" or
// "never") into RFC 3461 form; ok is false for anything else.
func dsnNotify(v string) (string, bool) {
	seen := map[string]bool{}
	var out []string
	for _, w := range strings.Split(strings.ToUpper(strings.ReplaceAll(v, " ", "")), ",") {
		switch w {
		case "NEVER", "SUCCESS", "FAILURE", "DELAY":
		default:
			return "", false
		}
		if !seen[w] {
			seen[w] = true
			out = append(out, w)
		}
	}
	if seen["NEVER"] && len(out) > 1 {
		return "", false
	}
	return strings.Join(out, ","), true
}

// xtextSafe reports whether an ENVID can travel: printable ASCII, at
// most 100 characters (RFC 3461 §4.4).
func xtextSafe(v string) bool {
	if v == "" || len(v) > 100 {
		return false
	}
	for i := 0; i < len(v); i++ {
		if v[i] < '!' || v[i] > '~' {
			return false
		}
	}
	return true
}

// unbracket removes the angle brackets of "<addr>".
func unbracket(v string) string {
	v = strings.TrimSpace(v)
	if len(v) >= 2 && v[0] == '<' && v[len(v)-1] == '>' {
		return v[1 : len(v)-1]
	}
	return v
}

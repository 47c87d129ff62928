package mailbox

import (
	"slices"
	"strings"
)

// System flags (RFC 3501 §2.3.2). \Recent is not stored: it belongs to a
// session (Message.Recent).
const (
	FlagSeen     = `\Seen`
	FlagAnswered = `\Answered`
	FlagFlagged  = `\Flagged`
	FlagDeleted  = `\Deleted`
	FlagDraft    = `\Draft`
	// FlagForwarded is the keyword Maildir's P (passed) letter stands
	// for, as Dovecot maps it.
	FlagForwarded = `$Forwarded`
)

// infoLetters maps the Maildir info letters (cr.yp.to/proto/maildir.html,
// "2," followed by flags in ASCII order) to IMAP flags.
var infoLetters = [...]struct {
	letter byte
	flag   string
}{
	{'D', FlagDraft},
	{'F', FlagFlagged},
	{'P', FlagForwarded},
	{'R', FlagAnswered},
	{'S', FlagSeen},
	{'T', FlagDeleted},
}

// canonFlag returns flag with a system flag's spelling normalized
// (flags compare without case, RFC 3501 §2.3.2).
func canonFlag(flag string) string {
	for _, l := range infoLetters {
		if strings.EqualFold(flag, l.flag) {
			return l.flag
		}
	}
	return flag
}

func hasFlag(flags []string, flag string) bool {
	return slices.ContainsFunc(flags, func(f string) bool { return strings.EqualFold(f, flag) })
}

// applyFlags computes the flags after op, sorted and without duplicates.
// \Recent is dropped: a client cannot set it.
func applyFlags(cur []string, op FlagOp, flags []string) []string {
	var out []string
	switch op {
	case FlagsReplace:
		out = nil
	default:
		out = slices.Clone(cur)
	}
	for _, f := range flags {
		f = canonFlag(f)
		if strings.EqualFold(f, `\Recent`) || f == "" {
			continue
		}
		switch op {
		case FlagsRemove:
			out = slices.DeleteFunc(out, func(g string) bool { return strings.EqualFold(f, g) })
		default:
			if !hasFlag(out, f) {
				out = append(out, f)
			}
		}
	}
	return sortFlags(out)
}

func sortFlags(f []string) []string {
	slices.Sort(f)
	return slices.Compact(f)
}

func sameFlags(a, b []string) bool { return slices.Equal(a, b) }

// parseInfo turns the part of a file name after ":2," into flags;
// lower-case letters are keywords by their index in kw (Dovecot's
// scheme). Unknown letters are kept in extra so that a rename does not
// drop what another program set.
func parseInfo(info string, kw []string) (flags []string, extra string) {
	for i := range len(info) {
		c := info[i]
		switch {
		case c >= 'a' && c <= 'z':
			if k := int(c - 'a'); k < len(kw) && kw[k] != "" {
				flags = append(flags, kw[k])
			}
		default:
			found := false
			for _, l := range infoLetters {
				if l.letter == c {
					flags = append(flags, l.flag)
					found = true
				}
			}
			if !found {
				extra += string(c)
			}
		}
	}
	return sortFlags(flags), extra
}

// formatInfo is parseInfo's inverse: flags (with extra) as info letters
// in ASCII order. Keywords not in kw are added to it (returned as more);
// past 26 keywords a keyword cannot be stored in a name and is dropped,
// as in Dovecot's Maildir.
func formatInfo(flags []string, extra string, kw []string) (info string, more []string) {
	var b []byte
	b = append(b, extra...)
	for _, f := range flags {
		found := false
		for _, l := range infoLetters {
			if strings.EqualFold(l.flag, f) {
				b = append(b, l.letter)
				found = true
			}
		}
		if found || strings.HasPrefix(f, `\`) {
			continue
		}
		k := slices.Index(kw, f)
		if k < 0 {
			if len(kw) >= MaxKeywords {
				continue
			}
			kw = append(kw, f)
			more = append(more, f)
			k = len(kw) - 1
		}
		b = append(b, byte('a'+k))
	}
	slices.Sort(b)
	return string(slices.Compact(b)), more
}

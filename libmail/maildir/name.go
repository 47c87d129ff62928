package maildir

import (
	"errors"
	"fmt"
	"strconv"
	"strings"
)

// Name is the parsed form of a file name this package writes:
// <Sec>.M<Usec>P<PID>Q<Seq>.<Host>[,S=<Size>][,W=<VSize>], or for a keyed
// delivery (see Once) <Sec>.M<Usec>K<Key>.<Host>[,S=<Size>][,W=<VSize>],
// optionally followed by the ":2,<flags>" info that mail readers add when
// they move a message to cur/.
type Name struct {
	Sec  int64  // seconds since the Unix epoch at delivery
	Usec int    // microseconds within Sec, 0 to 999999
	PID  int    // process ID of the delivering process
	Seq  uint64 // the Writer's delivery counter
	Host string // host name as it appears in the name, that is escaped
	Size int64  // size of the file in bytes, or -1 if the name has no S=
	// VSize is the size with CRLF line ends (Dovecot's W=, the "virtual
	// size" IMAP reports as RFC822.SIZE), or -1 if the name has no W=.
	VSize int64
	// Key is the delivery's key for a keyed name (PID and Seq are then 0),
	// "" otherwise.
	Key string
}

// String formats n as a Maildir file name, without info.
func (n Name) String() string {
	return string(n.appendTo(make([]byte, 0, 64+len(n.Host))))
}

// appendTo builds the name without fmt because Deliver does it for every
// message. The parts follow the spec's "modern" unique names
// (cr.yp.to/proto/maildir.html): Mn is the microsecond counter from the
// same clock reading as the seconds, Pn the process ID, and Qn the number
// of deliveries made. ",S=" is Dovecot's size field, which lets it skip a
// stat.
func (n Name) appendTo(b []byte) []byte {
	b = strconv.AppendInt(b, n.Sec, 10)
	b = append(b, ".M"...)
	b = strconv.AppendInt(b, int64(n.Usec), 10)
	if n.Key != "" {
		b = append(b, 'K')
		b = append(b, n.Key...)
	} else {
		b = append(b, 'P')
		b = strconv.AppendInt(b, int64(n.PID), 10)
		b = append(b, 'Q')
		b = strconv.AppendUint(b, n.Seq, 10)
	}
	b = append(b, '.')
	b = append(b, n.Host...)
	if n.Size >= 0 {
		b = append(b, ",S="...)
		b = strconv.AppendInt(b, n.Size, 10)
	}
	if n.VSize >= 0 {
		b = append(b, ",W="...)
		b = strconv.AppendInt(b, n.VSize, 10)
	}
	return b
}

// escapeHost makes a host name safe for a Maildir file name. The spec says
// to write "/" as \057 and ":" as \072, since "/" cannot appear in a file
// name and ":" introduces the info part. "," is written as \054 as well,
// because it introduces the ",S=" field that Dovecot parses, and a comma in
// the host would make that ambiguous.
func escapeHost(host string) string {
	if !strings.ContainsAny(host, "/:,") {
		return host
	}
	var b strings.Builder
	for i := range len(host) {
		switch c := host[i]; c {
		case '/':
			b.WriteString(`\057`)
		case ':':
			b.WriteString(`\072`)
		case ',':
			b.WriteString(`\054`)
		default:
			b.WriteByte(c)
		}
	}
	return b.String()
}

var errBadName = errors.New("not a name written by this package")

// ParseName parses a file name written by Writer, in new/ or, with info,
// in cur/. Fields after the unique part other than S= and W= are ignored;
// if one appears more than once the first wins.
func ParseName(name string) (Name, error) {
	var n Name
	base, _, _ := strings.Cut(name, ":")
	unique, fields, _ := strings.Cut(base, ",")
	sec, rest, ok1 := strings.Cut(unique, ".")
	mid, host, ok2 := strings.Cut(rest, ".")
	if !ok1 || !ok2 {
		return n, fmt.Errorf("parse maildir name %q: %w", name, errBadName)
	}
	n.Host = host
	var err error
	if n.Sec, err = parseInt(sec, 63); err != nil {
		return n, fmt.Errorf("parse maildir name %q: seconds: %w", name, err)
	}
	// mid is M<usec>P<pid>Q<seq>, in that order, as appendTo writes it,
	// or M<usec>K<key>.
	usec, ok1 := strings.CutPrefix(mid, "M")
	if u, key, ok := strings.Cut(usec, "K"); ok1 && ok {
		if !validKey(key) {
			return n, fmt.Errorf("parse maildir name %q: key: %w", name, errBadName)
		}
		usec, n.Key = u, key
	}
	var pid, seq string
	if n.Key == "" {
		var ok2, ok3 bool
		usec, pid, ok2 = strings.Cut(usec, "P")
		pid, seq, ok3 = strings.Cut(pid, "Q")
		if !ok2 || !ok3 {
			ok1 = false
		}
	}
	if !ok1 {
		return n, fmt.Errorf("parse maildir name %q: %w", name, errBadName)
	}
	u, err := parseInt(usec, 63)
	if err != nil || u > 999999 {
		return n, fmt.Errorf("parse maildir name %q: microseconds: %w", name, errBadName)
	}
	n.Usec = int(u)
	if n.Key == "" {
		p, err := parseInt(pid, strconv.IntSize-1)
		if err != nil {
			return n, fmt.Errorf("parse maildir name %q: pid: %w", name, err)
		}
		n.PID = int(p)
		if n.Seq, err = strconv.ParseUint(seq, 10, 64); err != nil {
			return n, fmt.Errorf("parse maildir name %q: counter: %w", name, err)
		}
	}
	n.Size, n.VSize = -1, -1
	for fields != "" {
		var f string
		f, fields, _ = strings.Cut(fields, ",")
		if v, ok := strings.CutPrefix(f, "S="); ok && n.Size < 0 {
			if n.Size, err = parseInt(v, 63); err != nil {
				return n, fmt.Errorf("parse maildir name %q: size: %w", name, err)
			}
		}
		if v, ok := strings.CutPrefix(f, "W="); ok && n.VSize < 0 {
			if n.VSize, err = parseInt(v, 63); err != nil {
				return n, fmt.Errorf("parse maildir name %q: virtual size: %w", name, err)
			}
		}
	}
	return n, nil
}

// validKey reports whether key can stand in a keyed name: letters,
// digits and '-' only, so that it holds none of the separators of a name
// ('.', ',', ':', '/') and cannot be mistaken for the P and Q fields.
func validKey(key string) bool {
	if key == "" || len(key) > 64 {
		return false
	}
	for i := range len(key) {
		c := key[i]
		if !('0' <= c && c <= '9' || 'A' <= c && c <= 'Z' || 'a' <= c && c <= 'z' || c == '-') {
			return false
		}
	}
	return true
}

// parseInt accepts only plain decimal digits: strconv.ParseInt would also
// take a sign, which no name written here contains.
func parseInt(s string, bits int) (int64, error) {
	v, err := strconv.ParseUint(s, 10, bits)
	return int64(v), err
}

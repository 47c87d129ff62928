package queue

import (
	"fmt"
	"strconv"
	"strings"
	"time"
)

// Envelope is what an entry carries besides the message: who sent it, to
// whom, with which DSN requests, and where it came from.
type Envelope struct {
	Arrival    time.Time
	Sender     string // "" is the null sender <>
	Recipients []Recipient

	EnvID    string // RFC 3461 ENVID, decoded
	Ret      string // RFC 3461 RET: "FULL", "HDRS" or ""
	Body     string // "7BIT", "8BITMIME", "BINARYMIME" or ""
	SMTPUTF8 bool   // RFC 6531

	ClientName string // the client's verified name, or "unknown"
	ClientAddr string // the client's IP address; "" for local submissions
	Helo       string
	Proto      string // SMTP, ESMTP, ESMTPS, ESMTPA, ...; "local" for local origins
	AuthUser   string // SASL login of the submitter, if any

	// Bounce marks a delivery status notification made by postern itself,
	// so that its failure is sent to the postmaster (a double bounce)
	// instead of bouncing again; DoubleBounce marks that notice, whose
	// failure is only logged.
	Bounce       bool
	DoubleBounce bool
}

// Recipient is one envelope recipient with its DSN parameters.
type Recipient struct {
	Addr   string
	ORcpt  string // RFC 3461 ORCPT as "type;address", decoded; "" if none
	Notify string // RFC 3461 NOTIFY: "NEVER" or a comma list of SUCCESS, FAILURE, DELAY; "" for the default
}

// The first line names the format's version. Version 2 added the
// prepend line; version 1 entries (no prepended header) are still read.
const (
	magic  = "postern-queue 2\n"
	magic1 = "postern-queue 1\n"
)

// The 16 size digits and the 16 prepend digits sit at fixed offsets in
// every entry, so the writer can patch them once the message has streamed
// through (in one write: only "\nprepend " lies between them).
const (
	sizeOffset    = len(magic) + len("size ")
	sizeDigits    = 16
	headerHead1   = sizeOffset + sizeDigits + 1 // version 1: the magic and size lines
	prependOffset = headerHead1 + len("prepend ")
	headerHead    = prependOffset + sizeDigits + 1 // version 2: and the prepend line
)

// MaxPrepend bounds the prepended header of one entry. Every reader holds
// it in memory; a few Authentication-Results, DKIM and ARC fields need a
// few KB.
const MaxPrepend = 1 << 20

// appendEnvelope renders the version line, the size and prepend lines and
// the envelope lines, ending with the empty line.
func appendEnvelope(b []byte, env *Envelope, size, prepend int64) []byte {
	b = append(b, magic...)
	b = append(b, "size "...)
	b = append(appendDigits(b, size), '\n')
	b = append(b, "prepend "...)
	b = append(appendDigits(b, prepend), '\n')
	b = append(b, "arrival "...)
	b = strconv.AppendInt(b, env.Arrival.UnixNano(), 10)
	b = append(b, '\n')
	b = appendField(b, "sender", env.Sender)
	for _, kv := range []struct{ k, v string }{
		{"envid", env.EnvID}, {"ret", env.Ret}, {"body", env.Body},
		{"client_name", env.ClientName}, {"client_addr", env.ClientAddr},
		{"helo", env.Helo}, {"proto", env.Proto}, {"auth", env.AuthUser},
	} {
		if kv.v != "" {
			b = appendField(b, kv.k, kv.v)
		}
	}
	if env.SMTPUTF8 {
		b = append(b, "smtputf8\n"...)
	}
	if env.Bounce {
		b = append(b, "bounce\n"...)
	}
	if env.DoubleBounce {
		b = append(b, "double_bounce\n"...)
	}
	for _, r := range env.Recipients {
		b = append(b, "rcpt "...)
		b = append(b, escape(r.Addr)...)
		if r.Notify != "" {
			b = append(b, " notify="...)
			b = append(b, escape(r.Notify)...)
		}
		if r.ORcpt != "" {
			b = append(b, " orcpt="...)
			b = append(b, escape(r.ORcpt)...)
		}
		b = append(b, '\n')
	}
	return append(b, '\n')
}

// appendDigits appends n (not negative) in decimal, zero-padded to
// sizeDigits; a larger n comes out longer, which callers check.
func appendDigits(b []byte, n int64) []byte {
	var d [20]byte
	s := strconv.AppendInt(d[:0], n, 10)
	for i := len(s); i < sizeDigits; i++ {
		b = append(b, '0')
	}
	return append(b, s...)
}

func appendField(b []byte, key, val string) []byte {
	b = append(b, key...)
	b = append(b, ' ')
	b = append(b, escape(val)...)
	return append(b, '\n')
}

// parseEnvelopeLine applies one envelope line to env.
func parseEnvelopeLine(env *Envelope, line string) error {
	key, rest, _ := strings.Cut(line, " ")
	switch key {
	case "smtputf8":
		env.SMTPUTF8 = true
		return nil
	case "bounce":
		env.Bounce = true
		return nil
	case "double_bounce":
		env.DoubleBounce = true
		return nil
	case "arrival":
		n, err := strconv.ParseInt(rest, 10, 64)
		if err != nil {
			return fmt.Errorf("bad arrival %q", rest)
		}
		env.Arrival = time.Unix(0, n)
		return nil
	case "rcpt":
		return parseRecipient(env, rest)
	}
	val, err := unescape(rest)
	if err != nil {
		return err
	}
	switch key {
	case "sender":
		env.Sender = val
	case "envid":
		env.EnvID = val
	case "ret":
		env.Ret = val
	case "body":
		env.Body = val
	case "client_name":
		env.ClientName = val
	case "client_addr":
		env.ClientAddr = val
	case "helo":
		env.Helo = val
	case "proto":
		env.Proto = val
	case "auth":
		env.AuthUser = val
	default:
		// Unknown keys are errors, not skipped: an entry written by a newer
		// postern may need them, and guessing could deliver it wrongly.
		return fmt.Errorf("unknown envelope field %q", key)
	}
	return nil
}

func parseRecipient(env *Envelope, rest string) error {
	fields := strings.Split(rest, " ")
	addr, err := unescape(fields[0])
	if err != nil {
		return err
	}
	r := Recipient{Addr: addr}
	for _, f := range fields[1:] {
		k, v, ok := strings.Cut(f, "=")
		if !ok {
			return fmt.Errorf("bad recipient option %q", f)
		}
		val, err := unescape(v)
		if err != nil {
			return err
		}
		switch k {
		case "notify":
			r.Notify = val
		case "orcpt":
			r.ORcpt = val
		default:
			return fmt.Errorf("unknown recipient option %q", k)
		}
	}
	env.Recipients = append(env.Recipients, r)
	return nil
}

package main

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"
	"io"
	"strings"

	"postern.dev/postern/libmail/maildrop"
)

// smtp is -bs: an SMTP dialogue on standard input and output (RFC 5321),
// as a program that speaks SMTP to a pipe (some mail clients and
// Postfix's own sendmail -bs users) expects it. Each message accepted
// goes into maildrop/ like any other submission, with the same trust:
// MAIL FROM is a request that pickup honours for trusted users only.
func (s *sendmail) smtp(o *options) int {
	r := bufio.NewReaderSize(s.stdin, 64<<10)
	w := bufio.NewWriter(s.stdout)
	host := s.params.MyHostname
	reply := func(format string, args ...any) {
		fmt.Fprintf(w, format+"\r\n", args...)
		// Flush unless more pipelined commands wait (RFC 2920 §3.1).
		if r.Buffered() == 0 {
			w.Flush()
		}
	}
	defer w.Flush()
	reply("220 %s ESMTP %s", host, s.params.MailName)
	var tx *maildrop.Envelope
	greeted := false
	for {
		line, err := readCommand(r)
		if err != nil {
			return exOK // the client went away: nothing half-done was promised
		}
		verb, arg, _ := strings.Cut(line, " ")
		switch strings.ToUpper(verb) {
		case "EHLO":
			greeted, tx = true, nil
			fmt.Fprintf(w, "250-%s\r\n250-PIPELINING\r\n250-SIZE %d\r\n250-8BITMIME\r\n250-DSN\r\n250-SMTPUTF8\r\n", host, s.params.MessageSizeLimit)
			reply("250 ENHANCEDSTATUSCODES")
		case "HELO":
			greeted, tx = true, nil
			reply("250 %s", host)
		case "MAIL":
			switch {
			case !greeted:
				reply("503 5.5.1 Error: send HELO/EHLO first")
			case tx != nil:
				reply("503 5.5.1 Error: nested MAIL command")
			default:
				env, err := mailFrom(arg)
				if err != nil {
					reply("501 5.5.4 %s", syntaxReply("MAIL FROM:", err))
					break
				}
				tx = env
				tx.FullName = o.fullName
				reply("250 2.1.0 Ok")
			}
		case "RCPT":
			if tx == nil {
				reply("503 5.5.1 Error: need MAIL command")
				break
			}
			addr, notify, err := rcptTo(arg)
			if err != nil {
				code := "5.1.3"
				if errors.Is(err, errSyntax) {
					code = "5.5.4"
				}
				reply("501 %s %s", code, syntaxReply("RCPT TO:", err))
				break
			}
			if notify == "" {
				notify = o.notify
			}
			tx.Recipients = append(tx.Recipients, maildrop.Recipient{Addr: addr, Notify: notify})
			reply("250 2.1.5 Ok")
		case "DATA":
			switch {
			case tx == nil:
				reply("503 5.5.1 Error: need MAIL command")
			case len(tx.Recipients) == 0:
				reply("554 5.5.1 Error: no valid recipients")
			default:
				reply("354 End data with <CR><LF>.<CR><LF>")
				err := s.store(tx, func(mw io.Writer) error { return copyData(r, mw, s.params.MessageSizeLimit) })
				tx = nil
				switch {
				case err == nil:
					reply("250 2.0.0 Ok: queued")
				case errors.Is(err, errTooBig):
					reply("552 5.3.4 Error: message file too big")
				case errors.Is(err, errMessage):
					reply("554 5.6.0 Error: %v", err)
				case errors.Is(err, io.ErrUnexpectedEOF):
					return exOK
				default:
					reply("451 4.3.0 Error: queue file write error")
				}
			}
		case "RSET":
			tx = nil
			reply("250 2.0.0 Ok")
		case "NOOP":
			reply("250 2.0.0 Ok")
		case "VRFY":
			if strings.TrimSpace(arg) == "" {
				reply("501 5.5.4 Syntax: VRFY address")
				break
			}
			reply("252 2.0.0 %s", strings.TrimSpace(arg))
		case "QUIT":
			reply("221 2.0.0 Bye")
			return exOK
		default:
			reply("502 5.5.2 Error: command not recognized")
		}
	}
}

// readCommand reads one command line, without its line end, bounded.
func readCommand(r *bufio.Reader) (string, error) {
	line, err := r.ReadSlice('\n')
	if errors.Is(err, bufio.ErrBufferFull) {
		for errors.Is(err, bufio.ErrBufferFull) {
			_, err = r.ReadSlice('\n')
		}
		return "\x00too long", err
	}
	if err != nil {
		return "", err
	}
	return strings.TrimRight(string(line), "\r\n"), nil
}

var errTooBig = fmt.Errorf("%w: message file too big", errMessage)

// copyData copies an SMTP message body up to the "." line, undoing dot
// stuffing (RFC 5321 §4.5.2) and writing LF line ends. Past limit bytes
// it reads on to the end and returns errTooBig.
func copyData(r *bufio.Reader, w io.Writer, limit int64) error {
	var n int64
	var werr error
	for {
		line, err := r.ReadBytes('\n')
		if err != nil {
			return io.ErrUnexpectedEOF
		}
		line = bytes.TrimRight(line, "\r\n")
		if len(line) == 1 && line[0] == '.' {
			break
		}
		if len(line) > 0 && line[0] == '.' {
			line = line[1:]
		}
		n += int64(len(line)) + 2
		if n > limit {
			werr = errTooBig
		}
		if werr == nil && bytes.ContainsAny(line, "\r\x00") {
			werr = fmt.Errorf("%w: a CR or NUL inside a line", errMessage)
		}
		if werr == nil {
			if _, err := w.Write(append(line, '\n')); err != nil {
				werr = err
			}
		}
	}
	return werr
}

// mailFrom parses MAIL's argument: FROM:<path> and the parameters of
// RFC 1870 (SIZE), RFC 6152 (BODY), RFC 6531 (SMTPUTF8) and RFC 3461
// (RET, ENVID).
func mailFrom(arg string) (*maildrop.Envelope, error) {
	path, params, err := splitPath(arg, "FROM:")
	if err != nil {
		return nil, err
	}
	if path != "" {
		if err := checkRecipient(path); err != nil {
			return nil, err
		}
	}
	env := &maildrop.Envelope{HasSender: true, Sender: path}
	for _, p := range params {
		k, v, _ := strings.Cut(p, "=")
		switch strings.ToUpper(k) {
		case "SIZE", "SMTPUTF8", "AUTH":
		case "BODY":
			switch strings.ToUpper(v) {
			case "7BIT", "8BITMIME":
				env.Body = strings.ToUpper(v)
			default:
				return nil, fmt.Errorf("bad BODY parameter %q", v)
			}
		case "RET":
			switch strings.ToUpper(v) {
			case "FULL", "HDRS":
				env.Ret = strings.ToUpper(v)
			default:
				return nil, fmt.Errorf("bad RET parameter %q", v)
			}
		case "ENVID":
			id, ok := decodeXtext(v)
			if !ok {
				return nil, fmt.Errorf("bad ENVID parameter")
			}
			env.EnvID = id
		default:
			return nil, fmt.Errorf("unknown MAIL parameter %q", k)
		}
	}
	return env, nil
}

// rcptTo parses RCPT's argument: TO:<path> and NOTIFY (ORCPT is
// accepted and not kept).
func rcptTo(arg string) (addr, notify string, err error) {
	path, params, err := splitPath(arg, "TO:")
	if err != nil {
		return "", "", err
	}
	if path == "" {
		return "", "", errors.New("empty recipient")
	}
	if err := checkRecipient(path); err != nil {
		return "", "", err
	}
	for _, p := range params {
		k, v, _ := strings.Cut(p, "=")
		switch strings.ToUpper(k) {
		case "NOTIFY":
			n, ok := dsnNotify(v)
			if !ok {
				return "", "", fmt.Errorf("bad NOTIFY parameter %q", v)
			}
			notify = n
		case "ORCPT":
		default:
			return "", "", fmt.Errorf("unknown RCPT parameter %q", k)
		}
	}
	return path, notify, nil
}

// errSyntax is a MAIL or RCPT argument without its path; the reply
// shows the syntax, as Postfix's does.
var errSyntax = errors.New("syntax")

// syntaxReply is the 501 text for a command's error.
func syntaxReply(verb string, err error) string {
	if errors.Is(err, errSyntax) {
		return "Syntax: " + verb + "<address>"
	}
	return err.Error()
}

// splitPath cuts "FROM:<path> PARAM..." into the path (without brackets)
// and the parameters.
func splitPath(arg, prefix string) (string, []string, error) {
	arg = strings.TrimSpace(arg)
	if len(arg) < len(prefix) || !strings.EqualFold(arg[:len(prefix)], prefix) {
		return "", nil, errSyntax
	}
	arg = strings.TrimLeft(arg[len(prefix):], " ")
	if !strings.HasPrefix(arg, "<") {
		return "", nil, errSyntax
	}
	end := strings.IndexByte(arg, '>')
	if end < 0 {
		return "", nil, errSyntax
	}
	path := arg[1:end]
	// A source route (RFC 5321 §4.1.2, obsolete) is dropped, as Postfix does.
	if strings.HasPrefix(path, "@") {
		if i := strings.IndexByte(path, ':'); i >= 0 {
			path = path[i+1:]
		}
	}
	return path, strings.Fields(arg[end+1:]), nil
}

// decodeXtext decodes RFC 3461 §4 xtext.
func decodeXtext(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c == '+' {
			if i+2 >= len(s) {
				return "", false
			}
			var v byte
			if _, err := fmt.Sscanf(s[i+1:i+3], "%02X", &v); err != nil {
				return "", false
			}
			if v < ' ' || v == 0x7f {
				return "", false
			}
			b.WriteByte(v)
			i += 2
			continue
		}
		if c < '!' || c > '~' || c == '=' {
			return "", false
		}
		b.WriteByte(c)
	}
	return b.String(), b.Len() > 0
}

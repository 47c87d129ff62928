package dsn

import (
	"bufio"
	"fmt"
	"io"
	"strings"
	"time"

	"postern.dev/postern/libmail/address"
	"postern.dev/postern/libmail/message"
)

// Kind is what a report tells the sender.
type Kind int

const (
	Failure Kind = iota // undeliverable (Action: failed)
	Delay               // still trying (Action: delayed)
	Success             // delivered, as requested with NOTIFY=SUCCESS (Action: delivered)
)

// Recipient is one per-recipient block of the report.
type Recipient struct {
	Final       string // the recipient as delivered (Final-Recipient)
	Original    string // RFC 3461 ORCPT as "type;address", if the client gave one
	Status      string // RFC 3463 code: "5.1.1"
	RemoteMTA   string // host name of the MTA that answered, if remote
	Diagnostic  string // the reply or reason
	DiagType    string // "smtp" for SMTP replies, "x-unix" for local reasons
	LastAttempt time.Time
	// Action overrides the Kind's action for this recipient: "relayed"
	// for a success notice about mail handed to a remote MTA, which
	// reports no further (RFC 3464 §2.3.3).
	Action string
}

// Report is one notification.
type Report struct {
	Kind         Kind
	ReportingMTA string // myhostname
	QueueID      string
	EnvID        string // RFC 3461 ENVID
	Sender       string // the original sender, who receives the report
	To           string // where the report goes (Sender, or postmaster for a double bounce)
	From         string // "MAILER-DAEMON@myhostname"
	Arrival      time.Time
	Recipients   []Recipient
	// Headers returns only the original's header (RET=HDRS, or the
	// original is larger than SizeLimit).
	Headers   bool
	SizeLimit int64
	UTF8      bool // the original needed SMTPUTF8: use RFC 6533 types
	MessageID string
}

// Write composes the report into w with CRLF line ends, reading the
// original message (CRLF, size bytes) from orig.
func Write(w io.Writer, r *Report, orig io.Reader, size int64, now time.Time) error {
	bw := bufio.NewWriterSize(w, 32<<10)
	boundary := fmt.Sprintf("%s.%d/%s", clean(r.QueueID), now.Unix(), clean(r.ReportingMTA))
	subject := map[Kind]string{
		Failure: "Undelivered Mail Returned to Sender",
		Delay:   "Delayed Mail (still being retried)",
		Success: "Successful Mail Delivery Report",
	}[r.Kind]
	// Every value passes through clean: the fields come from the envelope
	// and from remote servers, and a CR or LF in one must not start a
	// header of its own.
	hdr := func(name, value string) { bw.WriteString(name + ": " + clean(value) + "\r\n") }
	hdr("Date", message.Date(now))
	hdr("From", r.From+" (Mail Delivery System)")
	hdr("Subject", subject)
	// The address is kept unquoted; a local part such as `x> y` must be
	// quoted again, or the header would end the address early.
	hdr("To", "<"+address.Quote(r.To)+">")
	hdr("Auto-Submitted", "auto-replied")
	hdr("Message-Id", "<"+r.MessageID+">")
	hdr("MIME-Version", "1.0")
	hdr("Content-Type", `multipart/report; report-type=delivery-status; boundary="`+boundary+`"`)
	hdr("Content-Transfer-Encoding", "8bit")
	bw.WriteString("\r\nThis is a MIME-encapsulated message.\r\n\r\n")

	// Part 1: for people.
	bw.WriteString("--" + boundary + "\r\n")
	hdr("Content-Description", "Notification")
	hdr("Content-Type", "text/plain; charset=utf-8")
	hdr("Content-Transfer-Encoding", "8bit")
	bw.WriteString("\r\n")
	writeExplanation(bw, r)

	// Part 2: for programs.
	bw.WriteString("\r\n--" + boundary + "\r\n")
	hdr("Content-Description", "Delivery report")
	if r.UTF8 {
		hdr("Content-Type", "message/global-delivery-status")
		hdr("Content-Transfer-Encoding", "8bit")
	} else {
		hdr("Content-Type", "message/delivery-status")
	}
	bw.WriteString("\r\n")
	writeStatus(bw, r)

	// Part 3: the original.
	headersOnly := r.Headers || (r.SizeLimit > 0 && size > r.SizeLimit)
	bw.WriteString("\r\n--" + boundary + "\r\n")
	switch {
	case headersOnly && r.UTF8:
		hdr("Content-Description", "Undelivered Message Headers")
		hdr("Content-Type", "message/global-headers")
	case headersOnly:
		hdr("Content-Description", "Undelivered Message Headers")
		hdr("Content-Type", "text/rfc822-headers")
	case r.UTF8:
		hdr("Content-Description", "Undelivered Message")
		hdr("Content-Type", "message/global")
	default:
		hdr("Content-Description", "Undelivered Message")
		hdr("Content-Type", "message/rfc822")
	}
	hdr("Content-Transfer-Encoding", "8bit")
	bw.WriteString("\r\n")
	if err := copyOriginal(bw, orig, headersOnly); err != nil {
		return err
	}
	bw.WriteString("\r\n--" + boundary + "--\r\n")
	return bw.Flush()
}

func writeExplanation(w *bufio.Writer, r *Report) {
	fmt.Fprintf(w, "This is the postern mail system at %s.\r\n\r\n", clean(r.ReportingMTA))
	switch r.Kind {
	case Failure:
		w.WriteString("Your message could not be delivered to the recipients below.\r\n" +
			"The problem is permanent: it will not be retried. The reasons\r\n" +
			"and the original message follow.\r\n")
	case Delay:
		w.WriteString("Your message has not been delivered yet to the recipients\r\n" +
			"below. This is a warning only: delivery continues to be\r\n" +
			"attempted, and you do not need to send it again.\r\n")
	case Success:
		w.WriteString("Your message was delivered to the recipients below, as you\r\n" +
			"asked to be told.\r\n")
	}
	w.WriteString("\r\n")
	for _, rc := range r.Recipients {
		fmt.Fprintf(w, "<%s>: %s\r\n", clean(rc.Final), oneLine(rc.Diagnostic))
	}
}

func writeStatus(w *bufio.Writer, r *Report) {
	// Per-message fields (RFC 3464 §2.2).
	fmt.Fprintf(w, "Reporting-MTA: dns; %s\r\n", clean(r.ReportingMTA))
	fmt.Fprintf(w, "X-Postern-Queue-ID: %s\r\n", clean(r.QueueID))
	if r.EnvID != "" {
		fmt.Fprintf(w, "Original-Envelope-Id: %s\r\n", Xtext(r.EnvID))
	}
	fmt.Fprintf(w, "X-Postern-Sender: rfc822; %s\r\n", clean(address.Quote(r.Sender)))
	fmt.Fprintf(w, "Arrival-Date: %s\r\n", message.Date(r.Arrival))
	action := map[Kind]string{Failure: "failed", Delay: "delayed", Success: "delivered"}[r.Kind]
	// Per-recipient fields (RFC 3464 §2.3), each block after an empty line.
	for _, rc := range r.Recipients {
		w.WriteString("\r\n")
		fmt.Fprintf(w, "Final-Recipient: %s; %s\r\n", addrType(rc.Final, r.UTF8), clean(address.Quote(rc.Final)))
		if rc.Original != "" {
			typ, addr, ok := strings.Cut(rc.Original, ";")
			if ok {
				fmt.Fprintf(w, "Original-Recipient: %s;%s\r\n", clean(typ), clean(addr))
			}
		}
		if rc.Action != "" {
			fmt.Fprintf(w, "Action: %s\r\n", clean(rc.Action))
		} else {
			fmt.Fprintf(w, "Action: %s\r\n", action)
		}
		fmt.Fprintf(w, "Status: %s\r\n", clean(rc.Status))
		if rc.RemoteMTA != "" {
			fmt.Fprintf(w, "Remote-MTA: dns; %s\r\n", clean(rc.RemoteMTA))
		}
		if rc.Diagnostic != "" {
			typ := rc.DiagType
			if typ == "" {
				typ = "x-unix"
			}
			fmt.Fprintf(w, "Diagnostic-Code: %s; %s\r\n", clean(typ), oneLine(rc.Diagnostic))
		}
		if !rc.LastAttempt.IsZero() {
			fmt.Fprintf(w, "Last-Attempt-Date: %s\r\n", message.Date(rc.LastAttempt))
		}
	}
}

// addrType is the address type of a recipient (RFC 3464 §2.1.2; utf-8
// from RFC 6533 for internationalized addresses).
func addrType(addr string, utf8 bool) string {
	for i := 0; i < len(addr); i++ {
		if addr[i] >= 0x80 {
			return "utf-8"
		}
	}
	return "rfc822"
}

// copyOriginal copies the message, or only its header section.
func copyOriginal(w *bufio.Writer, orig io.Reader, headersOnly bool) error {
	br := bufio.NewReaderSize(orig, 32<<10)
	if !headersOnly {
		n, err := br.WriteTo(w)
		if err != nil {
			return fmt.Errorf("copy original message: %w", err)
		}
		if n == 0 {
			return nil
		}
		return nil
	}
	bol := true // line is the start of a line, not the rest of a long one
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if bol && (string(line) == "\r\n" || string(line) == "\n") {
				return nil
			}
			w.Write(line)
			bol = line[len(line)-1] == '\n'
		}
		if err == bufio.ErrBufferFull {
			continue
		}
		if err == io.EOF {
			return nil
		}
		if err != nil {
			return fmt.Errorf("copy original header: %w", err)
		}
	}
}

// oneLine keeps a diagnostic on one header line.
func oneLine(s string) string {
	return clean(strings.Join(strings.Fields(s), " "))
}

// clean replaces ASCII control characters with '?', as Postfix's
// printable() does, so that no value can end a line or hide in one.
func clean(s string) string {
	i := strings.IndexFunc(s, isControl)
	if i < 0 {
		return s
	}
	b := []byte(s)
	for ; i < len(b); i++ {
		if b[i] < 0x20 || b[i] == 0x7f {
			b[i] = '?'
		}
	}
	return string(b)
}

func isControl(r rune) bool { return r < 0x20 || r == 0x7f }

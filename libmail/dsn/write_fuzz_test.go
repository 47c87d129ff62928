package dsn

import (
	"bytes"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"postern.dev/postern/libmail/address"
)

// The helpers here are prefixed fz so that they cannot collide with the
// package's other tests.

var (
	fzNow     = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	fzArrival = time.Date(2026, 4, 30, 9, 30, 15, 0, time.FixedZone("", -7*3600))
	fzStatus  = regexp.MustCompile(`^[245]\.[0-9]{1,3}\.[0-9]{1,3}$`)
)

const (
	fzQueueID = "0U2N6AUGV0K4A7B3"
	fzHost    = "mail.example.test"
)

// fzReport builds a report around the given recipients.
func fzReport(kind Kind, envid, sender string, utf8, headers bool, limit int64, rcpts []Recipient) *Report {
	return &Report{
		Kind: kind, ReportingMTA: fzHost, QueueID: fzQueueID, EnvID: envid,
		Sender: sender, To: sender, From: "MAILER-DAEMON@" + fzHost,
		Arrival: fzArrival, Recipients: rcpts, Headers: headers, SizeLimit: limit,
		UTF8: utf8, MessageID: "0U2N6AUGV0K4A7C0." + fzQueueID + "@" + fzHost,
	}
}

// fzBoundary is the boundary Write uses for r at fzNow.
func fzBoundary(r *Report) string {
	return r.QueueID + "." + strconv.FormatInt(fzNow.Unix(), 10) + "/" + r.ReportingMTA
}

// fzHeaderSection returns the lines of a header section (CRLF ends, up to
// the empty line) and what follows it. A bare CR or LF inside a line, the
// mark of header injection, fails the test.
func fzHeaderSection(t *testing.T, where string, b []byte) ([]string, []byte) {
	t.Helper()
	end := bytes.Index(b, []byte("\r\n\r\n"))
	if end < 0 {
		t.Fatalf("%s: header section does not end", where)
	}
	var lines []string
	for _, l := range strings.Split(string(b[:end]), "\r\n") {
		if strings.ContainsAny(l, "\r\n") {
			t.Fatalf("%s: header line %q holds a bare CR or LF", where, l)
		}
		lines = append(lines, l)
	}
	return lines, b[end+4:]
}

// fzFields checks that lines are "Name: value" fields with the given
// names, in that order, and returns the values.
func fzFields(t *testing.T, where string, lines []string, names ...string) []string {
	t.Helper()
	if len(lines) != len(names) {
		t.Fatalf("%s: %d header lines, want %d (%v):\n%q", where, len(lines), len(names), names, lines)
	}
	var vals []string
	for i, l := range lines {
		v, ok := strings.CutPrefix(l, names[i]+": ")
		if !ok {
			t.Fatalf("%s: line %d is %q, want a %s field", where, i, l, names[i])
		}
		vals = append(vals, v)
	}
	return vals
}

// fzUnxtext decodes RFC 3461 xtext.
func fzUnxtext(s string) (string, bool) {
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] != '+' {
			if s[i] < '!' || s[i] > '~' || s[i] == '=' {
				return "", false
			}
			b.WriteByte(s[i])
			continue
		}
		if i+2 >= len(s) {
			return "", false
		}
		hi, lo := strings.IndexByte("0123456789ABCDEF", s[i+1]), strings.IndexByte("0123456789ABCDEF", s[i+2])
		if hi < 0 || lo < 0 {
			return "", false
		}
		b.WriteByte(byte(hi<<4 | lo))
		i += 2
	}
	return b.String(), true
}

// fzHeaderOf is the header section of a message as copyOriginal should
// return it: every line up to the first empty one.
func fzHeaderOf(orig []byte) []byte {
	for i := 0; i < len(orig); {
		j := bytes.IndexByte(orig[i:], '\n')
		if j < 0 {
			return orig
		}
		line := orig[i : i+j+1]
		if string(line) == "\r\n" || string(line) == "\n" {
			return orig[:i]
		}
		i += j + 1
	}
	return orig
}

// fzCheck writes r and checks the result: an RFC 6522 multipart/report
// of three parts whose headers, and the delivery-status fields, are
// exactly the fields Write means to write, one per line, with no bare CR
// or LF anywhere in them; one block per recipient with exactly one
// Final-Recipient, Action and Status; the original or its header intact
// in part 3. strict also rejects other control characters than tab in
// those lines and does not compare field values with the report's, which
// a fix may have had to change. An original that contains the boundary
// is skipped.
func fzCheck(t *testing.T, r *Report, orig []byte, strict bool) {
	boundary := fzBoundary(r)
	if bytes.Contains(orig, []byte("--"+boundary)) {
		// The boundary is predictable (queue ID, time, host name), so an
		// original that contains it breaks the MIME structure; the queue
		// ID's random part keeps a sender from knowing it in advance.
		return
	}
	var out bytes.Buffer
	if err := Write(&out, r, bytes.NewReader(orig), int64(len(orig)), fzNow); err != nil {
		t.Fatalf("Write: %v", err)
	}
	raw := out.Bytes()
	ctl := func(where, l string) {
		if !strict {
			return
		}
		for i := 0; i < len(l); i++ {
			if c := l[i]; c < ' ' && c != '\t' || c == 0x7f {
				t.Fatalf("%s: line %q holds control character %q", where, l, c)
			}
		}
	}

	// Top-level header: exactly Write's fields, one line each.
	lines, _ := fzHeaderSection(t, "message", raw)
	for _, l := range lines {
		ctl("message header", l)
	}
	vals := fzFields(t, "message", lines, "Date", "From", "Subject", "To", "Auto-Submitted", "Message-Id",
		"MIME-Version", "Content-Type", "Content-Transfer-Encoding")
	if want := "<" + address.Quote(r.To) + ">"; !strict && vals[3] != want {
		t.Fatalf("To: %q, want %s", vals[3], want)
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("net/mail: %v", err)
	}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil || mt != "multipart/report" || params["report-type"] != "delivery-status" || params["boundary"] != boundary {
		t.Fatalf("Content-Type %q: %s %v %v", msg.Header.Get("Content-Type"), mt, params, err)
	}

	// Three parts and nothing after them.
	mr := multipart.NewReader(msg.Body, boundary)
	var parts [][]byte
	for {
		p, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("part %d: %v", len(parts)+1, err)
		}
		body, err := io.ReadAll(p)
		if err != nil {
			t.Fatalf("part %d body: %v", len(parts)+1, err)
		}
		parts = append(parts, body)
		if len(parts) > 3 {
			t.Fatal("more than 3 parts")
		}
	}
	if len(parts) != 3 {
		t.Fatalf("%d parts, want 3", len(parts))
	}

	// The raw part headers, from the bytes rather than the parser, which
	// would unfold and trim what an injection left.
	sep := []byte("\r\n--" + boundary + "\r\n")
	chunks := bytes.Split(raw, sep)
	if len(chunks) != 4 {
		t.Fatalf("%d part separators, want 3", len(chunks)-1)
	}
	headersOnly := r.Headers || r.SizeLimit > 0 && int64(len(orig)) > r.SizeLimit
	want := [3][]string{{"Notification", "text/plain; charset=utf-8", "8bit"}, {"Delivery report", "message/delivery-status"}, {"Undelivered Message", "message/rfc822", "8bit"}}
	switch {
	case r.UTF8 && headersOnly:
		want[2] = []string{"Undelivered Message Headers", "message/global-headers", "8bit"}
	case headersOnly:
		want[2] = []string{"Undelivered Message Headers", "text/rfc822-headers", "8bit"}
	case r.UTF8:
		want[2] = []string{"Undelivered Message", "message/global", "8bit"}
	}
	if r.UTF8 {
		// RFC 6533's delivery-status part may hold UTF-8, so it says 8bit.
		want[1] = []string{"Delivery report", "message/global-delivery-status", "8bit"}
	}
	for i, c := range chunks[1:] {
		where := "part " + strconv.Itoa(i+1)
		lines, _ := fzHeaderSection(t, where, c)
		names := []string{"Content-Description", "Content-Type", "Content-Transfer-Encoding"}[:len(want[i])]
		if vals := fzFields(t, where, lines, names...); strings.Join(vals, "|") != strings.Join(want[i], "|") {
			t.Fatalf("%s: %q, want %q", where, vals, want[i])
		}
	}

	// Part 1 is for people, but its lines must still end in CRLF only.
	if bytes.Contains(bytes.ReplaceAll(parts[0], []byte("\r\n"), nil), []byte("\n")) ||
		bytes.Contains(bytes.ReplaceAll(parts[0], []byte("\r\n"), nil), []byte("\r")) {
		t.Fatalf("part 1 holds a bare CR or LF:\n%q", parts[0])
	}

	// Part 2: the per-message block and one block per recipient.
	status, ok := strings.CutSuffix(string(parts[1]), "\r\n")
	if !ok {
		t.Fatalf("delivery-status does not end with a line end:\n%q", parts[1])
	}
	blocks := strings.Split(status, "\r\n\r\n")
	if len(blocks) != 1+len(r.Recipients) {
		t.Fatalf("delivery-status has %d blocks for %d recipients:\n%s", len(blocks), len(r.Recipients), parts[1])
	}
	perMsg := []string{"Reporting-MTA", "X-Postern-Queue-ID", "X-Postern-Sender", "Arrival-Date"}
	if r.EnvID != "" {
		perMsg = []string{"Reporting-MTA", "X-Postern-Queue-ID", "Original-Envelope-Id", "X-Postern-Sender", "Arrival-Date"}
	}
	blines := strings.Split(blocks[0], "\r\n")
	for _, l := range blines {
		if strings.ContainsAny(l, "\r\n") {
			t.Fatalf("delivery-status line %q holds a bare CR or LF", l)
		}
		ctl("delivery-status", l)
	}
	vals = fzFields(t, "per-message fields", blines, perMsg...)
	if r.EnvID != "" {
		if env, ok := fzUnxtext(vals[2]); !ok || env != r.EnvID {
			t.Fatalf("Original-Envelope-Id %q is not the xtext of %q", vals[2], r.EnvID)
		}
	}
	action := map[Kind]string{Failure: "failed", Delay: "delayed", Success: "delivered"}[r.Kind]
	for i, blk := range blocks[1:] {
		rc := r.Recipients[i]
		count := map[string]int{}
		for _, l := range strings.Split(blk, "\r\n") {
			if strings.ContainsAny(l, "\r\n") {
				t.Fatalf("recipient %d: line %q holds a bare CR or LF", i, l)
			}
			ctl("recipient block", l)
			name, val, ok := strings.Cut(l, ": ")
			if !ok {
				t.Fatalf("recipient %d: line %q is not a field", i, l)
			}
			count[name]++
			switch name {
			case "Final-Recipient":
				if q := address.Quote(rc.Final); !strict && val != "rfc822; "+q && val != "utf-8; "+q {
					t.Fatalf("recipient %d: Final-Recipient %q for %q", i, val, rc.Final)
				}
			case "Action":
				if val != action {
					t.Fatalf("recipient %d: Action %q, want %q", i, val, action)
				}
			case "Status":
				if !strict && val != rc.Status {
					t.Fatalf("recipient %d: Status %q, want %q", i, val, rc.Status)
				}
			case "Diagnostic-Code":
				if strings.ContainsAny(val, "\r\n") || !strict && strings.Contains(val, "  ") {
					t.Fatalf("recipient %d: Diagnostic-Code %q is not one clean line", i, val)
				}
			case "Original-Recipient", "Remote-MTA", "Last-Attempt-Date":
			default:
				t.Fatalf("recipient %d: unexpected field %q", i, l)
			}
		}
		for _, name := range []string{"Final-Recipient", "Action", "Status"} {
			if count[name] != 1 {
				t.Fatalf("recipient %d: %d %s fields:\n%s", i, count[name], name, blk)
			}
		}
		for name, n := range count {
			if n != 1 {
				t.Fatalf("recipient %d: %d %s fields:\n%s", i, n, name, blk)
			}
		}
		if (count["Diagnostic-Code"] == 1) != (rc.Diagnostic != "") {
			t.Fatalf("recipient %d: %d Diagnostic-Code for %q", i, count["Diagnostic-Code"], rc.Diagnostic)
		}
	}

	// Part 3: the original, or its header section.
	wantOrig := orig
	if headersOnly {
		wantOrig = fzHeaderOf(orig)
	}
	if !bytes.Equal(parts[2], wantOrig) {
		t.Fatalf("part 3 is %d bytes, want %d (headers only %v)", len(parts[2]), len(wantOrig), headersOnly)
	}
}

// fzAddr stands in for an address that smtpd, the aliases reader or
// qmgr could have put in an entry: one that address.Check accepts.
func fzAddr(s string, utf8 bool) string {
	if address.Check(s, utf8) != nil {
		return "user@example.test"
	}
	return s
}

// FuzzWrite writes reports whose diagnostics, ENVID, addresses, ORCPT and
// original message come from the fuzzer, within what can reach Write:
// addresses that address.Check accepts, an ORCPT as go-smtp decodes it
// (no CR, LF or NUL), RFC 3463 status codes. Diagnostics (remote replies)
// and the ENVID are arbitrary bytes.
func FuzzWrite(f *testing.F) {
	f.Fuzz(func(t *testing.T, diag, envid, final, orcpt, status string, orig []byte, utf8, headers bool) {
		final = fzAddr(final, utf8)
		orcpt = strings.Map(func(r rune) rune {
			if r == '\r' || r == '\n' || r == 0 {
				return -1
			}
			return r
		}, orcpt)
		if !fzStatus.MatchString(status) {
			status = "5.0.0"
		}
		var rcpts []Recipient
		for i := range 1 + len(orig)%3 {
			rc := Recipient{Final: final, Original: orcpt, Status: status, Diagnostic: diag, DiagType: "x-unix", LastAttempt: fzNow}
			switch i {
			case 1:
				rc.Final, rc.Original, rc.RemoteMTA, rc.DiagType = "postmaster@example.test", "", "mx.example.com", "smtp"
			case 2:
				rc.Diagnostic, rc.LastAttempt = strings.TrimSpace(diag)+"\r\n"+envid, time.Time{}
			}
			rcpts = append(rcpts, rc)
		}
		kind := Kind(len(diag) % 3)
		r := fzReport(kind, envid, fzAddr(orcpt, utf8), utf8, headers, int64(len(envid))*4, rcpts)
		fzCheck(t, r, orig, false)
	})
}

// FuzzWriteHostile writes reports in which every per-recipient field and
// the sender are arbitrary bytes, as if a caller had not checked them (a
// remote MTA's name, an enhanced status code from a remote reply, an
// address from a future source). Write itself must keep every field on
// its line: no CR, LF or other control character may reach a header or
// delivery-status line, and each recipient block must stay one block.
func FuzzWriteHostile(f *testing.F) {
	f.Fuzz(func(t *testing.T, diag, envid, final, orcpt, status, remote, diagType, sender string, utf8 bool) {
		rc := Recipient{Final: final, Original: orcpt, Status: status, RemoteMTA: remote, Diagnostic: diag, DiagType: diagType, LastAttempt: fzNow}
		other := Recipient{Final: "x@example.test", Status: "5.1.1", Diagnostic: "550 5.1.1 unknown"}
		r := fzReport(Failure, envid, sender, utf8, false, 0, []Recipient{rc, other})
		fzCheck(t, r, []byte("Subject: x\r\n\r\nbody\r\n"), true)
	})
}

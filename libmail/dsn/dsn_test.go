package dsn

import (
	"bufio"
	"bytes"
	"fmt"
	"io"
	"mime"
	"mime/multipart"
	"net/mail"
	"net/textproto"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// Set UPDATE_GOLDEN=1 to rewrite testdata/*.golden from the current output.
var update = os.Getenv("UPDATE_GOLDEN") == "1"

var (
	now     = time.Date(2026, 5, 1, 12, 0, 0, 0, time.UTC)
	arrival = time.Date(2026, 4, 30, 9, 30, 15, 0, time.UTC)
)

const original = "Return-Path: <sender@example.org>\r\n" +
	"Received: from client.example.org (client.example.org [192.0.2.10])\r\n" +
	"\tby mail.example.test (postern) with ESMTP id 0123456789ABCDEF\r\n" +
	"From: Sender <sender@example.org>\r\n" +
	"To: rcpt@remote.example\r\n" +
	"Subject: Hello\r\n" +
	"Message-Id: <m1@example.org>\r\n" +
	"\r\n" +
	"Body line one.\r\n" +
	"Body line two.\r\n"

const originalUTF8 = "From: Πέτρος <πέτρος@example.org>\r\n" +
	"To: δοκιμή@παράδειγμα.δοκιμή\r\n" +
	"Subject: Γειά\r\n" +
	"\r\n" +
	"Καλημέρα.\r\n"

func base() Report {
	return Report{
		ReportingMTA: "mail.example.test",
		QueueID:      "0123456789ABCDEF",
		Sender:       "sender@example.org",
		To:           "sender@example.org",
		From:         "MAILER-DAEMON@mail.example.test",
		Arrival:      arrival,
		MessageID:    "FEDCBA9876543210.0123456789ABCDEF@mail.example.test",
	}
}

type golden struct {
	name   string
	report func() *Report
	orig   string
	// What the structure check expects.
	statusType   string // content type of part 2
	returnedType string // content type of part 3
	headersOnly  bool
	action       string
}

func goldenCases() []golden {
	return []golden{
		{
			name: "failure",
			report: func() *Report {
				r := base()
				r.Kind = Failure
				r.EnvID = "QQ314159 a+b=c"
				r.Recipients = []Recipient{
					{
						Final: "rcpt@remote.example", Original: "rfc822;Rcpt@Remote.Example", Status: "5.1.1",
						RemoteMTA: "mx.remote.example", DiagType: "smtp",
						Diagnostic:  "550 5.1.1 <rcpt@remote.example>:\r\n Recipient address rejected: User unknown",
						LastAttempt: now.Add(-time.Minute),
					},
					{
						Final: "nobody@example.test", Status: "5.1.1",
						Diagnostic: `unknown user: "nobody"`, LastAttempt: now.Add(-time.Minute),
					},
				}
				return &r
			},
			orig: original, statusType: "message/delivery-status", returnedType: "message/rfc822", action: "failed",
		},
		{
			name: "delay",
			report: func() *Report {
				r := base()
				r.Kind = Delay
				r.Recipients = []Recipient{{
					Final: "rcpt@remote.example", Status: "4.4.1", RemoteMTA: "mx.remote.example", DiagType: "smtp",
					Diagnostic: "421 4.4.1 connection timed out", LastAttempt: now,
				}}
				return &r
			},
			orig: original, statusType: "message/delivery-status", returnedType: "message/rfc822", action: "delayed",
		},
		{
			name: "success",
			report: func() *Report {
				r := base()
				r.Kind = Success
				r.Recipients = []Recipient{{
					Final: "demo@example.test", Original: "rfc822;demo@example.test", Status: "2.0.0",
					Diagnostic: "delivered to maildir", LastAttempt: now,
				}}
				return &r
			},
			orig: original, statusType: "message/delivery-status", returnedType: "message/rfc822", action: "delivered",
		},
		{
			name: "ret-hdrs",
			report: func() *Report {
				r := base()
				r.Kind = Failure
				r.Headers = true
				r.Recipients = []Recipient{{Final: "nobody@example.test", Status: "5.1.1", Diagnostic: "unknown user", LastAttempt: now}}
				return &r
			},
			orig: original, statusType: "message/delivery-status", returnedType: "text/rfc822-headers", headersOnly: true, action: "failed",
		},
		{
			name: "size-limit",
			report: func() *Report {
				r := base()
				r.Kind = Failure
				r.SizeLimit = int64(len(original)) - 1
				r.Recipients = []Recipient{{Final: "nobody@example.test", Status: "5.1.1", Diagnostic: "unknown user", LastAttempt: now}}
				return &r
			},
			orig: original, statusType: "message/delivery-status", returnedType: "text/rfc822-headers", headersOnly: true, action: "failed",
		},
		{
			name: "utf8",
			report: func() *Report {
				r := base()
				r.Kind = Failure
				r.UTF8 = true
				r.Sender = "πέτρος@example.org"
				r.To = "πέτρος@example.org"
				r.Recipients = []Recipient{{
					Final: "δοκιμή@παράδειγμα.δοκιμή", Original: "utf-8;δοκιμή@παράδειγμα.δοκιμή", Status: "5.1.1",
					RemoteMTA: "mx.παράδειγμα.δοκιμή", DiagType: "smtp", Diagnostic: "550 5.1.1 no such user", LastAttempt: now,
				}}
				return &r
			},
			orig: originalUTF8, statusType: "message/global-delivery-status", returnedType: "message/global", action: "failed",
		},
		{
			name: "utf8-hdrs",
			report: func() *Report {
				r := base()
				r.Kind = Failure
				r.UTF8 = true
				r.Headers = true
				r.Recipients = []Recipient{{Final: "δοκιμή@παράδειγμα.δοκιμή", Status: "5.1.1", Diagnostic: "550 5.1.1 no such user", LastAttempt: now}}
				return &r
			},
			orig: originalUTF8, statusType: "message/global-delivery-status", returnedType: "message/global-headers", headersOnly: true, action: "failed",
		},
	}
}

func render(t *testing.T, r *Report, orig string) []byte {
	t.Helper()
	var b bytes.Buffer
	if err := Write(&b, r, strings.NewReader(orig), int64(len(orig)), now); err != nil {
		t.Fatalf("Write: %v", err)
	}
	return b.Bytes()
}

func TestGolden(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			got := render(t, tc.report(), tc.orig)
			path := filepath.Join("testdata", tc.name+".golden")
			if update {
				if err := os.WriteFile(path, got, 0o644); err != nil {
					t.Fatal(err)
				}
				return
			}
			want, err := os.ReadFile(path)
			if err != nil {
				t.Fatalf("%v (run with UPDATE_GOLDEN=1 to create it)", err)
			}
			if !bytes.Equal(got, want) {
				t.Errorf("output differs from %s (UPDATE_GOLDEN=1 rewrites it):\n%s", path, lineDiff(string(want), string(got)))
			}
		})
	}
}

// lineDiff shows the first differing lines.
func lineDiff(want, got string) string {
	w, g := strings.Split(want, "\n"), strings.Split(got, "\n")
	for i := 0; i < len(w) || i < len(g); i++ {
		var wl, gl string
		if i < len(w) {
			wl = w[i]
		}
		if i < len(g) {
			gl = g[i]
		}
		if wl != gl {
			return fmt.Sprintf("line %d:\n  want %q\n  got  %q", i+1, wl, gl)
		}
	}
	return "(no line differs)"
}

// parsed is a report taken apart with the standard library.
type parsed struct {
	header     mail.Header
	parts      []*part
	perMessage textproto.MIMEHeader
	perRcpt    []textproto.MIMEHeader
}

type part struct {
	header textproto.MIMEHeader
	body   []byte
}

func parse(t *testing.T, raw []byte) *parsed {
	t.Helper()
	if bytes.Contains(bytes.ReplaceAll(raw, []byte("\r\n"), nil), []byte("\n")) {
		t.Errorf("report has a bare LF")
	}
	msg, err := mail.ReadMessage(bytes.NewReader(raw))
	if err != nil {
		t.Fatalf("ReadMessage: %v", err)
	}
	p := &parsed{header: msg.Header}
	mt, params, err := mime.ParseMediaType(msg.Header.Get("Content-Type"))
	if err != nil {
		t.Fatalf("Content-Type: %v", err)
	}
	if mt != "multipart/report" || params["report-type"] != "delivery-status" || params["boundary"] == "" {
		t.Fatalf("Content-Type = %s %v, want multipart/report; report-type=delivery-status", mt, params)
	}
	mr := multipart.NewReader(msg.Body, params["boundary"])
	for {
		pt, err := mr.NextRawPart()
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("NextPart: %v", err)
		}
		body, err := io.ReadAll(pt)
		if err != nil {
			t.Fatalf("read part: %v", err)
		}
		p.parts = append(p.parts, &part{header: pt.Header, body: body})
	}
	if len(p.parts) != 3 {
		t.Fatalf("%d parts, want 3", len(p.parts))
	}
	// The delivery-status body is blocks of header fields separated by
	// empty lines (RFC 3464 §2.1).
	tr := textproto.NewReader(bufio.NewReader(bytes.NewReader(append(p.parts[1].body, "\r\n"...))))
	for {
		h, err := tr.ReadMIMEHeader()
		if len(h) > 0 {
			if p.perMessage == nil {
				p.perMessage = h
			} else {
				p.perRcpt = append(p.perRcpt, h)
			}
		}
		if err == io.EOF {
			break
		}
		if err != nil {
			t.Fatalf("delivery-status: %v", err)
		}
	}
	return p
}

func TestStructure(t *testing.T) {
	for _, tc := range goldenCases() {
		t.Run(tc.name, func(t *testing.T) {
			r := tc.report()
			p := parse(t, render(t, r, tc.orig))
			h := p.header
			for name, want := range map[string]string{
				"To":             "<" + r.To + ">",
				"Auto-Submitted": "auto-replied",
				"Message-Id":     "<" + r.MessageID + ">",
				"MIME-Version":   "1.0",
			} {
				if got := h.Get(name); got != want {
					t.Errorf("%s: %q, want %q", name, got, want)
				}
			}
			if from, err := mail.ParseAddress(h.Get("From")); err != nil || from.Address != r.From {
				t.Errorf("From: %q (%v), want %s", h.Get("From"), err, r.From)
			}
			if d, err := h.Date(); err != nil || !d.Equal(now) {
				t.Errorf("Date: %v, %v; want %v", d, err, now)
			}
			if h.Get("Subject") == "" {
				t.Errorf("no Subject")
			}

			// Part 1: for people, naming every recipient.
			if ct := p.parts[0].header.Get("Content-Type"); !strings.HasPrefix(ct, "text/plain") {
				t.Errorf("part 1 Content-Type %q", ct)
			}
			for _, rc := range r.Recipients {
				if !bytes.Contains(p.parts[0].body, []byte("<"+rc.Final+">")) {
					t.Errorf("part 1 does not name %s", rc.Final)
				}
			}

			// Part 2: for programs.
			if ct := p.parts[1].header.Get("Content-Type"); ct != tc.statusType {
				t.Errorf("part 2 Content-Type %q, want %q", ct, tc.statusType)
			}
			pm := p.perMessage
			if got := pm.Get("Reporting-MTA"); got != "dns; "+r.ReportingMTA {
				t.Errorf("Reporting-MTA %q", got)
			}
			if d, err := mail.ParseDate(pm.Get("Arrival-Date")); err != nil || !d.Equal(r.Arrival) {
				t.Errorf("Arrival-Date %q (%v)", pm.Get("Arrival-Date"), err)
			}
			if r.EnvID != "" && pm.Get("Original-Envelope-Id") == "" {
				t.Errorf("no Original-Envelope-Id")
			}
			if r.EnvID == "" && pm.Get("Original-Envelope-Id") != "" {
				t.Errorf("Original-Envelope-Id without ENVID")
			}
			if len(p.perRcpt) != len(r.Recipients) {
				t.Fatalf("%d recipient blocks, want %d", len(p.perRcpt), len(r.Recipients))
			}
			for i, rc := range r.Recipients {
				b := p.perRcpt[i]
				typ := "rfc822"
				if r.UTF8 && !isASCII(rc.Final) {
					typ = "utf-8"
				}
				checks := map[string]string{
					"Final-Recipient": typ + "; " + rc.Final,
					"Action":          tc.action,
					"Status":          rc.Status,
				}
				if rc.Original != "" {
					checks["Original-Recipient"] = rc.Original
				}
				if rc.RemoteMTA != "" {
					checks["Remote-MTA"] = "dns; " + rc.RemoteMTA
				}
				if rc.Diagnostic != "" {
					dt := rc.DiagType
					if dt == "" {
						dt = "x-unix"
					}
					checks["Diagnostic-Code"] = dt + "; " + strings.Join(strings.Fields(rc.Diagnostic), " ")
				}
				for name, want := range checks {
					if got := b.Get(name); got != want {
						t.Errorf("recipient %d %s: %q, want %q", i, name, got, want)
					}
				}
				if _, err := mail.ParseDate(b.Get("Last-Attempt-Date")); err != nil {
					t.Errorf("recipient %d Last-Attempt-Date %q: %v", i, b.Get("Last-Attempt-Date"), err)
				}
				if rc.RemoteMTA == "" && b.Get("Remote-MTA") != "" {
					t.Errorf("recipient %d has Remote-MTA without one", i)
				}
			}

			// Part 3: the original or its header.
			if ct := p.parts[2].header.Get("Content-Type"); ct != tc.returnedType {
				t.Errorf("part 3 Content-Type %q, want %q", ct, tc.returnedType)
			}
			want := tc.orig
			if tc.headersOnly {
				want = tc.orig[:strings.Index(tc.orig, "\r\n\r\n")+2]
			}
			if got := string(p.parts[2].body); got != want {
				t.Errorf("part 3 =\n%q\nwant\n%q", got, want)
			}
			if !tc.headersOnly {
				if m, err := mail.ReadMessage(bytes.NewReader(p.parts[2].body)); err != nil || m.Header.Get("Subject") == "" {
					t.Errorf("returned message does not parse: %v", err)
				}
			}
		})
	}
}

func isASCII(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

func TestXtext(t *testing.T) {
	tests := []struct{ in, want string }{
		{"", ""},
		{"plain", "plain"},
		{"a+b=c", "a+2Bb+3Dc"},
		{"with space", "with+20space"},
		{"tab\there", "tab+09here"},
		{"\x7f", "+7F"},
		{"é", "+C3+A9"},
		{"!~", "!~"},
	}
	for _, tt := range tests {
		if got := Xtext(tt.in); got != tt.want {
			t.Errorf("Xtext(%q) = %q, want %q", tt.in, got, tt.want)
		}
	}
}

func TestHeadersOnlyEdges(t *testing.T) {
	tests := []struct {
		name, orig, want string
	}{
		{"no body", "Subject: x\r\nFrom: a@b\r\n", "Subject: x\r\nFrom: a@b\r\n"},
		{"no final line end", "Subject: x\r\nFrom: a@b", "Subject: x\r\nFrom: a@b"},
		{"empty message", "", ""},
		{"body only", "\r\nbody\r\n", ""},
		{"folded header", "Subject: a\r\n b\r\n\r\nbody\r\n", "Subject: a\r\n b\r\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := base()
			r.Headers = true
			r.Recipients = []Recipient{{Final: "x@example.test", Status: "5.0.0"}}
			out := render(t, &r, tt.orig)
			p := parse(t, out)
			if got := string(p.parts[2].body); got != tt.want {
				t.Errorf("returned %q, want %q", got, tt.want)
			}
		})
	}
}

// TestSizeLimitBoundary: a message exactly at the limit is returned whole.
func TestSizeLimitBoundary(t *testing.T) {
	for _, tc := range []struct {
		limit       int64
		headersOnly bool
	}{
		{0, false}, // no limit
		{int64(len(original)), false},
		{int64(len(original)) - 1, true},
	} {
		r := base()
		r.SizeLimit = tc.limit
		r.Recipients = []Recipient{{Final: "x@example.test", Status: "5.0.0"}}
		p := parse(t, render(t, &r, original))
		whole := string(p.parts[2].body) == original
		if whole == tc.headersOnly {
			t.Errorf("limit %d: whole=%v, want headers only=%v", tc.limit, whole, tc.headersOnly)
		}
	}
}

// TestLongHeaderLineHeadersOnly returns the header of a message with a
// field longer than the 32 KiB read buffer. smtpd accepts lines up to
// smtpd_line_length_limit (64 KiB), so such messages can be queued.
func TestLongHeaderLineHeadersOnly(t *testing.T) {
	for _, n := range []int{32<<10 - len("X-Long: ") - 1, 32<<10 - len("X-Long: ")} {
		hdr := "X-Long: " + strings.Repeat("a", n) + "\r\nSubject: after the long line\r\n"
		orig := hdr + "\r\nbody\r\n"
		r := base()
		r.Headers = true
		r.Recipients = []Recipient{{Final: "x@example.test", Status: "5.0.0"}}
		p := parse(t, render(t, &r, orig))
		if got := string(p.parts[2].body); got != hdr {
			t.Errorf("line of %d: returned %d bytes ending %q, want the %d-byte header", n, len(got), got[max(0, len(got)-40):], len(hdr))
		}
	}
}

// TestUTF8StatusEncoding: the message/global-delivery-status part carries
// UTF-8 but declares no Content-Transfer-Encoding, which means 7bit
// (RFC 2045 §6.1); RFC 6533 wants 8bit for it.
func TestUTF8StatusEncoding(t *testing.T) {
	r := goldenCases()[5].report()
	p := parse(t, render(t, r, originalUTF8))
	if cte := p.parts[1].header.Get("Content-Transfer-Encoding"); !strings.EqualFold(cte, "8bit") {
		t.Errorf("part 2 Content-Transfer-Encoding %q, want 8bit", cte)
	}
}

// errReader fails after some bytes.
type errReader struct{ n int }

func (e *errReader) Read(p []byte) (int, error) {
	if e.n <= 0 {
		return 0, io.ErrUnexpectedEOF
	}
	n := min(len(p), e.n)
	for i := range n {
		p[i] = 'x'
	}
	e.n -= n
	return n, nil
}

func TestWriteReadError(t *testing.T) {
	for _, headers := range []bool{false, true} {
		r := base()
		r.Headers = headers
		r.Recipients = []Recipient{{Final: "x@example.test", Status: "5.0.0"}}
		if err := Write(io.Discard, &r, &errReader{n: 10}, 100, now); err == nil {
			t.Errorf("headers=%v: Write with a failing reader returned nil", headers)
		}
	}
}

// TestQuotedAddresses: addresses are kept unquoted in the queue, so a
// local part such as `x> RET=FULL` is quoted again wherever a report
// writes an address: the To header, the sender and Final-Recipient
// fields. Written raw, `To: <x> RET=FULL ENVID=Y@evil.test>` ended the
// address early.
func TestQuotedAddresses(t *testing.T) {
	r := base()
	r.Sender, r.To = "x> RET=FULL ENVID=Y@evil.test", "x> RET=FULL ENVID=Y@evil.test"
	r.Recipients = []Recipient{{Final: "john doe@remote.example", Status: "5.1.1"}}
	out := string(render(t, &r, original))
	for _, want := range []string{
		"\r\nTo: <\"x> RET=FULL ENVID=Y\"@evil.test>\r\n",
		"\r\nX-Postern-Sender: rfc822; \"x> RET=FULL ENVID=Y\"@evil.test\r\n",
		"\r\nFinal-Recipient: rfc822; \"john doe\"@remote.example\r\n",
	} {
		if !strings.Contains(out, want) {
			t.Errorf("report lacks %q:\n%s", want, out)
		}
	}
	m, err := mail.ReadMessage(strings.NewReader(out))
	if err != nil {
		t.Fatal(err)
	}
	to, err := mail.ParseAddress(m.Header.Get("To"))
	if err != nil || to.Address != "x> RET=FULL ENVID=Y@evil.test" {
		t.Errorf("To parses as %v, %v", to, err)
	}
}

package queue

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"time"

	"postern.dev/postern/libmail/commit"
)

// Status is where a recipient stands.
type Status string

const (
	Pending  Status = ""         // not yet attempted, or state lost
	Sent     Status = "sent"     // delivered; final
	Failed   Status = "failed"   // permanently failed; final once a DSN is queued
	Deferred Status = "deferred" // failed temporarily; will be retried
)

// Result is the outcome of one delivery attempt for one recipient.
type Result struct {
	Rcpt   int    // index into Envelope.Recipients
	Status Status // Sent, Failed or Deferred
	DSN    string // RFC 3463 enhanced status code, e.g. "5.1.1"
	Relay  string // where it went: "local", "mx.example.com[192.0.2.1]:25", "none"
	Reply  string // the remote reply or the reason, for logs and DSNs
}

// RcptState is a recipient's latest result plus whether the sender has
// been told (a DSN is queued) about it.
type RcptState struct {
	Result
	Notified bool
}

// Done reports whether nothing is left to do for the recipient.
func (s RcptState) Done() bool {
	return s.Status == Sent || s.Status == Failed && s.Notified
}

// Record is one line of an entry's trailer.
type Record interface{ appendTo([]byte) []byte }

// ResultRecord records a delivery attempt's outcome.
type ResultRecord struct{ Result }

// NotifiedRecord says that a DSN about these recipients has been queued.
type NotifiedRecord struct{ Rcpts []int }

// AttemptRecord says how many attempts were made and when the next is due.
type AttemptRecord struct {
	Attempts int
	Next     time.Time
}

// WarnedRecord says that a delay warning was sent.
type WarnedRecord struct{}

// QuarantineRecord says the message was accepted into quarantine (DMARC
// p=quarantine, say): local delivers it to each recipient's Junk folder
// instead of the inbox. Reason is for the log.
type QuarantineRecord struct{ Reason string }

func (r ResultRecord) appendTo(b []byte) []byte {
	b = append(b, "result "...)
	b = strconv.AppendInt(b, int64(r.Rcpt), 10)
	for _, f := range []string{string(r.Status), r.DSN, r.Relay} {
		b = append(b, ' ')
		b = append(b, escape(f)...)
	}
	b = append(b, ' ')
	b = append(b, escapeText(r.Reply)...)
	return append(b, '\n')
}

func (r NotifiedRecord) appendTo(b []byte) []byte {
	b = append(b, "notified"...)
	for _, i := range r.Rcpts {
		b = append(b, ' ')
		b = strconv.AppendInt(b, int64(i), 10)
	}
	return append(b, '\n')
}

func (r AttemptRecord) appendTo(b []byte) []byte {
	return fmt.Appendf(b, "attempt %d %d\n", r.Attempts, r.Next.Unix())
}

func (WarnedRecord) appendTo(b []byte) []byte { return append(b, "warned\n"...) }

func (r QuarantineRecord) appendTo(b []byte) []byte {
	b = append(b, "quarantine "...)
	b = append(b, escapeText(r.Reason)...)
	return append(b, '\n')
}

// ExpireRecord says the administrator asked for the message to be
// returned now (postern queue expire, Postfix's postsuper -e): at its next
// look at the entry qmgr fails every recipient still to do, as if
// maximal_queue_lifetime had passed, and bounces them to the sender.
type ExpireRecord struct{}

func (ExpireRecord) appendTo(b []byte) []byte { return append(b, "expire\n"...) }

// InterruptedRecord says a delivery attempt on the entry may have ended
// without its result being recorded: qmgr found the entry in active/ at
// startup (it, the agent or the machine stopped mid-attempt), or lost the
// connection to an agent that had it. A recipient delivered in that
// attempt may still look pending; local then checks the mailbox for its
// own earlier delivery before delivering again (maildir.Once's Recheck),
// which costs a directory scan that ordinary deliveries are spared.
type InterruptedRecord struct{}

func (InterruptedRecord) appendTo(b []byte) []byte { return append(b, "interrupted\n"...) }

// escapeText escapes a free-text field, which keeps its spaces.
func escapeText(s string) string {
	if !strings.ContainsFunc(s, func(r rune) bool { return r < ' ' || r == '%' || r == 0x7f }) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		c := s[i]
		if c < ' ' || c == '%' || c == 0x7f {
			fmt.Fprintf(&b, "%%%02X", c)
		} else {
			b.WriteByte(c)
		}
	}
	return b.String()
}

// applyRecord folds one trailer line into e. It reports false for a line
// it cannot parse, which the reader skips: such a line can only be the
// torn end of an append interrupted by a crash, whose record was never
// acknowledged to anyone.
func (e *Entry) applyRecord(line string) bool {
	key, rest, _ := strings.Cut(line, " ")
	switch key {
	case "result":
		f := strings.SplitN(rest, " ", 5)
		if len(f) != 5 {
			return false
		}
		i, err := strconv.Atoi(f[0])
		if err != nil || i < 0 || i >= len(e.Recipients) {
			return false
		}
		var vals [4]string
		for j, s := range f[1:] {
			if j == 3 {
				if vals[j], err = unescape(strings.ReplaceAll(s, " ", "%20")); err != nil {
					return false
				}
				continue
			}
			if vals[j], err = unescape(s); err != nil {
				return false
			}
		}
		switch st := Status(vals[0]); st {
		case Sent, Failed, Deferred:
			e.State[i].Result = Result{Rcpt: i, Status: st, DSN: vals[1], Relay: vals[2], Reply: vals[3]}
		default:
			return false
		}
	case "notified":
		for _, s := range strings.Fields(rest) {
			i, err := strconv.Atoi(s)
			if err != nil || i < 0 || i >= len(e.Recipients) {
				return false
			}
			e.State[i].Notified = true
		}
	case "attempt":
		f := strings.Fields(rest)
		if len(f) != 2 {
			return false
		}
		n, err1 := strconv.Atoi(f[0])
		t, err2 := strconv.ParseInt(f[1], 10, 64)
		if err1 != nil || err2 != nil || n < 0 {
			return false
		}
		e.Attempts, e.NextAttempt = n, time.Unix(t, 0)
	case "warned":
		e.Warned = true
	case "expire":
		if rest != "" {
			return false
		}
		e.Expired = true
	case "interrupted":
		if rest != "" {
			return false
		}
		e.Interrupted = true
	case "quarantine":
		reason, err := unescape(strings.ReplaceAll(rest, " ", "%20"))
		if err != nil {
			return false
		}
		e.Quarantine = reason
		if e.Quarantine == "" {
			e.Quarantine = "quarantined"
		}
	default:
		return false
	}
	return true
}

// Append adds records to the entry open in f and fsyncs them, so the
// progress they record survives any crash once Append returns nil. Each
// call is one write(2) on an O_APPEND descriptor, which the kernel keeps
// whole with respect to other appenders. If a crash left a torn record at
// the end, a newline is put first so the new records stay parseable.
func Append(f *os.File, recs ...Record) error { return appendRecords(f, commit.File, recs) }

// AppendNoSync is Append without the fsync, for records whose loss in a
// crash costs only an earlier retry (attempt counts, warnings).
func AppendNoSync(f *os.File, recs ...Record) error { return appendRecords(f, nil, recs) }

// Append is Append with the spool's sync policy: with sync_method =
// syncfs the records of concurrent deliveries share one flush, where
// the package's Append costs an fdatasync each.
func (s *Spool) Append(f *os.File, recs ...Record) error {
	return appendRecords(f, s.syncPolicy().Appended, recs)
}

func appendRecords(f *os.File, sync func(*os.File) error, recs []Record) error {
	if len(recs) == 0 {
		return nil
	}
	var b []byte
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("append to queue entry: %w", err)
	}
	if st.Size() > 0 {
		var last [1]byte
		if _, err := f.ReadAt(last[:], st.Size()-1); err == nil && last[0] != '\n' {
			b = append(b, '\n')
		}
	}
	for _, r := range recs {
		b = r.appendTo(b)
	}
	if _, err := f.Write(b); err != nil {
		return fmt.Errorf("append to queue entry: %w", err)
	}
	if sync != nil {
		if err := sync(f); err != nil {
			return fmt.Errorf("append to queue entry: %w", err)
		}
	}
	return nil
}

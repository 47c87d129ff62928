package qmgr

import (
	"bufio"
	"fmt"
	"os"
	"strings"
	"time"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/dsn"
	"postern.dev/postern/libmail/queue"
)

// bouncer queues delivery status notifications (RFC 3464) as new entries
// from the null sender, so that they can never cause bounces themselves.
type bouncer struct {
	spool     *queue.Spool
	hostname  string
	sizeLimit int64
}

// NewBouncer returns the Bouncer qmgr uses.
func NewBouncer(p *config.Params, spool *queue.Spool, now func() time.Time) Bouncer {
	return &bouncer{spool: spool, hostname: p.MyHostname, sizeLimit: p.BounceSizeLimit}
}

// wants reports whether a recipient's NOTIFY (RFC 3461 §4.1) asks for a
// report of this kind. Without NOTIFY, failures are reported and delays
// too (when delay_warning_time is set), as Postfix does; successes only
// on request. NEVER asks for nothing.
func wants(kind dsn.Kind, notify string) bool {
	if notify == "" {
		return kind != dsn.Success
	}
	word := map[dsn.Kind]string{dsn.Failure: "FAILURE", dsn.Delay: "DELAY", dsn.Success: "SUCCESS"}[kind]
	for _, n := range strings.Split(notify, ",") {
		if strings.EqualFold(n, word) {
			return true
		}
	}
	return false
}

func wantsSuccessNotice(notify string) bool { return wants(dsn.Success, notify) }

// Notify implements Bouncer.
func (b *bouncer) Notify(kind dsn.Kind, e *queue.Entry, f *os.File, rcpts []int, now time.Time) (queue.ID, error) {
	var to string
	double := false
	switch {
	case e.DoubleBounce:
		return "", nil // a failed notice to the postmaster: nothing is left to tell
	case e.Sender == "" && e.Bounce && kind == dsn.Failure:
		// Our own notification failed: the postmaster hears of it.
		to, double = "postmaster@"+b.hostname, true
	case e.Sender == "":
		return "", nil // RFC 5321 §4.5.5: never answer the null sender
	default:
		to = e.Sender
	}
	r := &dsn.Report{
		Kind: kind, ReportingMTA: b.hostname, EnvID: e.EnvID, Sender: e.Sender, To: to,
		From: "MAILER-DAEMON@" + b.hostname, Arrival: e.Arrival,
		// A success or delay notice returns the headers only: the sender
		// has the message, and it was (or will be) delivered.
		Headers:   e.Ret == "HDRS" || kind != dsn.Failure,
		SizeLimit: b.sizeLimit, UTF8: needsUTF8(e, f),
	}
	for _, i := range rcpts {
		rc := e.Recipients[i]
		if !double && !wants(kind, rc.Notify) {
			continue
		}
		st := e.State[i]
		d := dsn.Recipient{Final: rc.Addr, Original: rc.ORcpt, Status: st.DSN, Diagnostic: st.Reply, LastAttempt: now, DiagType: "x-unix"}
		if st.Relay != "" && st.Relay != "local" && st.Relay != "none" {
			d.RemoteMTA = relayHost(st.Relay)
			if len(st.Reply) >= 3 && st.Reply[0] >= '2' && st.Reply[0] <= '5' {
				d.DiagType = "smtp"
			}
			if kind == dsn.Success {
				d.Action = "relayed"
			}
		}
		r.Recipients = append(r.Recipients, d)
	}
	if len(r.Recipients) == 0 {
		return "", nil
	}
	id := b.spool.NewID()
	r.QueueID = string(e.ID)
	r.MessageID = fmt.Sprintf("%s.%s@%s", id, e.ID, b.hostname)
	env := &queue.Envelope{Arrival: now, Sender: "", Recipients: []queue.Recipient{{Addr: to}},
		Proto: "local", ClientName: "localhost", Bounce: true, DoubleBounce: double, SMTPUTF8: r.UTF8}
	w, err := b.spool.Create(id, env)
	if err != nil {
		return "", err
	}
	if err := dsn.Write(w, r, e.Message(f), e.Size, now); err != nil {
		w.Abort()
		return "", err
	}
	if err := w.Commit(); err != nil {
		return "", err
	}
	return id, nil
}

// needsUTF8 reports whether a report about e must use RFC 6533's
// internationalized types: the client asked for SMTPUTF8 and the message
// actually needs it, with a non-ASCII address in its envelope or 8-bit
// text in its header. Many clients ask for SMTPUTF8 whenever the server
// offers it (Go's net/smtp does), and most mail readers only understand
// the classic message/delivery-status, so the flag alone is not enough,
// as in Postfix.
func needsUTF8(e *queue.Entry, f *os.File) bool {
	if !e.SMTPUTF8 {
		return false
	}
	if !ascii(e.Sender) {
		return true
	}
	for _, r := range e.Recipients {
		if !ascii(r.Addr) || !ascii(r.ORcpt) {
			return true
		}
	}
	br := bufio.NewReader(e.Message(f))
	for {
		line, err := br.ReadSlice('\n')
		if len(line) <= 2 && (string(line) == "\r\n" || string(line) == "\n") {
			return false // end of the header
		}
		if !ascii(string(line)) {
			return true
		}
		if err != nil && err != bufio.ErrBufferFull {
			return false
		}
	}
}

func ascii(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] >= 0x80 {
			return false
		}
	}
	return true
}

// relayHost takes the host name out of a relay field "host[addr]:port".
func relayHost(relay string) string {
	if i := strings.IndexByte(relay, '['); i > 0 {
		return relay[:i]
	}
	return relay
}

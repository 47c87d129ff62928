package maillog

import (
	"math"
	"strconv"
	"strings"
	"time"
)

// Delays are the four parts of a delivery's delay in Postfix's delays=
// field: a, before the queue manager took the message (queue entry
// arrival to active); b, in the queue manager; c, connection setup; d,
// transmission.
type Delays struct {
	Before, InQmgr, Setup, Transmit time.Duration
}

// Delivery describes one recipient's delivery attempt for the to= line.
type Delivery struct {
	QueueID string
	To      string // recipient as delivered
	OrigTo  string // the envelope recipient before alias expansion, if different
	Relay   string // "local", "mx.example.com[192.0.2.1]:25", "none"
	Delay   time.Duration
	Delays  Delays
	DSN     string
	Status  string // sent, deferred, bounced, expired
	Reply   string // the text in parentheses
}

// Line renders the classic line:
//
//	ID: to=<r>, orig_to=<o>, relay=local, delay=0.12, delays=0.01/0/0/0.11, dsn=2.0.0, status=sent (delivered to maildir)
func (d Delivery) Line() string {
	var b strings.Builder
	b.Grow(160)
	b.WriteString(d.QueueID)
	b.WriteString(": to=<")
	b.WriteString(d.To)
	b.WriteString(">, ")
	if d.OrigTo != "" && d.OrigTo != d.To {
		b.WriteString("orig_to=<")
		b.WriteString(d.OrigTo)
		b.WriteString(">, ")
	}
	b.WriteString("relay=")
	b.WriteString(d.Relay)
	b.WriteString(", delay=")
	b.WriteString(Seconds(d.Delay))
	b.WriteString(", delays=")
	b.WriteString(Seconds(d.Delays.Before))
	b.WriteByte('/')
	b.WriteString(Seconds(d.Delays.InQmgr))
	b.WriteByte('/')
	b.WriteString(Seconds(d.Delays.Setup))
	b.WriteByte('/')
	b.WriteString(Seconds(d.Delays.Transmit))
	b.WriteString(", dsn=")
	b.WriteString(d.DSN)
	b.WriteString(", status=")
	b.WriteString(d.Status)
	b.WriteString(" (")
	b.WriteString(d.Reply)
	b.WriteByte(')')
	return b.String()
}

// Seconds formats a duration as Postfix does in delay fields with its
// default delay_logging_resolution_limit of 2: at most two decimals below
// ten seconds ("0.12", "4.3", "0" for under 5 ms), whole seconds above.
func Seconds(d time.Duration) string {
	s := d.Seconds()
	if s >= 10 {
		return strconv.FormatInt(int64(math.Round(s)), 10)
	}
	r := math.Round(s*100) / 100
	if r <= 0 {
		return "0"
	}
	return strconv.FormatFloat(r, 'f', -1, 64)
}

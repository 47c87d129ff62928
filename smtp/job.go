package smtp

import (
	"time"

	"postern.dev/postern/libmail/queue"
)

// job is one delivery request being worked on: the recipients, each
// one's result so far, and the clock readings for delays=.
type job struct {
	id    queue.ID
	e     *queue.Entry
	msg   message
	rcpts []queue.Recipient // the requested recipients, in request order
	res   []outcome         // one per rcpts
	start time.Time         // when the agent took the request
	now   func() time.Time
	held  bool // a session got as far as a mail transaction
}

// outcome is one recipient's result in this request.
type outcome struct {
	queue.Result
	log         string        // the text in the log's parentheses
	setup, xmit time.Duration // delays= c and d
	final       bool          // decided: no other server is tried for it
	soft        bool          // a server deferred it; another may still take it
}

// pending returns the positions of recipients not yet decided.
func (j *job) pending() []int {
	var out []int
	for i := range j.res {
		if !j.res[i].final {
			out = append(out, i)
		}
	}
	return out
}

// decide records a result for the recipient at position i. A temporary
// failure from a server that is not the last one to try is kept only as
// the fallback result: the next server may still accept the recipient.
func (j *job) decide(i int, st queue.Status, dsn, relay, reply, log string, ready time.Time, final bool) {
	now := j.now()
	o := outcome{Result: queue.Result{Status: st, DSN: dsn, Relay: relay, Reply: reply}, log: log,
		setup: ready.Sub(j.start), xmit: now.Sub(ready)}
	if log == "" {
		o.log = reply
	}
	o.final = final || st != queue.Deferred
	o.soft = !o.final
	j.res[i] = o
}

// finish gives f to every recipient still undecided that no server has
// deferred yet, and makes the others' soft results final.
func (j *job) finish(f *failure) {
	for i := range j.res {
		o := &j.res[i]
		if o.final {
			continue
		}
		if !o.soft {
			j.decide(i, f.status, f.dsn, f.relay, f.reply, f.logText(), j.now(), true)
			continue
		}
		o.final = true
	}
}

package main

import (
	"context"
	"encoding/json"
	"fmt"
	"sort"
	"time"

	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/ipc/wake"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/queue"
)

// change is one of the subcommands that change entries, after postsuper.
type change struct {
	name   string
	help   string
	from   []string // the queues it acts on
	done   string   // postsuper's count line: "Deleted"
	logged string   // the mail log's line per entry: "removed"
	wake   bool     // qmgr is told the IDs (they are in incoming/)
	// do applies the change to one entry.
	do func(s *queue.Spool, id queue.ID, o changeOptions) (bool, error)
}

type changeOptions struct {
	now     time.Time
	release bool // expire -f
}

var changes = map[string]change{
	"hold": {name: "hold", from: []string{queue.Incoming, queue.Active, queue.DeferredQueue}, done: "Placed on hold", logged: "placed on hold",
		help: "Put mail on hold (postsuper -h): it is not delivered, and does not expire, until released.\nAn entry being delivered may still go out once.",
		do:   func(s *queue.Spool, id queue.ID, _ changeOptions) (bool, error) { return s.Hold(id) }},
	"release": {name: "release", from: []string{queue.Hold}, done: "Released from hold", logged: "released from hold",
		help: "Release mail on hold (postsuper -H): it goes to the deferred queue, due at once,\nand is tried at the queue manager's next scan of it (queue_run_delay).",
		do:   func(s *queue.Spool, id queue.ID, o changeOptions) (bool, error) { return s.Release(id, o.now) }},
	"delete": {name: "delete", from: queue.AdminQueues, done: "Deleted", logged: "removed",
		help: "Delete mail from the queue (postsuper -d). No notice goes to the sender.",
		do:   func(s *queue.Spool, id queue.ID, _ changeOptions) (bool, error) { return s.Delete(id) }},
	"requeue": {name: "requeue", from: queue.AdminQueues, done: "Requeued", logged: "requeued", wake: true,
		help: "Requeue mail (postsuper -r): it goes to the incoming queue and is routed and\ntried again at once, held mail too. Recipients already done stay done.",
		do:   func(s *queue.Spool, id queue.ID, _ changeOptions) (bool, error) { return s.Requeue(id) }},
	"expire": {name: "expire", from: queue.AdminQueues, done: "Expired", logged: "forced expiration",
		help: "Expire mail (postsuper -e): at its next delivery attempt the queue manager\nreturns it to the sender as undeliverable. Deferred mail is made due now; held\nmail stays held unless -f (postsuper -f) releases it too.",
		do: func(s *queue.Spool, id queue.ID, o changeOptions) (bool, error) {
			return s.Expire(id, o.release, o.now)
		}},
}

// changeReport is the JSON of a change (-j).
type changeReport struct {
	Action string     `json:"action"`
	Count  int        `json:"count"`
	IDs    []queue.ID `json:"queue_ids"`
	Errors []string   `json:"errors,omitempty"`
}

// queueChange runs one of the changes on the selected entries and
// reports the count as postsuper does ("Deleted: 3 messages", on standard
// error, nothing when none), each entry in the mail log.
func queueChange(a *app, c change, args []string) error {
	fs := a.flags("queue "+c.name, "[-c FILE] [-j] [-s SENDER] [-r RCPT] [-d DOMAIN] [ID... | ALL | -]",
		c.help+"\n\nSelect by queue ID (ALL: every entry; -: IDs on standard input, one a line),\nsender, recipient or recipient domain; criteria of different kinds must all\nmatch. Needs root or mail_owner.")
	var s selection
	s.register(fs, false)
	var opt changeOptions
	if c.name == "expire" {
		fs.BoolVar(&opt.release, "f", false, "release held mail too (postsuper -f)")
	}
	pos, err := a.parse(fs, args, -1)
	if err != nil {
		return err
	}
	sel, err := s.selector(a, pos)
	if err != nil {
		return err
	}
	if sel.Empty() {
		return usageError("no queue ID, ALL, - or selection given")
	}
	if err := a.load(); err != nil {
		return err
	}
	if err := mayChange(a.cfg.QueueDirectory, queue.AdminQueues); err != nil {
		return err
	}
	spool := a.spool()
	ids, err := selected(spool, sel, c.from)
	if err != nil {
		return err
	}
	log := a.queueLog()
	rep := changeReport{Action: c.name, IDs: []queue.ID{}}
	opt.now = a.clock()
	for _, id := range ids {
		ok, err := c.do(spool, id, opt)
		if err != nil {
			rep.Errors = append(rep.Errors, err.Error())
			fmt.Fprintf(a.stderr, "postern: warning: %s: %v\n", id, err)
			continue
		}
		if ok {
			rep.Count++
			rep.IDs = append(rep.IDs, id)
			log.Info("%s: %s", id, c.logged)
		}
	}
	if c.wake && rep.Count > 0 {
		wakeQmgr(a.cfg.QueueDirectory, rep.IDs)
	}
	if rep.Count > 0 {
		plural := "s"
		if rep.Count == 1 {
			plural = ""
		}
		fmt.Fprintf(a.stderr, "postern: %s: %d message%s\n", c.done, rep.Count, plural)
	}
	if *s.json {
		enc := json.NewEncoder(a.stdout)
		enc.SetEscapeHTML(false)
		if err := enc.Encode(rep); err != nil {
			return err
		}
	}
	if len(rep.Errors) > 0 {
		return fmt.Errorf("%d of the selected entries could not be changed", len(rep.Errors))
	}
	return nil
}

// selected returns the IDs the selector picks among the entries of
// queues. IDs alone (postsuper's way) need no reading: the change looks
// each one up; other criteria read every entry.
func selected(spool *queue.Spool, sel *queue.Selector, queues []string) ([]queue.ID, error) {
	if !sel.All && sel.Senders == nil && sel.Recipients == nil && sel.Domains == nil {
		return sortedIDs(sel), nil
	}
	var ids []queue.ID
	err := spool.Scan(queues, func(s *queue.Summary) error {
		if sel.Match(s) {
			ids = append(ids, s.ID)
		}
		return nil
	}, nil)
	return ids, err
}

func sortedIDs(sel *queue.Selector) []queue.ID {
	ids := make([]queue.ID, 0, len(sel.IDs))
	for id := range sel.IDs {
		ids = append(ids, id)
	}
	sort.Slice(ids, func(i, j int) bool { return ids[i] < ids[j] })
	return ids
}

// queueLog returns the mail log, for one line per changed entry as
// postsuper logs them, when the caller may write to it; else nothing is
// logged (the count is still printed).
func (a *app) queueLog() *maillog.Logger {
	p := a.cfg.Params
	if p.MaillogFile == "-" {
		return maillog.Discard()
	}
	log, err := maillog.New(maillog.Options{File: p.MaillogFile, Name: p.SyslogName, Program: "queue",
		Facility: p.SyslogFacility, Hostname: p.MyHostname, Now: a.clock})
	if err != nil {
		return maillog.Discard()
	}
	return log
}

// wakeQmgr tells qmgr about entries put into incoming/. It is a hint: if
// qmgr does not answer, its next scan of incoming/ finds them.
func wakeQmgr(root string, ids []queue.ID) {
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Second)
	defer cancel()
	conn, err := ipc.Dial(ctx, wake.Path(root), ipc.Hello{Channel: wake.Channel, Version: wake.Version})
	if err != nil {
		return
	}
	defer conn.Close()
	for len(ids) > 0 {
		// Well under ipc.MaxFrame per frame.
		n := min(len(ids), 1000)
		f := wake.Frame{Type: wake.Type}
		for _, id := range ids[:n] {
			f.IDs = append(f.IDs, string(id))
		}
		ids = ids[n:]
		if conn.Send(f) != nil {
			return
		}
	}
	conn.Flush()
}

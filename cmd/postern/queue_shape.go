package main

import (
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"postern.dev/postern/libmail/queue"
)

const shapeHelp = `Show the shape of the queue, as Postfix's qshape: for each recipient
domain, how many messages wait for it, by age in minutes (a column per
bucket, each bound twice the one before, the last for anything older),
largest domain first, under a TOTAL row that counts each message once.
A message counts once for each domain among its recipients still to do.
Like list, any user may run it.`

// queueShape is `postern queue shape`.
func queueShape(a *app, args []string) error {
	fs := a.flags("queue shape", "[-c FILE] [-j] [-q QUEUE] [-t MINUTES] [-b BUCKETS]", shapeHelp)
	var qs stringList
	fs.Var(&qs, "q", "the `queue`s to count: incoming, active, deferred, hold (repeatable; default incoming, active and deferred)")
	first := fs.Int("t", 5, "the first bucket's bound in `minutes` (qshape -t)")
	n := fs.Int("b", 10, "the number of age `columns`, the last for the oldest (qshape -b)")
	js := fs.Bool("j", false, "print JSON")
	if _, err := a.parse(fs, args, 0); err != nil {
		return err
	}
	if *first < 1 || *n < 2 || *n > 32 {
		return usageError("-t must be at least 1 and -b between 2 and 32")
	}
	if len(qs) == 0 {
		qs = stringList{queue.Incoming, queue.Active, queue.DeferredQueue}
	}
	queues, err := queueNames(qs, queue.ListQueues)
	if err != nil {
		return err
	}
	if err := a.load(); err != nil {
		return err
	}
	shape := queue.NewShape(*first, *n)
	now := a.clock()
	err = a.summaries(queues, func(s *queue.Summary) error {
		shape.Add(s, now)
		return nil
	})
	if err != nil {
		return err
	}
	shape.Sort()
	if *js {
		enc := json.NewEncoder(a.stdout)
		enc.SetEscapeHTML(false)
		return enc.Encode(struct {
			Queues []string `json:"queues"`
			*queue.Shape
		}{queues, shape})
	}
	printShape(a.stdout, shape)
	return nil
}

// printShape prints the table as qshape does: right-aligned columns, the
// domain first, then the total, then the buckets.
func printShape(w io.Writer, s *queue.Shape) {
	head := []string{"T"}
	for _, b := range s.Buckets {
		head = append(head, fmt.Sprint(b))
	}
	head = append(head, fmt.Sprintf("%d+", s.Buckets[len(s.Buckets)-1]))
	rows := append([]*queue.ShapeRow{&s.Total}, s.Domains...)
	widths := make([]int, len(head))
	dw := len("TOTAL")
	for i, h := range head {
		widths[i] = len(h)
	}
	for _, r := range rows {
		dw = max(dw, len(r.Domain))
		widths[0] = max(widths[0], len(fmt.Sprint(r.Total)))
		for i, c := range r.Counts {
			widths[i+1] = max(widths[i+1], len(fmt.Sprint(c)))
		}
	}
	line := func(name string, cells []string) {
		var b strings.Builder
		fmt.Fprintf(&b, "%*s", dw, name)
		for i, c := range cells {
			fmt.Fprintf(&b, " %*s", widths[i], c)
		}
		fmt.Fprintln(w, b.String())
	}
	line("", head)
	for i, r := range rows {
		name := r.Domain
		if i == 0 {
			name = "TOTAL"
		}
		cells := []string{fmt.Sprint(r.Total)}
		for _, c := range r.Counts {
			cells = append(cells, fmt.Sprint(c))
		}
		line(name, cells)
	}
}

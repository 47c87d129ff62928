package main

import (
	"bufio"
	"encoding/json"
	"fmt"
	"io"
	"strings"

	"postern.dev/postern/libmail/address"
	"postern.dev/postern/libmail/queue"
)

const listHelp = `List the mail queue as mailq does (Postfix's postqueue -p): each entry
with its size, arrival time, sender and the recipients still to do, the
deferral reason in parentheses above the recipients it applies to. After
the ID, * marks an entry being delivered (active), ! one on hold and # one
expired by "postern queue expire". With -j, one JSON object per line
(Postfix's postqueue -j fields, and each recipient's status).

Any user may list the queue: the showq service answers; when the mail
system is down, root and mail_owner read the queue directly.`

// queueList is `postern queue list` (mailq, sendmail -bp).
func queueList(a *app, args []string) error {
	fs := a.flags("queue list", "[-c FILE] [-j] [-q QUEUE] [-s SENDER] [-r RCPT] [-d DOMAIN] [ID... | -]", listHelp)
	var s selection
	s.register(fs, true)
	pos, err := a.parse(fs, args, -1)
	if err != nil {
		return err
	}
	queues, err := queueNames(s.queues, queue.ListQueues)
	if err != nil {
		return err
	}
	sel, err := s.selector(a, pos)
	if err != nil {
		return err
	}
	if err := a.load(); err != nil {
		return err
	}
	w := bufio.NewWriter(a.stdout)
	defer w.Flush()
	var out func(*queue.Summary) error
	var end func()
	if *s.json {
		enc := json.NewEncoder(w)
		enc.SetEscapeHTML(false)
		out, end = func(s *queue.Summary) error { return enc.Encode(s) }, func() {}
	} else {
		m := &mailq{w: w}
		out, end = m.entry, m.end
	}
	all := sel.Empty()
	err = a.summaries(queues, func(sum *queue.Summary) error {
		if all || sel.Match(sum) {
			return out(sum)
		}
		return nil
	})
	if err != nil {
		return err
	}
	end()
	return nil
}

// mailq prints summaries as Postfix's mailq does (postqueue's
// showq_compat): the classic heading, which scripts look for, then per
// entry a line with ID and status marks, size, arrival and sender, the
// recipients not yet done under it with each new deferral reason in
// parentheses, a blank line between entries, and the total.
//
// Queue IDs here are 16 characters, as Postfix's long queue IDs, so the
// entry lines use Postfix's long-ID columns (17, 8, 19) while the heading
// stays the classic one.
type mailq struct {
	w     io.Writer
	n     int
	bytes int64
}

const mailqHeading = "-Queue ID-  --Size-- ----Arrival Time---- -Sender/Recipient-------"

func (m *mailq) entry(s *queue.Summary) error {
	if m.n == 0 {
		fmt.Fprintln(m.w, mailqHeading)
	} else {
		fmt.Fprintln(m.w)
	}
	m.n++
	m.bytes += s.Size
	id := string(s.ID)
	switch s.Queue {
	case queue.Active:
		id += "*"
	case queue.Hold:
		id += "!"
	}
	if s.ForcedExpire {
		id += "#"
	}
	sender := "MAILER-DAEMON"
	if s.Sender != "" {
		sender = printable(address.Quote(s.Sender))
	}
	arrival := s.ArrivalTime().Local().Format("Mon Jan _2 15:04:05")
	_, err := fmt.Fprintf(m.w, "%-17s %8d %19.19s %s\n", id, s.Size, arrival, sender)
	saved := ""
	for _, r := range s.Recipients {
		if r.Done {
			continue
		}
		if r.DelayReason != saved {
			saved = r.DelayReason
			show := printable(saved)
			if show == "" {
				show = "reason unavailable"
			}
			fmt.Fprintf(m.w, "%*s(%s)\n", max(76-len(show), 0), "", show)
		}
		fmt.Fprintf(m.w, "%-17s %8s %-19s %s\n", "", "", "", printable(address.Quote(r.Address)))
	}
	return err
}

func (m *mailq) end() {
	if m.n == 0 {
		fmt.Fprintln(m.w, "Mail queue is empty")
		return
	}
	plural := "s"
	if m.n == 1 {
		plural = ""
	}
	fmt.Fprintf(m.w, "\n-- %d Kbytes in %d Request%s.\n", m.bytes/1024, m.n, plural)
}

// printable replaces control characters, as Postfix's printable() does,
// so a hostile address or reply cannot move the terminal's cursor; bytes
// that are not UTF-8 (which strings.Map sees as U+FFFD) become '?' too.
func printable(s string) string {
	return strings.Map(func(r rune) rune {
		if r < ' ' || r == 0x7f || r >= 0x80 && r < 0xa0 || r == 0xfffd {
			return '?'
		}
		return r
	}, s)
}

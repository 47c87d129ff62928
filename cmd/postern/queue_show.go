package main

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"time"

	"postern.dev/postern/libmail/queue"
)

const showHelp = `Print queue entries as Postfix's postcat -q does: the envelope, each
recipient's delivery state, and the message as it will be sent (with the
header fields added after it was received). With -e, the envelope only;
with -j, one JSON object per entry, the message in "message".
Needs root or mail_owner: the message is not for every user's eyes.`

// queueShow is `postern queue show ID...`.
func queueShow(a *app, args []string) error {
	fs := a.flags("queue show", "[-c FILE] [-j] [-e] ID... | -", showHelp)
	js := fs.Bool("j", false, "print JSON")
	envOnly := fs.Bool("e", false, "the envelope and delivery state only, not the message")
	pos, err := a.parse(fs, args, -1)
	if err != nil {
		return err
	}
	if len(pos) == 0 {
		return usageError("no queue ID given")
	}
	var s selection
	sel, err := s.selector(a, pos)
	if err != nil {
		return err
	}
	if sel.All {
		return usageError("show takes queue IDs, not ALL")
	}
	if err := a.load(); err != nil {
		return err
	}
	queues := append(append([]string{}, queue.ListQueues...), queue.Corrupt)
	if err := mayChange(a.cfg.QueueDirectory, queues); err != nil {
		return err
	}
	spool := a.spool()
	w := bufio.NewWriter(a.stdout)
	defer w.Flush()
	missing := 0
	for _, id := range sortedIDs(sel) {
		q, f, e, err := spool.Locate(id, queues)
		if err != nil {
			fmt.Fprintf(a.stderr, "postern: %v\n", err)
			missing++
			continue
		}
		if *js {
			err = showJSON(w, q, f, e, *envOnly)
		} else {
			err = showText(w, q, f, e, *envOnly)
		}
		f.Close()
		if err != nil {
			return err
		}
	}
	if missing > 0 {
		return fmt.Errorf("%d of %d entries not shown", missing, len(sel.IDs))
	}
	return nil
}

// showText prints an entry in postcat's layout.
func showText(w io.Writer, q string, f *os.File, e *queue.Entry, envOnly bool) error {
	name := q + "/" + string(e.ID)
	date := func(t time.Time) string { return t.Local().Format("Mon Jan _2 15:04:05 2006") }
	fmt.Fprintf(w, "*** ENVELOPE RECORDS %s ***\n", name)
	fmt.Fprintf(w, "message_size: %d\n", e.Size)
	fmt.Fprintf(w, "message_arrival_time: %s\n", date(e.Arrival))
	for _, kv := range []struct{ k, v string }{
		{"sender", e.Sender}, {"envelope_id", e.EnvID}, {"ret", e.Ret}, {"body", e.Body},
		{"client_name", e.ClientName}, {"client_address", e.ClientAddr}, {"helo_name", e.Helo},
		{"protocol_name", e.Proto}, {"sasl_username", e.AuthUser}, {"quarantine", e.Quarantine},
	} {
		if kv.v != "" || kv.k == "sender" {
			fmt.Fprintf(w, "%s: %s\n", kv.k, printable(kv.v))
		}
	}
	for _, flag := range []struct {
		on   bool
		name string
	}{{e.SMTPUTF8, "smtputf8"}, {e.Bounce, "bounce"}, {e.DoubleBounce, "double_bounce"}, {e.Expired, "forced_expire"}, {e.Warned, "delay_warned"}} {
		if flag.on {
			fmt.Fprintf(w, "%s: yes\n", flag.name)
		}
	}
	for i, r := range e.Recipients {
		if r.ORcpt != "" {
			fmt.Fprintf(w, "original_recipient: %s\n", printable(r.ORcpt))
		}
		if r.Notify != "" {
			fmt.Fprintf(w, "dsn_notify: %s\n", r.Notify)
		}
		fmt.Fprintf(w, "recipient: %s\n", printable(r.Addr))
		st := e.State[i]
		status := string(st.Status)
		if status == "" {
			status = "pending"
		}
		if st.Notified {
			status += ", sender notified"
		}
		line := "  status: " + status
		if st.DSN != "" {
			line += ", dsn=" + st.DSN
		}
		if st.Relay != "" {
			line += ", relay=" + st.Relay
		}
		if st.Reply != "" {
			line += " (" + printable(st.Reply) + ")"
		}
		fmt.Fprintln(w, line)
	}
	if e.Attempts > 0 {
		fmt.Fprintf(w, "delivery_attempts: %d\n", e.Attempts)
		if !e.NextAttempt.IsZero() {
			fmt.Fprintf(w, "next_attempt_time: %s\n", date(e.NextAttempt))
		}
	}
	if !envOnly {
		fmt.Fprintf(w, "*** MESSAGE CONTENTS %s ***\n", name)
		if err := copyLF(w, e.Message(f)); err != nil {
			return fmt.Errorf("%s: %w", name, err)
		}
	}
	_, err := fmt.Fprintf(w, "*** MESSAGE FILE END %s ***\n", name)
	return err
}

// copyLF copies the message with CRLF line ends turned into LF, as
// postcat shows a queue file's lines.
func copyLF(w io.Writer, r io.Reader) error {
	br := bufio.NewReaderSize(r, 64<<10)
	last := byte('\n')
	for {
		line, err := br.ReadSlice('\n')
		if len(line) > 0 {
			if bytes.HasSuffix(line, []byte("\r\n")) {
				line = append(line[:len(line)-2], '\n')
			}
			if _, werr := w.Write(line); werr != nil {
				return werr
			}
			last = line[len(line)-1]
		}
		switch err {
		case nil, bufio.ErrBufferFull:
			continue
		case io.EOF:
			if last != '\n' {
				_, err := io.WriteString(w, "\n")
				return err
			}
			return nil
		default:
			return err
		}
	}
}

// shownEntry is the JSON of queue show: the listing's fields, the rest of
// the envelope, and the message.
type shownEntry struct {
	*queue.Summary
	EnvID        string `json:"envelope_id,omitempty"`
	Ret          string `json:"ret,omitempty"`
	Body         string `json:"body,omitempty"`
	SMTPUTF8     bool   `json:"smtputf8,omitempty"`
	ClientName   string `json:"client_name,omitempty"`
	ClientAddr   string `json:"client_address,omitempty"`
	Helo         string `json:"helo_name,omitempty"`
	Proto        string `json:"protocol_name,omitempty"`
	AuthUser     string `json:"sasl_username,omitempty"`
	Quarantine   string `json:"quarantine,omitempty"`
	Bounce       bool   `json:"bounce,omitempty"`
	DoubleBounce bool   `json:"double_bounce,omitempty"`
	Message      string `json:"message,omitempty"`
}

func showJSON(w io.Writer, q string, f *os.File, e *queue.Entry, envOnly bool) error {
	out := shownEntry{Summary: e.Summarize(q), EnvID: e.EnvID, Ret: e.Ret, Body: e.Body, SMTPUTF8: e.SMTPUTF8,
		ClientName: e.ClientName, ClientAddr: e.ClientAddr, Helo: e.Helo, Proto: e.Proto, AuthUser: e.AuthUser,
		Quarantine: e.Quarantine, Bounce: e.Bounce, DoubleBounce: e.DoubleBounce}
	if !envOnly {
		b, err := io.ReadAll(e.Message(f))
		if err != nil {
			return fmt.Errorf("%s/%s: %w", q, e.ID, err)
		}
		out.Message = string(b)
	}
	enc := json.NewEncoder(w)
	enc.SetEscapeHTML(false)
	return enc.Encode(out)
}

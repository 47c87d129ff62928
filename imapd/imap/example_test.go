package imap_test

import (
	"bytes"
	"errors"
	"fmt"
	"strings"
	"time"

	"postern.dev/postern/imapd/imap"
)

// A session's loop, as imapd runs it: read a command, act, answer,
// flush. The message comes from the store as a reader.
func Example() {
	client := strings.NewReader("a1 UID FETCH 7 (FLAGS BODY.PEEK[HEADER.FIELDS (Subject)])\r\nb FROB\r\na2 LOGOUT\r\n")
	var out bytes.Buffer // the connection; printed below without its CRs
	defer func() { fmt.Print(strings.ReplaceAll(out.String(), "\r\n", "\n")) }()
	w := imap.NewWriter(&out)
	r := imap.NewReader(client, imap.DefaultLimits(), func() error {
		w.Continue("go ahead")
		return w.Flush()
	})
	stored := "Subject: hello\r\nFrom: a@example.org\r\n\r\nbody\r\n"
	for {
		cmd, err := r.ReadCommand()
		var refusal *imap.Error
		if errors.As(err, &refusal) {
			w.Status(refusal.Tag, refusal.Status, refusal.Code, refusal.Text)
			w.Flush()
			continue
		}
		if err != nil {
			return
		}
		switch a := cmd.Args.(type) {
		case *imap.Fetch:
			d := &imap.FetchData{SeqNum: 1, UID: 7, Flags: []string{`\Seen`}, Size: int64(len(stored)),
				InternalDate: time.Date(2026, 12, 7, 6, 0, 0, 0, time.UTC)}
			items := imap.ResponseItems(a, cmd.UID)
			if imap.NeedsMessage(items) {
				d.Message = imap.NewMessageStream(bytes.NewReader([]byte(stored)), d.Size)
			}
			if err := w.Fetch(d, items); err != nil {
				w.Status(cmd.Tag, "NO", "", err.Error())
				break
			}
			w.Status(cmd.Tag, "OK", "", "FETCH completed")
		default:
			if cmd.Name == "LOGOUT" {
				w.Status("", "BYE", "", "logging out")
				w.Status(cmd.Tag, "OK", "", "LOGOUT completed")
				w.Flush()
				return
			}
		}
		w.Flush()
	}
	// Output:
	// * 1 FETCH (UID 7 FLAGS (\Seen) BODY[HEADER.FIELDS (Subject)] {18}
	// Subject: hello
	//
	// )
	// a1 OK FETCH completed
	// b BAD unknown command FROB
	// * BYE logging out
	// a2 OK LOGOUT completed
}

func ExampleFormat() {
	cmd, _ := imap.ParseCommand([]byte("x uid fetch 1:* fast (changedsince 42)\r\n"), imap.DefaultLimits())
	fmt.Println(imap.Format(cmd))
	// Output: x UID FETCH 1:* FAST (CHANGEDSINCE 42)
}

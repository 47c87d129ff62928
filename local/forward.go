package local

import (
	"io"
	"os"

	"postern.dev/postern/libmail/queue"
)

// forward queues the message again for addresses an alias or .forward
// sent elsewhere, as a new entry with the original sender, so that qmgr
// tracks each new recipient on its own and a failure of one does not
// make local deliver the others twice. The copy carries Delivered-To: for
// the recipient that forwarded it, which is how a forwarding loop is
// caught when it comes back.
func (a *Agent) forward(e *queue.Entry, f *os.File, rcpt string, to []string) (queue.ID, error) {
	id := a.spool.NewID()
	env := &queue.Envelope{Arrival: a.now(), Sender: e.Sender, EnvID: e.EnvID, Ret: e.Ret, Body: e.Body, SMTPUTF8: e.SMTPUTF8,
		ClientName: "localhost", Proto: "local"}
	for _, addr := range to {
		env.Recipients = append(env.Recipients, queue.Recipient{Addr: addr})
	}
	w, err := a.spool.Create(id, env)
	if err != nil {
		return "", err
	}
	io.WriteString(w, "Delivered-To: "+rcpt+"\r\n")
	if _, err := io.Copy(w, e.Message(f)); err != nil {
		w.Abort()
		return "", err
	}
	if err := w.Commit(); err != nil {
		return "", err
	}
	a.wake.Wake(id)
	a.log.Info("%s: forwarded to %d recipient(s) as %s", e.ID, len(to), id)
	return id, nil
}

package delivery

import (
	"encoding/json"

	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/maillog"
)

// MaxReplyText bounds the reply text of one result as an agent records
// it in the entry and sends it to qmgr. The text is a remote server's
// words or a command's output, so its size is someone else's choice:
// unbounded, it would grow the entry and the log by its size at every
// attempt. Postfix keeps a few hundred bytes per reply; the smtp agent
// bounds its replies at 1000 bytes, so this is defence in depth for
// every agent.
const MaxReplyText = 2000

// FrameLimit is the largest encoded reply ipc.Conn.Send accepts.
const FrameLimit = ipc.MaxFrame - 1

// Fit makes the encoded reply at most limit bytes long (FrameLimit: it
// fits in an ipc frame), so that it can always be sent: a reply that
// could not be sent would cost the connection and every delivery in
// flight on it. It reports whether it changed the reply.
//
// A request may carry many recipients, each with a reply text of up to
// MaxReplyText, and JSON may encode a byte of it in six ('<' is
// "\u003c"). First the texts are cut to an equal share of the room the
// rest of the reply leaves; when even the bare results do not fit (tens
// of thousands of recipients), the results that do not fit are left
// out. Nothing is lost by either: the agent recorded the results in the
// entry before it answers, and the entry is what qmgr goes by; the
// results on the wire only tell qmgr how the destination fared.
func (rep *Reply) Fit(limit int) bool {
	if b, err := json.Marshal(rep); err != nil || len(b) <= limit {
		return false
	}
	if len(rep.Results) == 0 {
		return false // nothing to cut
	}
	texts := make([]string, len(rep.Results))
	for i := range rep.Results {
		texts[i], rep.Results[i].Reply = rep.Results[i].Reply, ""
	}
	bare, _ := json.Marshal(rep)
	if len(bare) > limit {
		rep.dropResults(limit)
		return true
	}
	// Each text costs `,"reply":""` (10 bytes) plus at most six bytes per
	// byte of it, its marker included.
	n := ((limit-len(bare))/len(texts) - 10) / 6
	if n < len(maillog.Truncated) {
		return true
	}
	for i, t := range texts {
		rep.Results[i].Reply = maillog.Truncate(t, n)
	}
	return true
}

// dropResults keeps the results whose bare encoding fits in limit bytes.
func (rep *Reply) dropResults(limit int) {
	all := rep.Results
	rep.Results = nil
	empty, _ := json.Marshal(rep)
	size := len(empty)
	for i, r := range all {
		b, _ := json.Marshal(r)
		if size+len(b)+1 > limit {
			rep.Results = all[:i]
			return
		}
		size += len(b) + 1
	}
	rep.Results = all
}

package delivery

import (
	"errors"
	"os"

	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/queue"
)

// Record makes an agent's results durable before qmgr hears them, as the
// protocol requires, and returns the reply to send. When the request was
// Last and everything was sent, the entry is removed instead: the removal
// is the record. If the results cannot be written, the reply defers every
// recipient: answering with results a crash could undo would let qmgr
// believe them, while deferring costs at most a duplicate.
func Record(spool *queue.Spool, f *os.File, req *Request, rep *Reply, recs []queue.Record, log *maillog.Logger, relay string) *Reply {
	id := queue.ID(req.ID)
	allSent := len(rep.Results) == len(req.Rcpts)
	for _, r := range rep.Results {
		allSent = allSent && queue.Status(r.Status) == queue.Sent
	}
	if req.Last && allSent {
		err := spool.RecycleOpen(f, queue.Active, id)
		if err == nil {
			rep.Removed = true
			log.Info("%s: removed", id)
			return rep
		}
		if !errors.Is(err, os.ErrNotExist) {
			log.Warn("%s: remove: %v", id, err)
		}
	}
	if err := queue.Append(f, recs...); err != nil {
		log.Warn("%s: record results: %v", id, err)
		return DeferAll(req, "4.3.0", relay, "cannot record delivery results")
	}
	return rep
}

// DeferAll answers a request that could not be worked on at all: every
// recipient deferred for reason.
func DeferAll(req *Request, dsn, relay, reason string) *Reply {
	rep := &Reply{Type: ReplyType, Seq: req.Seq}
	for _, i := range req.Rcpts {
		rep.Results = append(rep.Results, Result{Rcpt: i, Status: string(queue.Deferred), DSN: dsn, Relay: relay, Reply: reason})
	}
	return rep
}

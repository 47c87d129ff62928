package agent

import (
	"errors"
	"os"

	"postern.dev/postern/libmail/ipc/delivery"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/queue"
)

// Open opens and reads the entry a request names, shared-locked against
// recycling, for an agent. If that fails it logs why and returns the reply
// to send instead: every recipient deferred.
func Open(spool *queue.Spool, req *delivery.Request, log *maillog.Logger, relay string) (*os.File, *queue.Entry, *delivery.Reply) {
	id := queue.ID(req.ID)
	f, err := spool.OpenEntry(queue.Active, id, true)
	if err != nil {
		log.Warn("%s: %v", id, err)
		return nil, nil, DeferAll(req, "4.3.0", relay, "cannot open queue entry: "+err.Error())
	}
	e, err := queue.Read(f, id)
	if err != nil {
		f.Close()
		log.Warn("%s: %v", id, err)
		return nil, nil, DeferAll(req, "4.3.0", relay, "cannot read queue entry")
	}
	for _, i := range req.Rcpts {
		if i >= len(e.Recipients) {
			f.Close()
			log.Warn("%s: request for recipient %d of %d", id, i, len(e.Recipients))
			return nil, nil, DeferAll(req, "4.3.0", relay, "bad recipient index")
		}
	}
	return f, e, nil
}

// Record makes an agent's results durable before qmgr hears them, as the
// protocol requires, and returns the reply to send. Reply texts longer
// than MaxReplyText are cut, in the records and in the reply. When the
// request was Last and everything was sent, the entry is removed instead:
// the removal is the record. If the results cannot be written, the reply
// defers every recipient: answering with results a crash could undo
// would let qmgr believe them, while deferring costs at most a duplicate.
func Record(spool *queue.Spool, f *os.File, req *delivery.Request, rep *delivery.Reply, recs []queue.Record, log *maillog.Logger, relay string) *delivery.Reply {
	id := queue.ID(req.ID)
	boundRecords(rep, recs)
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
	if err := spool.Append(f, recs...); err != nil {
		log.Warn("%s: record results: %v", id, err)
		return DeferAll(req, "4.3.0", relay, "cannot record delivery results")
	}
	return rep
}

// DeferAll answers a request that could not be worked on at all: every
// recipient deferred for reason.
func DeferAll(req *delivery.Request, dsn, relay, reason string) *delivery.Reply {
	rep := &delivery.Reply{Type: delivery.ReplyType, Seq: req.Seq}
	for _, i := range req.Rcpts {
		rep.Results = append(rep.Results, delivery.Result{Rcpt: i, Status: string(queue.Deferred), DSN: dsn, Relay: relay, Reply: maillog.Truncate(reason, delivery.MaxReplyText)})
	}
	return rep
}

// boundRecords bounds the reply text of the result records an agent is
// about to append, and of the results it is about to send.
func boundRecords(rep *delivery.Reply, recs []queue.Record) {
	for i := range rep.Results {
		rep.Results[i].Reply = maillog.Truncate(rep.Results[i].Reply, delivery.MaxReplyText)
	}
	for i, r := range recs {
		if rr, ok := r.(queue.ResultRecord); ok && len(rr.Reply) > delivery.MaxReplyText {
			rr.Reply = maillog.Truncate(rr.Reply, delivery.MaxReplyText)
			recs[i] = rr
		}
	}
}

package showq

import (
	"slices"
	"testing"

	"postern.dev/postern/libmail/queue"
	"postern.dev/postern/libmail/testkit"
)

// FuzzRequest decodes arbitrary bytes as a listing request the way showq
// does. A request that validates names one to four of the listable
// queues and nothing else: never tmp/, never a path.
func FuzzRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		r := testkit.DecodeValid[Request](t, data)
		if r == nil {
			return
		}
		if r.Type != RequestType || len(r.Queues) == 0 || len(r.Queues) > 4 {
			t.Fatalf("validated %+v", r)
		}
		for _, q := range r.Queues {
			if !slices.Contains(queue.ListQueues, q) {
				t.Fatalf("validated queue %q", q)
			}
		}
	})
}

// FuzzReply decodes arbitrary bytes as a frame of showq's answer the way
// postern queue list does. A report that validates has an entry with a
// queue ID and a listable queue; an end has no entry.
func FuzzReply(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		r := testkit.DecodeValid[Reply](t, data)
		if r == nil {
			return
		}
		switch r.Type {
		case ReportType:
			if r.Entry == nil || !queue.Valid(string(r.Entry.ID)) || !slices.Contains(queue.ListQueues, r.Entry.Queue) || r.Error != "" {
				t.Fatalf("validated report %+v", r)
			}
		case EndType:
			if r.Entry != nil {
				t.Fatalf("validated end with an entry")
			}
		default:
			t.Fatalf("validated type %q", r.Type)
		}
	})
}

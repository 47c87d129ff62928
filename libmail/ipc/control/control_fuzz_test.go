package control

import (
	"testing"

	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/testkit"
)

// FuzzRequest decodes arbitrary bytes as an admin request the way the
// master does. Only the three known request types validate.
func FuzzRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		r := testkit.DecodeValid[Request](t, data)
		if r == nil {
			return
		}
		switch r.Type {
		case StatusGet, ConfigReload, SystemStop:
		default:
			t.Fatalf("validated a request of type %q", r.Type)
		}
	})
}

// FuzzReply decodes arbitrary bytes as the master's answer the way the
// admin command does. Reply has no Validate; what decodes must encode
// again (the master sends it with ipc.Conn.Send) and come back the same.
func FuzzReply(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Reply
		if err := ipc.Decode(data, &r); err != nil {
			return
		}
		r2 := testkit.RoundTrip(t, &r)
		if r2.Type != r.Type || r2.OK != r.OK || r2.Error != r.Error || (r2.Status == nil) != (r.Status == nil) {
			t.Fatalf("reply %+v came back as %+v", r, r2)
		}
		if r.Status != nil && len(r2.Status.Services) != len(r.Status.Services) {
			t.Fatalf("%d services came back as %d", len(r.Status.Services), len(r2.Status.Services))
		}
	})
}

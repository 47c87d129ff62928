package handoff

import (
	"bytes"
	"testing"

	"postern.dev/postern/libmail/ipc"
	"postern.dev/postern/libmail/testkit"
)

// FuzzRequest decodes arbitrary bytes as a session service does
// (ipc.Decode, then Validate). What validates has a known protocol and
// mechanism, bounded fields, and user and tag without control characters
// (they end up in log lines and on the wire); what decodes survives a
// round trip with the same verdict.
func FuzzRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		r, verr, ok := testkit.Validated[Request](t, data)
		if !ok || verr != nil {
			return
		}
		if r.Protocol != IMAP && r.Protocol != POP3 || len(r.User) > MaxUser || len(r.Buffered) > MaxBuffered {
			t.Fatalf("validated %+v", r)
		}
		if bytes.ContainsAny([]byte(r.User+r.Tag), "\r\n\x00") {
			t.Fatalf("validated a control character in %q %q", r.User, r.Tag)
		}
	})
}

// FuzzReply decodes arbitrary bytes as a login process does.
func FuzzReply(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Reply
		if err := ipc.Decode(data, &r); err != nil {
			return
		}
		if r.Validate() != nil {
			return
		}
		if r.OK && (r.PID <= 0 || r.Temp) {
			t.Fatalf("validated %+v", r)
		}
		if r.OK && bytes.ContainsAny([]byte(r.User), "\r\n\x00") {
			t.Fatalf("validated a control character in %q", r.User)
		}
	})
}

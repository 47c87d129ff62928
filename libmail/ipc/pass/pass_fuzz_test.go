package pass

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"testing"

	"postern.dev/postern/libmail/ipc"
)

// FuzzRequest decodes arbitrary bytes as smtpd does (ipc.Decode, then
// Validate): what validates has a known verdict and two addresses that
// parse; what decodes survives a round trip with the same verdict.
func FuzzRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		var r Request
		if err := ipc.Decode(data, &r); err != nil {
			return
		}
		verr := r.Validate()
		b, err := json.Marshal(r)
		if err != nil {
			t.Fatalf("decoded request does not encode: %v", err)
		}
		var r2 Request
		if err := ipc.Decode(b, &r2); err != nil {
			t.Fatalf("re-encoded request %q does not decode: %v", b, err)
		}
		if b2, _ := json.Marshal(r2); !bytes.Equal(b, b2) {
			t.Fatalf("request changed on the way back: %q became %q", b, b2)
		}
		if (verr == nil) != (r2.Validate() == nil) {
			t.Fatalf("Validate %v before the round trip, %v after", verr, r2.Validate())
		}
		if verr != nil {
			return
		}
		if _, err := netip.ParseAddrPort(r.Client); err != nil {
			t.Fatalf("validated client %q", r.Client)
		}
		if r.Verdict != PassNew && r.Verdict != PassOld && r.Verdict != Allowlisted {
			t.Fatalf("validated verdict %q", r.Verdict)
		}
	})
}

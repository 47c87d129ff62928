package pass

import (
	"net/netip"
	"testing"

	"postern.dev/postern/libmail/testkit"
)

// FuzzRequest decodes arbitrary bytes as smtpd does (ipc.Decode, then
// Validate): what validates has a known verdict and two addresses that
// parse; what decodes survives a round trip with the same verdict.
func FuzzRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		r, verr, ok := testkit.Validated[Request](t, data)
		if !ok || verr != nil {
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

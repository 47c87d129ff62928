package anvil

import (
	"net/netip"
	"strings"
	"testing"

	"postern.dev/postern/libmail/testkit"
)

// FuzzRequest decodes arbitrary bytes as an event report the way anvil
// does (ipc.Decode, then Validate). A request that validates names a
// known event; its client, if any, is an IP address in the one text
// form anvil counts it under (so "::ffff:192.0.2.1", "192.0.2.01" or a
// zone cannot make a second counter for one client); its user is short
// and free of control characters (it reaches the log); and only a
// Disconnect goes without a sequence number, since it has no answer.
func FuzzRequest(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		r := testkit.DecodeValid[Request](t, data)
		if r == nil {
			return
		}
		if r.Type != RequestType {
			t.Fatalf("validated a request of type %q", r.Type)
		}
		switch r.Event {
		case Connect, Disconnect, Auth, AuthFailure:
			if r.Client == "" || r.User != "" {
				t.Fatalf("validated %s with client %q, user %q", r.Event, r.Client, r.User)
			}
		case Message, Recipient:
			if r.Client == "" && r.User == "" {
				t.Fatalf("validated %s for nobody", r.Event)
			}
		default:
			t.Fatalf("validated event %q", r.Event)
		}
		if (r.Seq == 0) != (r.Event == Disconnect) {
			t.Fatalf("validated %s with seq %d", r.Event, r.Seq)
		}
		if r.Client != "" {
			a, err := netip.ParseAddr(r.Client)
			if err != nil || a.String() != r.Client || a.Zone() != "" {
				t.Fatalf("validated client %q", r.Client)
			}
		}
		if len(r.User) > MaxUser || strings.ContainsAny(r.User, "\r\n\x00\x7f") {
			t.Fatalf("validated user %q", r.User)
		}
	})
}

// FuzzReply decodes arbitrary bytes as anvil's answer the way smtpd
// does. A reply that validates has the reply type, a sequence number to
// match (0 is never sent) and no negative count.
func FuzzReply(f *testing.F) {
	f.Fuzz(func(t *testing.T, data []byte) {
		r := testkit.DecodeValid[Reply](t, data)
		if r == nil {
			return
		}
		if r.Type != ReplyType || r.Seq == 0 {
			t.Fatalf("validated reply %+v", r)
		}
		for _, c := range []Counts{r.Client, r.User} {
			if c.Connections < 0 || c.ConnectRate < 0 || c.Messages < 0 || c.Recipients < 0 || c.Auths < 0 || c.AuthFailures < 0 {
				t.Fatalf("validated negative counts %+v", c)
			}
		}
	})
}

// Package pass is the channel on which postscreen hands a client that
// passed its tests to smtpd (socket private/smtpd), as Postfix's
// postscreen passes connections to its "smtpd pass" service.
//
// One connection carries one client: after the hello, postscreen sends
// the client's TCP socket (one byte with SCM_RIGHTS, libmail/daemon) and
// then a Request frame; smtpd answers nothing and the connection ends.
// smtpd takes the client's address from the socket itself (getpeername
// on the passed descriptor), so what it logs, limits and writes into
// Received: is the real client's; the addresses in the Request are
// postscreen's view, which smtpd checks against the socket's so that a
// mix-up shows in the log instead of in the mail.
package pass

import (
	"fmt"
	"net/netip"
)

// Channel and Version name this protocol in the hello.
const (
	Channel = "postscreen-pass"
	Version = 1
)

// RequestType is the frame's type: the receiver, the noun, the verb.
const RequestType = "smtpd-client-pass"

// Request says whom the descriptor sent before it belongs to.
type Request struct {
	Type   string `json:"type"`
	Client string `json:"client"` // the client's address and port
	Local  string `json:"local"`  // the address and port it connected to
	// Verdict is how the client passed, as postscreen logged it (NEW,
	// OLD, ALLOWLISTED), for smtpd's verbose log.
	Verdict string `json:"verdict"`
}

// Verdicts a request may carry.
const (
	PassNew     = "NEW"
	PassOld     = "OLD"
	Allowlisted = "ALLOWLISTED"
)

// Validate checks a received request.
func (r *Request) Validate() error {
	if r.Type != RequestType {
		return fmt.Errorf("pass request of type %q", r.Type)
	}
	switch r.Verdict {
	case PassNew, PassOld, Allowlisted:
	default:
		return fmt.Errorf("pass request with verdict %q", r.Verdict)
	}
	for name, v := range map[string]string{"client": r.Client, "local": r.Local} {
		if _, err := netip.ParseAddrPort(v); err != nil {
			return fmt.Errorf("pass request with %s %q: %v", name, v, err)
		}
	}
	return nil
}

package local

import (
	"fmt"
	"strings"
	"testing"
)

// TestDeliverHugeHeader: a message whose header section is longer than
// local's scan for Delivered-To: (smtpd queued such messages before
// header_size_limit, and forwarding adds to a header) is delivered, not
// deferred for ever because it cannot be read; and a Delivered-To: for
// the recipient at its top, where local puts it, still stops a loop.
func TestDeliverHugeHeader(t *testing.T) {
	var b strings.Builder
	for i := 0; b.Len() < 2<<20; i++ {
		fmt.Fprintf(&b, "X-Filler-%07d: %s\r\n", i, strings.Repeat("h", 80))
	}
	huge := "Subject: huge\r\n" + b.String() + "\r\nbody\r\n"
	e := newTestEnv(t, envOptions{accounts: expandAccounts})
	id := e.enqueue("sender@example.org", huge, "user@example.test")
	checkResults(t, e.handle(id, true, 0), wantResult{"sent", "2.0.0", "delivered to maildir"})

	id = e.enqueue("sender@example.org", "Delivered-To: user@example.test\r\n"+huge, "user@example.test")
	checkResults(t, e.handle(id, true, 0), wantResult{"failed", "5.4.6", "mail forwarding loop"})
}

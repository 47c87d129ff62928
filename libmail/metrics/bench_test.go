package metrics

import (
	"testing"
	"time"

	"postern.dev/postern/libmail/maillog"
)

// BenchmarkMessage is what one message costs the daemons in counting:
// a connection, its commit, its delivery with the delay histogram.
func BenchmarkMessage(b *testing.B) {
	s := NewSet(0)
	d := maillog.Delivery{To: "user@example.test", Status: "sent", Delay: 30 * time.Millisecond}
	b.ReportAllocs()
	for b.Loop() {
		s.Inc(Connections, "smtp")
		s.Inc(Received, "smtp")
		s.Delivery("local", d)
	}
}

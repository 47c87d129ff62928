package daemon

import (
	"bufio"
	"context"
	"os"
	"strings"
	"testing"
	"time"

	"golang.org/x/sys/unix"

	"postern.dev/postern/libmail/metrics"
)

// TestLinkAnswersMetrics: the daemon's end of the status socket answers
// the master's request with its snapshot, sends a changed snapshot
// when asked to report, sends nothing when nothing changed, and ends
// the daemon's context when the master goes away.
func TestLinkAnswersMetrics(t *testing.T) {
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	master := os.NewFile(uintptr(pair[0]), "master")
	defer master.Close()
	link := &masterLink{status: os.NewFile(uintptr(pair[1]), "daemon")}
	set := metrics.NewSet(0)
	set.Inc(metrics.Received, "smtp")
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	link.watch(cancel, set)

	lines := make(chan string, 8)
	go func() {
		sc := bufio.NewScanner(master)
		sc.Buffer(nil, metrics.MaxLine)
		for sc.Scan() {
			lines <- sc.Text()
		}
		close(lines)
	}()
	next := func() metrics.Snapshot {
		t.Helper()
		select {
		case l := <-lines:
			snap, err := metrics.ParseLine(l)
			if err != nil {
				t.Fatalf("%q: %v", l, err)
			}
			return snap
		case <-time.After(5 * time.Second):
			t.Fatal("no report")
		}
		return metrics.Snapshot{}
	}
	master.Write([]byte(metrics.Ask + "\n"))
	if s := next(); len(s.Series) != 1 || s.Series[0].Value != 1 {
		t.Fatalf("answer %+v, want received 1", s)
	}
	link.report(set, false) // nothing changed since the answer
	set.Inc(metrics.Received, "smtp")
	link.report(set, false)
	if s := next(); s.Series[0].Value != 2 {
		t.Fatalf("report %+v, want received 2", s)
	}
	select {
	case l := <-lines:
		if strings.HasPrefix(l, metrics.Prefix) {
			t.Fatalf("unchanged metrics sent again: %q", l)
		}
	case <-time.After(100 * time.Millisecond):
	}

	unix.Shutdown(pair[0], unix.SHUT_WR) // the master is gone
	select {
	case <-ctx.Done():
	case <-time.After(5 * time.Second):
		t.Fatal("context not cancelled at EOF")
	}
}

package master

import (
	"bufio"
	"io"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	dto "github.com/prometheus/client_model/go"
	"golang.org/x/sys/unix"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/metrics"
	"postern.dev/postern/libmail/queue"
	"postern.dev/postern/libmail/testkit"
)

// reporter is the daemon's end of a status socketpair: it answers
// metrics.Ask with its set's snapshot, as libmail/daemon does.
type reporter struct {
	set  *metrics.Set
	conn *os.File
}

func startReporter(t *testing.T, m *Master, pid int) (*proc, *reporter) {
	t.Helper()
	pair, err := unix.Socketpair(unix.AF_UNIX, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		t.Fatal(err)
	}
	p := &proc{svc: &service{cfg: &config.Service{Name: "smtp", Command: "smtpd"}}, pid: pid,
		status: os.NewFile(uintptr(pair[0]), "status")}
	d := &reporter{set: metrics.NewSet(0), conn: os.NewFile(uintptr(pair[1]), "daemon")}
	m.metrics.started(p)
	go m.watchStatus(p)
	go func() {
		sc := bufio.NewScanner(d.conn)
		for sc.Scan() {
			if sc.Text() == metrics.Ask {
				d.conn.Write(d.set.Snapshot().Line())
			}
		}
	}()
	return p, d
}

// exit sends the last report and ends the fake daemon, as
// daemon.Main does.
func (d *reporter) exit() {
	d.conn.Write(d.set.Snapshot().Line())
	// A shutdown, since a close would wait for the reader goroutine.
	unix.Shutdown(int(d.conn.Fd()), unix.SHUT_RDWR)
}

func gather(t *testing.T, c *collector) map[string]*dto.MetricFamily {
	t.Helper()
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	fams, err := reg.Gather()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]*dto.MetricFamily{}
	for _, f := range fams {
		out[f.GetName()] = f
	}
	return out
}

func counter(fams map[string]*dto.MetricFamily, name string, labels ...string) float64 {
	f := fams[name]
	if f == nil {
		return -1
	}
	for _, m := range f.GetMetric() {
		var ls []string
		for _, l := range m.GetLabel() {
			ls = append(ls, l.GetValue())
		}
		if strings.Join(ls, ",") == strings.Join(labels, ",") {
			if m.GetGauge() != nil {
				return m.GetGauge().GetValue()
			}
			return m.GetCounter().GetValue()
		}
	}
	return -1
}

// TestCollectorSumsAcrossRestarts: a scrape asks the live daemons; what
// a daemon reported before it ended stays in the totals, and its
// successor's counts add to them. The queue is counted at scrape time.
func TestCollectorSumsAcrossRestarts(t *testing.T) {
	spool := t.TempDir()
	for _, q := range queueDirs {
		os.Mkdir(filepath.Join(spool, q), 0o700)
	}
	os.WriteFile(filepath.Join(spool, queue.Incoming, "A"), nil, 0o600)
	os.WriteFile(filepath.Join(spool, queue.Incoming, "B"), nil, 0o600)
	os.WriteFile(filepath.Join(spool, queue.DeferredQueue, "C"), nil, 0o600)
	logs := &testkit.LogBuffer{}
	m := &Master{events: make(chan any, 16)}
	m.metrics = newCollector(maillog.ForWriter(logs, "master", "test", nil), 0, spool)

	p1, d1 := startReporter(t, m, 100)
	d1.set.Inc(metrics.Received, "smtp")
	d1.set.Inc(metrics.Received, "smtp")
	fams := gather(t, m.metrics)
	if v := counter(fams, metrics.Received.Name, "smtp"); v != 2 {
		t.Fatalf("received = %v, want 2 (asked at scrape time)", v)
	}
	if v := counter(fams, "postern_queue_messages", "incoming"); v != 2 {
		t.Errorf("incoming = %v, want 2", v)
	}
	if v := counter(fams, "postern_queue_messages", "deferred"); v != 1 {
		t.Errorf("deferred = %v, want 1", v)
	}

	// One more, then the daemon ends: its last report counts.
	d1.set.Inc(metrics.Received, "smtp")
	d1.exit()
	waitGone(t, m.metrics, p1)
	_, d2 := startReporter(t, m, 101)
	d2.set.Inc(metrics.Received, "smtp")
	if v := counter(gather(t, m.metrics), metrics.Received.Name, "smtp"); v != 4 {
		t.Errorf("received after a restart = %v, want 4", v)
	}
	if strings.Contains(logs.String(), "warning") {
		t.Errorf("log: %s", logs)
	}
}

// TestCollectorIgnoresBadReports: a report the master cannot read is
// logged and leaves the totals alone.
func TestCollectorIgnoresBadReports(t *testing.T) {
	logs := &testkit.LogBuffer{}
	m := &Master{events: make(chan any, 16)}
	m.metrics = newCollector(maillog.ForWriter(logs, "master", "test", nil), 0, t.TempDir())
	p, d := startReporter(t, m, 100)
	d.conn.Write([]byte(`METRICS {"v":1,"s":[{"n":"postern_evil_total","l":[],"v":1}]}` + "\n"))
	d.set.Inc(metrics.Received, "smtp")
	if v := counter(gather(t, m.metrics), metrics.Received.Name, "smtp"); v != 1 {
		t.Errorf("received = %v, want 1", v)
	}
	d.exit()
	waitGone(t, m.metrics, p)
	if !strings.Contains(logs.String(), "unknown metric") {
		t.Errorf("bad report not logged: %s", logs)
	}
}

func waitGone(t *testing.T, c *collector, p *proc) {
	t.Helper()
	for range 200 {
		c.mu.Lock()
		_, live := c.live[p]
		c.mu.Unlock()
		if !live {
			return
		}
		time.Sleep(10 * time.Millisecond)
	}
	t.Fatal("the ended process is still live")
}

// TestMetricsEndpoint: off by default, loopback only unless allowed,
// GET /metrics in Prometheus' text format, nothing else served.
func TestMetricsEndpoint(t *testing.T) {
	spool := t.TempDir()
	os.Mkdir(filepath.Join(spool, queue.Hold), 0o700)
	c := newCollector(maillog.Discard(), 0, spool)
	if err := c.serve("", false); err != nil || c.srv != nil {
		t.Fatalf("empty metrics_listen: %v, server %v", err, c.srv)
	}
	if err := c.serve("0.0.0.0:0", false); err == nil || !strings.Contains(err.Error(), "not a loopback address") {
		t.Fatalf("0.0.0.0: err = %v", err)
	}
	if err := c.serve("127.0.0.1:0", false); err != nil {
		t.Fatal(err)
	}
	defer c.close()
	resp, err := http.Get("http://" + c.bound + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	body, _ := io.ReadAll(resp.Body)
	resp.Body.Close()
	if resp.StatusCode != 200 || !strings.Contains(string(body), `postern_queue_messages{queue="hold"} 0`) {
		t.Errorf("GET /metrics: %s\n%s", resp.Status, body)
	}
	resp, err = http.Post("http://"+c.bound+"/metrics", "text/plain", strings.NewReader("x"))
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusMethodNotAllowed {
		t.Errorf("POST /metrics: %s", resp.Status)
	}
	resp, err = http.Get("http://" + c.bound + "/")
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != http.StatusNotFound {
		t.Errorf("GET /: %s", resp.Status)
	}
}

package e2e

import (
	"crypto/tls"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	gosmtp "github.com/emersion/go-smtp"
	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// TestMetricsAndPflogsumm sends a known mix of mail through a sandbox
// with metrics_listen on loopback: three messages delivered locally,
// one relayed, one to an alias that forwards it to the relay, one
// bounced by the relay (whose notice is delivered locally), one
// deferred (its relay's port refuses), two recipients refused at RCPT
// in a session under STARTTLS. It scrapes /metrics with
// an HTTP client, parses it with Prometheus' own text parser and checks
// every count; then it runs Debian's pflogsumm on the sandbox's mail log
// and checks that it counts the same, so the log lines stay ones log
// tools read.
func TestMetricsAndPflogsumm(t *testing.T) {
	pflogsumm, err := exec.LookPath("pflogsumm")
	if err != nil {
		// CI installs it (.ci/run); elsewhere it may be missing.
		if os.Getenv("CI") != "" {
			t.Fatal("pflogsumm is not installed (apt-get install pflogsumm)")
		}
		t.Skip("pflogsumm is not installed (apt-get install pflogsumm)")
	}
	sink := NewSink(t)
	sink.Rcpt = func(to string) string {
		if strings.HasPrefix(to, "reject@") {
			return "550 5.1.1 <" + to + ">: no such user here"
		}
		return "250 2.1.5 OK"
	}
	closed := closedPort(t)
	metricsAddr := fmt.Sprintf("127.0.0.1:%d", closedPort(t))
	s := NewSystem(t, Options{Set: []string{
		"metrics_listen=" + metricsAddr,
		fmt.Sprintf(`transport_maps=["relay.test smtp:[127.0.0.1]:%d", "down.test smtp:[127.0.0.1]:%d"]`, sink.Port, closed),
	}, NoStart: true})
	const local = "demo@example.test"
	if err := os.WriteFile(filepath.Join(s.Dir, "aliases"), []byte("postmaster: demo@example.test\nfwd: ok2@relay.test\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	s.Start()
	for i := range 3 {
		submit(t, s, local, []string{local}, fmt.Sprintf("local-%d", i))
	}
	submit(t, s, local, []string{"ok@relay.test"}, "relayed")
	submit(t, s, local, []string{"fwd@example.test"}, "forwarded")
	submit(t, s, local, []string{"reject@relay.test"}, "bounced")
	submit(t, s, local, []string{"someone@down.test"}, "deferred")
	refuseUnknown(t, s, local, []string{"nobody1@example.test", "nobody2@example.test"})
	// One from a local program, through sendmail and pickup.
	if code, out, errs := s.sendmail("sendmail", nil, "Subject: from cron\n\nhello\n", local); code != 0 {
		t.Fatalf("sendmail: exit %d\n%s%s", code, out, errs)
	}

	// Every result is logged: three messages, the one from sendmail and
	// the notice of the bounce delivered here, one forwarded, two
	// relayed; one bounced, one deferred. Each is counted before its line
	// is written.
	waitLogCount(t, s, "status=sent", 8, 30*time.Second)
	waitLogCount(t, s, "status=bounced", 1, 30*time.Second)
	waitLogCount(t, s, "status=deferred", 1, 30*time.Second)

	// The deferred entry reaches deferred/ after its to= line, when
	// qmgr has the agent's answer.
	var got map[string]float64
	for deadline := time.Now().Add(10 * time.Second); ; time.Sleep(50 * time.Millisecond) {
		got = scrape(t, "http://"+metricsAddr+"/metrics")
		if got[`postern_queue_messages{queue="deferred"}`] == 1 && got[`postern_queue_messages{queue="active"}`] == 0 || time.Now().After(deadline) {
			break
		}
	}
	want := map[string]float64{
		`postern_messages_received_total{service="smtp"}`:                            7,
		`postern_messages_received_total{service="pickup"}`:                          1,
		`postern_messages_rejected_total{class="recipient",service="smtp"}`:          2,
		`postern_messages_delivered_total{domain="example.test",transport="local"}`:  5,
		`postern_messages_delivered_total{domain="relay.test",transport="outbound"}`: 2,
		`postern_messages_forwarded_total{domain="example.test",transport="local"}`:  1,
		`postern_messages_bounced_total{domain="relay.test",transport="outbound"}`:   1,
		`postern_messages_deferred_total{domain="down.test",transport="outbound"}`:   1,
		`postern_delivery_delay_seconds_count{transport="local"}`:                    6,
		`postern_delivery_delay_seconds_count{transport="outbound"}`:                 2,
		`postern_smtpd_connections_total{service="smtp"}`:                            8,
		`postern_smtpd_tls_total{mode="starttls",service="smtp",version="TLSv1.3"}`:  1,
		`postern_queue_messages{queue="active"}`:                                     0,
		`postern_queue_messages{queue="deferred"}`:                                   1,
		`postern_queue_messages{queue="incoming"}`:                                   0,
		`postern_queue_messages{queue="hold"}`:                                       0,
	}
	for k, v := range want {
		if got[k] != v {
			t.Errorf("%s = %v, want %v", k, got[k], v)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("scraped:\n%s", dump(got))
	}

	// Counts survive a daemon's restart: the master adds what a dead
	// process reported to its totals.
	pids := s.PIDs("smtp")
	if len(pids) == 0 {
		t.Fatal("no smtpd")
	}
	killAndWait(t, s, "smtp", pids[0])
	after := scrape(t, "http://"+metricsAddr+"/metrics")
	if n := after[`postern_messages_received_total{service="smtp"}`]; n != 7 {
		t.Errorf("after smtpd restarted: received = %v, want 7", n)
	}

	// pflogsumm reads the same numbers from the log.
	out, err := exec.Command(pflogsumm, "--syslog-name=postern", filepath.Join(s.Dir, "log", "maillog")).CombinedOutput()
	if err != nil {
		t.Fatalf("pflogsumm: %v\n%s", err, out)
	}
	totals := pflogsummTotals(t, string(out))
	for what, n := range map[string]int{"received": 8, "delivered": 7, "forwarded": 1, "deferred": 1, "deferrals": 1, "bounced": 1, "rejected": 2} {
		if totals[what] != n {
			t.Errorf("pflogsumm: %s = %d, want %d", what, totals[what], n)
		}
	}
	// And the same as /metrics, summed over their labels.
	for what, family := range map[string]string{"received": "postern_messages_received_total", "delivered": "postern_messages_delivered_total",
		"forwarded": "postern_messages_forwarded_total", "deferrals": "postern_messages_deferred_total",
		"bounced": "postern_messages_bounced_total", "rejected": "postern_messages_rejected_total"} {
		if sum := familySum(after, family); sum != float64(totals[what]) {
			t.Errorf("pflogsumm says %d %s, /metrics %s sums to %v", totals[what], what, family, sum)
		}
	}
	if t.Failed() || testing.Verbose() {
		t.Logf("pflogsumm:\n%s\nlog:\n%s", out, s.Log())
	}
}

// closedPort returns a loopback port nothing listens on (now).
func closedPort(t *testing.T) int {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	port := l.Addr().(*net.TCPAddr).Port
	l.Close()
	return port
}

// refuseUnknown offers rcpts, which smtpd must refuse with 550, in one
// session under STARTTLS.
func refuseUnknown(t *testing.T, s *System, from string, rcpts []string) {
	t.Helper()
	c, err := gosmtp.DialStartTLS(s.Addr(25), &tls.Config{InsecureSkipVerify: true})
	if err != nil {
		t.Fatal(err)
	}
	defer c.Close()
	if err := c.Mail(from, nil); err != nil {
		t.Fatal(err)
	}
	for _, r := range rcpts {
		err := c.Rcpt(r, nil)
		if e, ok := err.(*gosmtp.SMTPError); !ok || e.Code != 550 {
			t.Fatalf("RCPT TO:<%s>: %v, want 550", r, err)
		}
	}
	c.Quit()
}

// killAndWait kills one process of a service and waits until the master
// has restarted it and the new process scrapes.
func killAndWait(t *testing.T, s *System, service string, pid int) {
	t.Helper()
	if err := exec.Command("kill", "-TERM", strconv.Itoa(pid)).Run(); err != nil {
		t.Fatal(err)
	}
	deadline := time.Now().Add(20 * time.Second)
	for time.Now().Before(deadline) {
		if p := s.PIDs(service); len(p) > 0 && p[0] != pid {
			return
		}
		time.Sleep(100 * time.Millisecond)
	}
	t.Fatalf("%s pid %d was not restarted", service, pid)
}

// scrape fetches a Prometheus text page and returns every sample by its
// name and sorted labels, as the exposition writes them.
func scrape(t *testing.T, url string) map[string]float64 {
	t.Helper()
	resp, err := http.Get(url)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	if resp.StatusCode != 200 {
		t.Fatalf("GET %s: %s", url, resp.Status)
	}
	p := expfmt.NewTextParser(model.UTF8Validation)
	fams, err := p.TextToMetricFamilies(resp.Body)
	if err != nil {
		t.Fatalf("parse %s: %v", url, err)
	}
	out := map[string]float64{}
	for name, f := range fams {
		for _, m := range f.GetMetric() {
			var ls []string
			for _, l := range m.GetLabel() {
				ls = append(ls, fmt.Sprintf("%s=%q", l.GetName(), l.GetValue()))
			}
			key := func(suffix string) string {
				if len(ls) == 0 {
					return name + suffix
				}
				return name + suffix + "{" + strings.Join(ls, ",") + "}"
			}
			switch f.GetType() {
			case dto.MetricType_COUNTER:
				out[key("")] = m.GetCounter().GetValue()
			case dto.MetricType_GAUGE:
				out[key("")] = m.GetGauge().GetValue()
			case dto.MetricType_HISTOGRAM:
				out[key("_count")] = float64(m.GetHistogram().GetSampleCount())
				out[key("_sum")] = m.GetHistogram().GetSampleSum()
			}
		}
	}
	return out
}

// familySum adds up every series of one metric.
func familySum(m map[string]float64, family string) float64 {
	sum := 0.0
	for k, v := range m {
		if k == family || strings.HasPrefix(k, family+"{") {
			sum += v
		}
	}
	return sum
}

func dump(m map[string]float64) string {
	var b strings.Builder
	for k, v := range m {
		fmt.Fprintf(&b, "  %s %v\n", k, v)
	}
	return b.String()
}

// pflogsummTotals reads pflogsumm's "Grand Totals": the lines "N
// received" and so on, and "(N deferrals)".
func pflogsummTotals(t *testing.T, out string) map[string]int {
	t.Helper()
	totals := map[string]int{}
	line := regexp.MustCompile(`(?m)^\s*(\d+)\s+(received|delivered|forwarded|deferred|bounced|rejected)\b(?:\s+\((\d+)\s+deferrals\))?`)
	for _, m := range line.FindAllStringSubmatch(out, -1) {
		if _, seen := totals[m[2]]; seen {
			continue // the first, in Grand Totals
		}
		totals[m[2]], _ = strconv.Atoi(m[1])
		if m[3] != "" {
			totals["deferrals"], _ = strconv.Atoi(m[3])
		}
	}
	if len(totals) < 5 {
		t.Fatalf("pflogsumm printed no grand totals:\n%s", out)
	}
	return totals
}

// TestMetricsReload: the endpoint is off by default; a reload turns it
// on, moves it and turns it off again, and a non-loopback address is
// refused with the parameter named.
func TestMetricsReload(t *testing.T) {
	s := NewSystem(t, Options{})
	addr := fmt.Sprintf("127.0.0.1:%d", closedPort(t))
	if _, err := http.Get("http://" + addr + "/metrics"); err == nil {
		t.Fatal("metrics served without metrics_listen")
	}
	s.Postern("config", "set", "metrics_listen="+addr)
	s.Postern("reload")
	waitScrape(t, addr)
	if out, err := s.PosternErr("config", "set", "metrics_listen=0.0.0.0:9154"); err == nil || !strings.Contains(out, "not a loopback address") {
		t.Errorf("0.0.0.0 accepted: %v\n%s", err, out)
	}
	moved := fmt.Sprintf("127.0.0.1:%d", closedPort(t))
	s.Postern("config", "set", "metrics_listen="+moved)
	s.Postern("reload")
	waitScrape(t, moved)
	if _, err := http.Get("http://" + addr + "/metrics"); err == nil {
		t.Error("the old address still serves after the move")
	}
	s.Postern("config", "set", "metrics_listen=")
	s.Postern("reload")
	deadline := time.Now().Add(10 * time.Second)
	for {
		if _, err := http.Get("http://" + moved + "/metrics"); err != nil {
			break
		}
		if time.Now().After(deadline) {
			t.Fatal("metrics still served after metrics_listen was emptied")
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// waitScrape waits until addr serves metrics that include the queue.
func waitScrape(t *testing.T, addr string) {
	t.Helper()
	deadline := time.Now().Add(10 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/metrics")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == 200 {
				if _, ok := scrape(t, "http://"+addr+"/metrics")[`postern_queue_messages{queue="incoming"}`]; !ok {
					t.Errorf("%s: no postern_queue_messages{queue=\"incoming\"}", addr)
				}
				return
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("no metrics at %s: %v", addr, err)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

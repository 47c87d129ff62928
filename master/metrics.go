package master

import (
	"context"
	"errors"
	"fmt"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"
	"github.com/prometheus/client_golang/prometheus/promhttp"

	"postern.dev/postern/libmail/config"
	"postern.dev/postern/libmail/maillog"
	"postern.dev/postern/libmail/metrics"
	"postern.dev/postern/libmail/queue"
)

// askTimeout bounds how long a scrape waits for the daemons' answers; a
// daemon that does not answer in time is counted with its last snapshot.
const askTimeout = time.Second

// queueDirs are the queue directories whose entries a scrape counts.
var queueDirs = []string{queue.Incoming, queue.Active, queue.DeferredQueue, queue.Hold, queue.Corrupt}

// collector gathers the daemons' metrics for /metrics. It lives beside
// the master's loop, not in it: a scrape asks the live processes over
// their status sockets and waits for the answers, which watchStatus
// hands over, while the loop goes on supervising.
type collector struct {
	log   *maillog.Logger
	total *metrics.Total[*proc]
	descs map[string]*prometheus.Desc
	queue *prometheus.Desc

	mu    sync.Mutex
	live  map[*proc]chan struct{} // signalled when the process reports
	spool string                  // the queue directory (a reload may change it)

	scrape sync.Mutex // one scrape at a time: each waits for its own answers

	srv   *http.Server
	addr  string // metrics_listen as configured
	bound string // the address it listens on (the port chosen for :0)
}

func newCollector(log *maillog.Logger, domainLimit int, spool string) *collector {
	c := &collector{log: log, total: metrics.NewTotal[*proc](domainLimit), spool: spool,
		descs: map[string]*prometheus.Desc{}, live: map[*proc]chan struct{}{}}
	for _, d := range metrics.All {
		c.descs[d.Name] = prometheus.NewDesc(d.Name, d.Help, d.Labels, nil)
	}
	c.queue = prometheus.NewDesc("postern_queue_messages", "Entries in each queue directory, counted at scrape time.", []string{"queue"}, nil)
	return c
}

// setSpool says where the queue is, after a reload.
func (c *collector) setSpool(dir string) {
	c.mu.Lock()
	c.spool = dir
	c.mu.Unlock()
}

// started registers a process that can be asked.
func (c *collector) started(p *proc) {
	c.mu.Lock()
	c.live[p] = make(chan struct{}, 1)
	c.mu.Unlock()
}

// report takes a snapshot line from p.
func (c *collector) report(p *proc, line string) {
	snap, err := metrics.ParseLine(line)
	if err != nil {
		c.log.Warn("%s[%d]: %v", p.svc.cfg.Command, p.pid, err)
		return
	}
	c.total.Update(p, snap)
	c.mu.Lock()
	if ch := c.live[p]; ch != nil {
		select {
		case ch <- struct{}{}:
		default:
		}
	}
	c.mu.Unlock()
}

// ended adds what p reported last to the dead processes' totals. Its
// status socket has reached EOF, so its last report was read.
func (c *collector) ended(p *proc) {
	c.mu.Lock()
	delete(c.live, p)
	c.mu.Unlock()
	c.total.Retire(p)
}

// ask asks every live process for its metrics and waits for the answers,
// at most askTimeout.
func (c *collector) ask() {
	c.mu.Lock()
	live := make(map[*proc]chan struct{}, len(c.live))
	for p, ch := range c.live {
		live[p] = ch
	}
	c.mu.Unlock()
	// Written without c.mu: a daemon slow to read must not hold up the
	// reports of the others.
	waits := make(map[*proc]chan struct{}, len(live))
	for p, ch := range live {
		select { // an unasked report since the last scrape
		case <-ch:
		default:
		}
		if _, err := p.status.Write([]byte(metrics.Ask + "\n")); err == nil {
			waits[p] = ch
		}
	}
	deadline := time.NewTimer(askTimeout)
	defer deadline.Stop()
	for _, ch := range waits {
		select {
		case <-ch:
		case <-deadline.C:
			return
		}
	}
}

// Describe sends nothing: the collector is unchecked, since its series
// depend on what the daemons counted.
func (c *collector) Describe(chan<- *prometheus.Desc) {}

// Collect is one scrape: ask the daemons, sum, count the queue.
func (c *collector) Collect(ch chan<- prometheus.Metric) {
	c.scrape.Lock()
	c.ask()
	c.scrape.Unlock()
	for _, se := range c.total.Sum() {
		d := metrics.Lookup(se.Name)
		desc := c.descs[se.Name]
		var m prometheus.Metric
		var err error
		switch d.Kind {
		case metrics.Counter:
			m, err = prometheus.NewConstMetric(desc, prometheus.CounterValue, se.Value, se.Labels...)
		case metrics.Histogram:
			buckets := make(map[float64]uint64, len(d.Buckets))
			var n uint64
			for i, b := range d.Buckets {
				n += se.Buckets[i]
				buckets[b] = n
			}
			m, err = prometheus.NewConstHistogram(desc, se.Count, se.Sum, buckets, se.Labels...)
		}
		if err != nil {
			c.log.Warn("metrics: %s: %v", se.Name, err)
			continue
		}
		ch <- m
	}
	c.mu.Lock()
	root := c.spool
	c.mu.Unlock()
	for _, q := range queueDirs {
		n, err := countEntries(filepath.Join(root, q))
		if err != nil {
			continue
		}
		ch <- prometheus.MustNewConstMetric(c.queue, prometheus.GaugeValue, float64(n), q)
	}
}

// countEntries counts the queue files in dir without reading them all
// into memory at once.
func countEntries(dir string) (int, error) {
	f, err := os.Open(dir)
	if err != nil {
		return 0, err
	}
	defer f.Close()
	n := 0
	for {
		names, err := f.Readdirnames(1024)
		for _, name := range names {
			if name[0] != '.' {
				n++
			}
		}
		if err != nil {
			return n, nil // io.EOF, or a directory gone mid-read: count what was there
		}
	}
}

// serve starts, moves or stops the HTTP endpoint so that it listens on
// addr ("" = off). It is called at start and on reload.
func (c *collector) serve(addr string, allowRemote bool) error {
	if addr == c.addr {
		return nil
	}
	c.close()
	if addr == "" {
		return nil
	}
	// Checked at load time too; again here because serving beyond
	// loopback is what must never happen by accident.
	if err := config.CheckMetricsListen(addr, allowRemote); err != nil {
		return fmt.Errorf("metrics_listen: %w", err)
	}
	l, err := net.Listen("tcp", addr)
	if err != nil {
		return fmt.Errorf("metrics_listen: %w", err)
	}
	reg := prometheus.NewRegistry()
	reg.MustRegister(c)
	mux := http.NewServeMux()
	mux.Handle("GET /metrics", promhttp.HandlerFor(reg, promhttp.HandlerOpts{ErrorLog: httpLog{c.log}}))
	// The master is root: the HTTP server takes small requests, briefly.
	c.srv = &http.Server{Handler: mux, ReadHeaderTimeout: 5 * time.Second, ReadTimeout: 10 * time.Second,
		WriteTimeout: 30 * time.Second, IdleTimeout: 60 * time.Second, MaxHeaderBytes: 8 << 10}
	c.addr, c.bound = addr, l.Addr().String()
	go func(s *http.Server) {
		if err := s.Serve(l); err != nil && !errors.Is(err, http.ErrServerClosed) {
			c.log.Warn("metrics: %v", err)
		}
	}(c.srv)
	c.log.Info("metrics: serving http://%s/metrics", l.Addr())
	return nil
}

// close stops the HTTP endpoint, if it runs.
func (c *collector) close() {
	if c.srv == nil {
		return
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Second)
	defer cancel()
	c.srv.Shutdown(ctx)
	c.srv, c.addr, c.bound = nil, "", ""
}

// httpLog sends promhttp's errors to the mail log.
type httpLog struct{ l *maillog.Logger }

func (h httpLog) Println(v ...any) { h.l.Warn("metrics: %s", fmt.Sprint(v...)) }

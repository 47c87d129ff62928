package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"math"
	"net"
	"os"
	"slices"
	"sort"
	"strings"
	"sync"
	"syscall"
	"time"

	"postern.dev/postern/test/bench/benchkit/procfs"
)

// options are the command line's.
type options struct {
	N, Probes, PID, PortBase int
	Bin, Mode, Addr, Dir     string
	// Log, if set, receives progress messages.
	Log io.Writer
}

// perSource is how many connections share one source address: well
// within the ephemeral port range of one address (28,000 on Linux).
const perSource = 4000

func run(ctx context.Context, o options, out io.Writer) error {
	if o.Log == nil {
		o.Log = os.Stderr
	}
	if o.Mode != "postscreen" && o.Mode != "smtpd" {
		return fmt.Errorf("mode %q: want postscreen or smtpd", o.Mode)
	}
	if err := raiseNoFile(uint64(o.N + o.Probes + 1000)); err != nil {
		return err
	}
	if o.Addr == "" {
		sb, stop, err := startSandbox(ctx, o)
		if err != nil {
			return err
		}
		defer stop()
		o.Addr, o.PID = sb.SMTPAddr(), sb.PID()
	}
	before := treePSS(o.PID)

	conns, err := holdIdle(ctx, o)
	defer func() {
		for _, c := range conns {
			c.Close()
		}
	}()
	if err != nil {
		return err
	}
	// Let the servers settle: log lines written, goroutines parked.
	time.Sleep(time.Second)
	after := treePSS(o.PID)

	lat, err := probe(ctx, o)
	if err != nil {
		return err
	}
	// Were the idle ones still there through the probes?
	held := stillHeld(conns)

	var beforeMB, afterMB float64
	for _, kb := range before {
		beforeMB += float64(kb) / 1024
	}
	var top string
	var topKB int64
	for name, kb := range after {
		afterMB += float64(kb) / 1024
		if kb > topKB {
			top, topKB = name, kb
		}
	}
	perConn := (afterMB - beforeMB) * 1024 / float64(max(o.N, 1))
	fmt.Fprintf(out, "idle: mode=%s conns=%d held=%d pss_before_mb=%.1f pss_mb=%.1f per_conn_kb=%.2f top=%s:%.1fMB greet_p50_ms=%.2f greet_p99_ms=%.2f greet_max_ms=%.2f probes=%d\n",
		o.Mode, o.N, held, beforeMB, afterMB, perConn, top, float64(topKB)/1024,
		quantile(lat, 0.5), quantile(lat, 0.99), quantile(lat, 1), len(lat))
	return nil
}

// raiseNoFile makes room for n descriptors, raising the hard limit too
// when it is lower and the process may (root).
func raiseNoFile(n uint64) error {
	var lim syscall.Rlimit
	if err := syscall.Getrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return err
	}
	if lim.Cur >= n {
		return nil
	}
	if lim.Max < n {
		lim.Max = n
	}
	lim.Cur = n
	if err := syscall.Setrlimit(syscall.RLIMIT_NOFILE, &lim); err != nil {
		return fmt.Errorf("RLIMIT_NOFILE to %d: %w (run as root or raise ulimit -Hn)", n, err)
	}
	return nil
}

// holdIdle opens o.N connections, each until it has heard the first
// line of the greeting, from 127.0.0.10 upwards, perSource per address.
func holdIdle(ctx context.Context, o options) ([]net.Conn, error) {
	conns := make([]net.Conn, o.N)
	var (
		wg       sync.WaitGroup
		mu       sync.Mutex
		firstErr error
	)
	sem := make(chan struct{}, 100)
	for i := range o.N {
		src := net.IPv4(127, 0, byte(i/perSource/250), byte(10+i/perSource%250))
		wg.Add(1)
		sem <- struct{}{}
		go func() {
			defer wg.Done()
			defer func() { <-sem }()
			c, _, err := greet(ctx, src, o.Addr)
			mu.Lock()
			defer mu.Unlock()
			if err != nil {
				if firstErr == nil {
					firstErr = fmt.Errorf("idle connection %d from %s: %w", i, src, err)
				}
				return
			}
			conns[i] = c
		}()
		if firstErr != nil {
			break
		}
	}
	wg.Wait()
	conns = slices.DeleteFunc(conns, func(c net.Conn) bool { return c == nil })
	return conns, firstErr
}

// greet connects from src and reads the first line of the greeting
// ("220-" from postscreen, "220 " from smtpd), returning how long that
// took.
func greet(ctx context.Context, src net.IP, addr string) (net.Conn, time.Duration, error) {
	d := net.Dialer{LocalAddr: &net.TCPAddr{IP: src}, Timeout: 10 * time.Second}
	t0 := time.Now()
	c, err := d.DialContext(ctx, "tcp", addr)
	if err != nil {
		return nil, 0, err
	}
	c.SetReadDeadline(time.Now().Add(10 * time.Second))
	// A line is short; reading byte-sized chunks until LF keeps nothing
	// buffered past it.
	var line []byte
	buf := make([]byte, 128)
	for !strings.Contains(string(line), "\n") {
		n, err := c.Read(buf)
		if err != nil {
			c.Close()
			return nil, 0, fmt.Errorf("greeting: %w (after %q)", err, line)
		}
		line = append(line, buf[:n]...)
	}
	took := time.Since(t0)
	if !strings.HasPrefix(string(line), "220") {
		c.Close()
		return nil, 0, fmt.Errorf("greeting %q", line)
	}
	c.SetReadDeadline(time.Time{})
	return c, took, nil
}

// probe times the greetings of o.Probes new clients, one at a time.
func probe(ctx context.Context, o options) ([]float64, error) {
	var lat []float64
	for i := range o.Probes {
		c, took, err := greet(ctx, net.IPv4(127, 0, 0, 2), o.Addr)
		if err != nil {
			return nil, fmt.Errorf("probe %d: %w", i, err)
		}
		c.Close()
		lat = append(lat, float64(took.Microseconds())/1000)
		time.Sleep(5 * time.Millisecond)
	}
	return lat, nil
}

// stillHeld counts the idle connections the server has not closed.
func stillHeld(conns []net.Conn) int {
	n := 0
	buf := make([]byte, 1)
	for _, c := range conns {
		c.SetReadDeadline(time.Now().Add(time.Millisecond))
		_, err := c.Read(buf)
		var ne net.Error
		if errors.As(err, &ne) && ne.Timeout() {
			n++
		}
	}
	return n
}

func quantile(v []float64, q float64) float64 {
	if len(v) == 0 {
		return math.NaN()
	}
	s := slices.Clone(v)
	sort.Float64s(s)
	i := int(math.Ceil(q*float64(len(s)))) - 1
	return s[max(0, min(i, len(s)-1))]
}

// treePSS sums the PSS (KiB) of root's process tree by program name.
func treePSS(root int) map[string]int64 {
	out := map[string]int64{}
	for _, p := range procfs.Tree(root) {
		m, _ := procfs.ReadMem(p.PID)
		out[p.Name] += m.PSS
	}
	return out
}

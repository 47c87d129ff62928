package main

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"postern.dev/postern/test/bench/benchkit"
)

type options struct {
	benchkit.Flags
	size    byteSize
	limitMB float64
	timeout time.Duration
	dir     string // where the sandbox goes; a new directory under $TMPDIR if empty
}

// The two recipients: one the relayhost (the sink) takes, one the
// sandbox's account, delivered by local into its Maildir.
const (
	relayRcpt = "big@example.net"
	localRcpt = "demo@example.test"
	sender    = "bench@example.com"
)

func run(ctx context.Context, o options, out io.Writer) (res result, err error) {
	if !benchkit.PortsFree(o.PortBase) {
		return res, fmt.Errorf("a port of base %d is taken (-port-base)", o.PortBase)
	}
	sink, err := benchkit.StartSink(false, true)
	if err != nil {
		return res, err
	}
	defer sink.Close()
	dir, done, err := benchkit.WorkDir(o.dir, "postern-bigmsg-", o.Keep, out, "bigmsg: sandbox kept in")
	if err != nil {
		return res, err
	}
	defer done()
	// Room for the message and what postern adds to it.
	limit := int64(o.size) + int64(o.size)/10 + 1<<20
	sb, err := benchkit.NewSandbox(o.Bin, dir, o.PortBase,
		"relayhost="+sink.Nexthop(), "message_size_limit="+strconv.FormatInt(limit, 10))
	if err != nil {
		return res, err
	}
	if err := sb.Start(ctx); err != nil {
		return res, err
	}
	defer func() {
		if serr := sb.Stop(); serr != nil && err == nil {
			err = serr
		}
	}()
	newDir := filepath.Join(sb.Maildir(localRcpt), "new")

	// Warm-up: a small message each way starts and warms every agent.
	for _, to := range []string{relayRcpt, localRcpt} {
		if _, _, err := sendOne(ctx, sb.SMTPAddr(), benchkit.Message{From: sender, To: to, Subject: "warm-up", Size: 4 << 10}); err != nil {
			return res, fmt.Errorf("warm-up to %s: %w", to, err)
		}
	}
	if err := waitFor(ctx, func() bool { return sink.Count() >= 1 && len(files(newDir)) >= 1 }); err != nil {
		return res, fmt.Errorf("warm-up messages not delivered: %w\n%s", err, sb.MaillogTail(20))
	}
	seen := map[string]bool{}
	for _, f := range files(newDir) {
		seen[f] = true
	}
	time.Sleep(time.Second)

	sampler := benchkit.StartSampler(sb.PID(), o.Interval)
	stats := func() []benchkit.ProcStat { return sampler.Stop() }
	defer func() {
		if sampler != nil {
			stats()
		}
	}()
	size := int64(o.size)
	fmt.Fprintf(out, "bigmsg: message of %d bytes (%.1f MiB), sandbox %s, master pid %d\n", size, float64(size)/(1<<20), dir, sb.PID())

	// Relay: to the sink.
	start := time.Now()
	n, sum, err := sendOne(ctx, sb.SMTPAddr(), benchkit.Message{From: sender, To: relayRcpt, Subject: "big relay", Size: size})
	if err != nil {
		return res, fmt.Errorf("send to %s: %w", relayRcpt, err)
	}
	accepted := time.Since(start)
	relayOK, relayWhy := false, "not delivered"
	if err := waitFor(ctx, func() bool { return sink.Count() >= 2 }); err == nil {
		got := sink.Messages()[1]
		relayOK = got.Body == sum && got.Size >= n
		relayWhy = fmt.Sprintf("sink got %d bytes for %d sent, body sha256 %s", got.Size, n, match(got.Body == sum))
	}
	fmt.Fprintf(out, "bigmsg: relay accepted in %.1fs, delivered in %.1fs: %s\n", accepted.Seconds(), time.Since(start).Seconds(), relayWhy)

	// Local: into demo's Maildir.
	start = time.Now()
	n, sum, err = sendOne(ctx, sb.SMTPAddr(), benchkit.Message{From: sender, To: localRcpt, Subject: "big local", Size: size})
	if err != nil {
		return res, fmt.Errorf("send to %s: %w", localRcpt, err)
	}
	accepted = time.Since(start)
	localOK, localWhy := false, "not delivered"
	var file string
	if err := waitFor(ctx, func() bool {
		for _, f := range files(newDir) {
			if !seen[f] {
				file = f
				return true
			}
		}
		return false
	}); err == nil {
		got, herr := hashFile(file)
		if herr != nil {
			localWhy = herr.Error()
		} else {
			localOK = got.Sum() == sum && got.N >= n
			localWhy = fmt.Sprintf("Maildir file of %d bytes for %d sent, body sha256 %s", got.N, n, match(got.Sum() == sum))
		}
	}
	fmt.Fprintf(out, "bigmsg: local accepted in %.1fs, delivered in %.1fs: %s\n", accepted.Seconds(), time.Since(start).Seconds(), localWhy)
	// One more look after the deliveries, for memory not yet returned.
	time.Sleep(4 * o.Interval)
	ps := stats()
	sampler = nil

	res.intact = relayOK && localOK
	for _, p := range ps {
		g := benchkit.MB(p.GrowthKB())
		note := ""
		if p.New {
			note = " (started during the run: baseline is its first sample)"
		}
		fmt.Fprintf(out, "bigmsg: proc=%s pid=%d base_rss_mb=%.1f peak_rss_mb=%.1f growth_mb=%.1f base_pss_mb=%.1f peak_pss_mb=%.1f%s\n",
			p.Name, p.PID, benchkit.MB(p.Base.RSS), benchkit.MB(p.Peak.RSS), g, benchkit.MB(p.Base.PSS), benchkit.MB(p.Peak.PSS), note)
		if res.maxProc == "" || g > res.maxGrowth {
			res.maxGrowth, res.maxProc = g, p.Name
		}
	}
	verdict := "ok"
	switch {
	case !res.intact:
		verdict = "FAIL"
		if !relayOK {
			verdict += " relay: " + relayWhy
		}
		if !localOK {
			verdict += " local: " + localWhy
		}
	case res.maxGrowth > o.limitMB:
		verdict = "OVER"
	}
	fmt.Fprintf(out, "bigmsg: size=%s max_growth_mb=%.1f (%s) limit_mb=%g %s\n", o.size.String(), res.maxGrowth, res.maxProc, o.limitMB, verdict)
	if !res.intact {
		fmt.Fprintf(out, "bigmsg: last lines of the mail log:\n%s\n", sb.MaillogTail(20))
	}
	return res, nil
}

func match(ok bool) string {
	if ok {
		return "matches"
	}
	return "DIFFERS"
}

// sendOne sends m in a session of its own.
func sendOne(ctx context.Context, addr string, m benchkit.Message) (int64, [32]byte, error) {
	cl, err := benchkit.Dial(ctx, addr)
	if err != nil {
		return 0, [32]byte{}, err
	}
	defer cl.Close()
	return cl.Send(m)
}

// waitFor polls cond until it holds or ctx ends.
func waitFor(ctx context.Context, cond func() bool) error {
	for !cond() {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(20 * time.Millisecond):
		}
	}
	return nil
}

// files lists a directory's entries (none if it does not exist yet).
func files(dir string) []string {
	ents, _ := os.ReadDir(dir)
	out := make([]string, 0, len(ents))
	for _, e := range ents {
		out = append(out, filepath.Join(dir, e.Name()))
	}
	return out
}

func hashFile(path string) (*benchkit.BodyHasher, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	h := benchkit.NewBodyHasher()
	if _, err := io.Copy(h, f); err != nil {
		return nil, err
	}
	return h, nil
}

// byteSize is a flag of bytes with an optional K, M or G suffix.
type byteSize int64

func (b *byteSize) String() string {
	switch n := int64(*b); {
	case n >= 1<<30 && n%(1<<30) == 0:
		return fmt.Sprintf("%dGB", n>>30)
	case n >= 1<<20 && n%(1<<20) == 0:
		return fmt.Sprintf("%dMB", n>>20)
	case n >= 1<<10 && n%(1<<10) == 0:
		return fmt.Sprintf("%dKB", n>>10)
	default:
		return fmt.Sprintf("%dB", n)
	}
}

func (b *byteSize) Set(s string) error {
	mult := int64(1)
	t := strings.TrimSuffix(strings.ToUpper(s), "B")
	switch {
	case strings.HasSuffix(t, "K"):
		mult, t = 1<<10, strings.TrimSuffix(t, "K")
	case strings.HasSuffix(t, "M"):
		mult, t = 1<<20, strings.TrimSuffix(t, "M")
	case strings.HasSuffix(t, "G"):
		mult, t = 1<<30, strings.TrimSuffix(t, "G")
	}
	n, err := strconv.ParseInt(t, 10, 64)
	if err != nil || n < 1 {
		return fmt.Errorf("bad size %q", s)
	}
	*b = byteSize(n * mult)
	return nil
}

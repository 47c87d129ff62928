// Command bigmsg measures postern's memory while one large message goes
// through it, both ways: smtpd → queue → smtp → a relayhost, and smtpd →
// queue → local → a Maildir. Issue 15's target: memory stays flat in the
// message size, no process grows by more than 20 MB for a 50 MB message.
//
// Usage, from the repository root after make build:
//
//	go run ./test/bench/bigmsg [-size 50M] [-port-base 62000] [-bin ./bin] [-keep]
//
// It writes a sandbox (postern sandbox DIR -port-base N) into a new
// directory under $TMPDIR, whose relayhost is a loopback SMTP sink that
// this program runs itself (it streams DATA and keeps only its length and
// a hash of the body), and starts the sandbox's master in a session of
// its own. It sends one small message each way first, so that every
// agent is running and warm, and takes that as the baseline; then one
// message of -size bytes (header and plain 76-character lines) to the
// sink, then one to the sandbox account demo@example.test, each streamed
// from a generator over net/smtp to base+25. Meanwhile it samples RSS and
// PSS (/proc/PID/smaps_rollup) of the master and every process below it
// (children by PPid) every -interval. It checks that each message arrived
// whole: the sink's and the Maildir file's body hash against the sender's.
//
// Output: a line per process (name, PID, baseline and peak RSS, growth,
// baseline and peak PSS, in MiB), then one summary line:
//
//	bigmsg: size=50MB max_growth_mb=X (PROCESS) limit_mb=20 ok|OVER|FAIL
//
// FAIL means a message did not arrive intact (exit status 1); OVER means
// it did but some process grew by more than -limit MiB (exit status 0:
// the figure is the result). At the end it stops the master by its PID
// and removes the directory unless -keep.
package main

import (
	"context"
	"flag"
	"os"
	"time"

	"postern.dev/postern/test/bench/benchkit"
)

func main() {
	o := options{Flags: benchkit.Flags{PortBase: 62000, Bin: "./bin", Interval: 50 * time.Millisecond}}
	o.Register(flag.CommandLine)
	flag.Var(&o.size, "size", "message size in bytes, with an optional K, M or G suffix (powers of 1024)")
	flag.Float64Var(&o.limitMB, "limit", 20, "growth in MiB that any one process may show (issue 15)")
	flag.DurationVar(&o.timeout, "timeout", 10*time.Minute, "give up after this long")
	o.size = 50 << 20
	flag.Parse()
	if flag.NArg() != 0 {
		flag.Usage()
		os.Exit(2)
	}
	benchkit.Main("bigmsg", o.timeout, func(ctx context.Context) error {
		res, err := run(ctx, o, os.Stdout)
		if err == nil && !res.intact {
			err = benchkit.ErrFailed
		}
		return err
	})
}

// result is what a run found, for the tests.
type result struct {
	intact    bool
	maxGrowth float64 // MiB
	maxProc   string
}

// Command deferred measures what a large deferred queue costs postern:
// issue 15's target is that with 100,000 deferred messages in the queue
// new mail still flows at no less than 90% of the empty-queue rate, and
// qmgr stays under 200 MB.
//
// Usage, from the repository root after make build:
//
//	go run ./test/bench/deferred [-n 100000] [-m 5000] [-conns 10] [-port-base 63000] [-bin ./bin] [-keep]
//
// It writes a sandbox into a new directory under $TMPDIR whose relayhost
// is a loopback SMTP server of its own that answers every RCPT with
// "451 4.3.0 try later" (a destination that is down), and routes the
// domain fast.example.net (transport_maps) to a second loopback server
// that accepts everything. Then, with one master start each:
//
//  1. empty queue: 50 warm-up messages, then -m messages over -conns
//     parallel SMTP sessions (each kept for its share of them, like
//     smtp-source -d) to x@fast.example.net; the rate is -m divided by
//     the time from the first connection until the accepting server has
//     the last of them (end to end).
//  2. the master is stopped and -n deferred entries are written straight
//     into deferred/ with package libmail/queue (the real entry format:
//     the same writer smtpd uses, a "deferred" result and an "attempt"
//     record in the trailer, the next attempt as the file's mtime, owned
//     by mail_owner), each for a recipient in slow.example.org, which
//     goes to the deferring relayhost.
//  3. loaded queue: the master is started again and step 1 is repeated;
//     qmgr's RSS and PSS are sampled from the restart to the end.
//
// # The deferred workload
//
// A Postfix deferred queue of that size is mail for destinations that are
// down, each message waiting for its own next attempt, spread over the
// backoff window (minimal_backoff_time doubling up to
// maximal_backoff_time, 300 s to 4000 s), retried when a queue run
// (every queue_run_delay) finds it due, and deferred again. So the
// entries' attempt counts run from 1 to 5 and their next attempts are
// spread evenly over the 4000 s that follow the restart, and their
// arrival times over the two days before it (none is near
// maximal_queue_lifetime, so none expires). qmgr therefore keeps almost
// all of them and retries a steady trickle: N/4000 a second, 25 a second
// at 100,000. Since the default queue_run_delay of 300 s would most
// likely put no queue run inside a measurement of a few seconds, it is
// lowered to -queue-run-delay (5 s): every 5 s qmgr looks at all N
// entries and retries the due ones, against the deferring server, while
// new mail flows. The restart also makes qmgr look at all of them once
// at start, as after a reboot; the warm-up waits for that.
//
// Output: a line per phase with the figures, then one summary line:
//
//	deferred: n=100000 empty_rate=X msg/s loaded_rate=Y msg/s ratio=Z% qmgr_peak_rss_mb=W qmgr_peak_pss_mb=V ok|BELOW|OVER
//
// BELOW means the ratio is under -min-ratio (90%), OVER that qmgr's peak
// RSS is above -max-qmgr-mb (200); both are results, not errors (exit
// status 0). Exit status 1 means the run itself failed (mail not
// delivered, deferred entries lost). The master is stopped by its PID and
// the directory removed unless -keep.
package main

import (
	"context"
	"flag"
	"fmt"
	"os"
	"time"
)

func main() {
	o := defaults()
	flag.IntVar(&o.n, "n", o.n, "deferred messages to put in the queue")
	flag.IntVar(&o.m, "m", o.m, "messages timed in each phase")
	flag.IntVar(&o.conns, "conns", o.conns, "parallel SMTP sessions")
	flag.IntVar(&o.rounds, "rounds", o.rounds, "timed runs in each phase; the median counts")
	flag.StringVar(&o.profile, "cpuprofile", "", "directory for the daemons' CPU profiles (POSTERN_CPUPROFILE), world-writable")
	flag.IntVar(&o.size, "size", o.size, "body size in bytes of the timed messages and the deferred ones")
	flag.IntVar(&o.portBase, "port-base", o.portBase, "sandbox port base (SMTP on base+25)")
	flag.StringVar(&o.bin, "bin", o.bin, "directory with the postern binaries")
	flag.BoolVar(&o.keep, "keep", false, "keep the sandbox directory")
	flag.DurationVar(&o.queueRunDelay, "queue-run-delay", o.queueRunDelay, "queue_run_delay of the sandbox (see the comment at the top)")
	flag.DurationVar(&o.interval, "interval", o.interval, "memory sampling interval")
	flag.Float64Var(&o.minRatio, "min-ratio", o.minRatio, "loaded/empty rate in percent below which the summary says BELOW")
	flag.Float64Var(&o.maxQmgrMB, "max-qmgr-mb", o.maxQmgrMB, "qmgr peak RSS in MiB above which the summary says OVER")
	timeout := flag.Duration("timeout", 60*time.Minute, "give up after this long")
	flag.Parse()
	if flag.NArg() != 0 || o.n < 0 || o.m < 1 || o.conns < 1 || o.rounds < 1 {
		flag.Usage()
		os.Exit(2)
	}
	ctx, cancel := context.WithTimeout(context.Background(), *timeout)
	defer cancel()
	if _, err := run(ctx, o, os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "deferred:", err)
		os.Exit(1)
	}
}

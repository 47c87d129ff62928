// Command deferred measures what a large deferred queue costs postern:
// issue 15's target is that with 100,000 deferred messages in the queue
// new mail still flows at no less than 90% of the empty-queue rate, and
// qmgr stays under 200 MB.
//
// Usage, from the repository root after make build:
//
//	go run ./test/bench/deferred [-n 100000] [-duration 15s] [-rounds 3] [-conns 10] [-port-base 63000] [-bin ./bin] [-keep]
//
// It writes two sandboxes into a new directory under $TMPDIR, on port
// bases N and N+1000. In both the relayhost is a loopback SMTP server of
// this program that answers every RCPT with "451 4.3.0 try later" (a
// destination that is down), and transport_maps routes the domain
// fast.example.net to a second loopback server that accepts everything.
// The "empty" sandbox has an empty queue. The "loaded" one gets -n
// deferred entries before its master starts, written straight into
// deferred/ with package libmail/queue (the real entry format: the writer
// smtpd uses, a "deferred" result and an "attempt" record in the
// trailer, the next attempt as the file's mtime, owned by mail_owner),
// each for a recipient in slow.example.org, which goes to the deferring
// relayhost.
//
// Both masters run; the runs alternate, empty then loaded, -rounds times,
// and the sandbox not being timed is frozen (SIGSTOP to each of its
// processes) so that it takes no CPU from the other. After a thaw the
// program waits until qmgr is done with what came due while frozen (see
// settle), then sends new mail to x@fast.example.net over -conns
// parallel sessions (each kept for all its messages, like smtp-source
// -d) for -duration, and waits until the accepting server has it all:
// the end-to-end rate is the messages over that time. CPU per message
// (of the sandbox's processes and of its qmgr, from /proc) is measured
// over the same time; qmgr's RSS and PSS are sampled all along. The
// medians of the runs are compared.
//
// # The deferred workload
//
// A Postfix deferred queue of that size is mail for destinations that are
// down, each message waiting for its own next attempt, spread over the
// backoff window (minimal_backoff_time doubling up to
// maximal_backoff_time, 300 s to 4000 s), retried when a queue run
// (every queue_run_delay) finds it due, and deferred again. So the
// entries' attempt counts run from 1 to 5 and their next attempts are
// spread evenly over the 4000 s that follow the fill, and their
// arrival times over the two days before it (none is near
// maximal_queue_lifetime, so none expires). qmgr therefore keeps almost
// all of them and retries a steady trickle: N/4000 a second, 25 a second
// at 100,000. Since the default queue_run_delay of 300 s would most
// likely put no queue run inside a measurement of a few seconds, it is
// lowered to -queue-run-delay (5 s), and each timed run sends for
// -duration (15 s), so that every run holds about three queue runs:
// every 5 s qmgr looks at all N entries and retries the due ones,
// against the deferring server, while new mail flows. This is a harsher
// test than Postfix's default, under which a queue run's look at all
// the entries costs 60 times less per second. The start of the loaded
// master also makes qmgr look at all of them once, as after a reboot;
// the warm-up waits for that.
//
// Output: a line per timed run, one with the medians per sandbox, then
// one summary line:
//
//	deferred: n=100000 empty_rate=X msg/s loaded_rate=Y msg/s ratio=Z% cpu_ratio=C% qmgr_peak_rss_mb=W qmgr_peak_pss_mb=V p99_ms=E/L max_ms=E/L ok|BELOW|OVER
//
// ratio is the loaded rate over the empty one; cpu_ratio the empty
// sandbox's CPU per message over the loaded one's, the steadier figure
// on a shared, noisy host; p99_ms and max_ms the latency of new mail
// (start of DATA at the sender to end of DATA at the accepting server,
// the sender's time travelling in the Message-ID), empty/loaded: a
// queue run that held up qmgr's loop shows there, not in the rates. BELOW means the ratio is under -min-ratio
// (90%), OVER that qmgr's peak RSS is above -max-qmgr-mb (200); both are
// results, not errors (exit status 0). Exit status 1 means the run
// itself failed (mail not delivered, deferred entries lost). The masters
// are stopped by their PIDs and the directory removed unless -keep.
package main

import (
	"context"
	"flag"
	"os"
	"time"

	"postern.dev/postern/test/bench/benchkit"
)

func main() {
	o := defaults()
	o.Register(flag.CommandLine)
	flag.IntVar(&o.n, "n", o.n, "deferred messages to put in the queue")
	flag.DurationVar(&o.duration, "duration", o.duration, "how long each timed run sends (then it waits for delivery)")
	flag.IntVar(&o.conns, "conns", o.conns, "parallel SMTP sessions")
	flag.IntVar(&o.rounds, "rounds", o.rounds, "timed runs in each phase; the median counts")
	flag.StringVar(&o.profile, "cpuprofile", "", "directory for the daemons' CPU profiles (POSTERN_CPUPROFILE), world-writable")
	flag.IntVar(&o.size, "size", o.size, "body size in bytes of the timed messages and the deferred ones")
	flag.DurationVar(&o.queueRunDelay, "queue-run-delay", o.queueRunDelay, "queue_run_delay of the sandbox (see the comment at the top)")
	flag.Float64Var(&o.minRatio, "min-ratio", o.minRatio, "loaded/empty rate in percent below which the summary says BELOW")
	flag.Float64Var(&o.maxQmgrMB, "max-qmgr-mb", o.maxQmgrMB, "qmgr peak RSS in MiB above which the summary says OVER")
	timeout := flag.Duration("timeout", 60*time.Minute, "give up after this long")
	flag.Parse()
	if flag.NArg() != 0 || o.n < 0 || o.duration <= 0 || o.conns < 1 || o.rounds < 1 {
		flag.Usage()
		os.Exit(2)
	}
	benchkit.Main("deferred", *timeout, func(ctx context.Context) error {
		_, err := run(ctx, o, os.Stdout)
		return err
	})
}

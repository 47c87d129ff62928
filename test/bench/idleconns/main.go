// Command idleconns measures what idle SMTP clients cost postern, and
// whether new clients are still greeted promptly while they wait: the
// figure behind "memory flat in connection count" (10,000 idle
// connections under 200 MB, new clients greeted within 100 ms).
//
// It writes a sandbox with postscreen on (or uses a running system with
// -addr and -pid), opens N connections that say nothing, from several
// loopback source addresses (127.0.0.10 and up, a few thousand each, so
// that no address runs out of ports), and holds them; each has heard
// postscreen's first greeting line, so each sits in postscreen's greet
// wait (made longer than the run). Then it sums the PSS of the master's
// process tree (/proc/PID/smaps_rollup), and times the greeting of P new
// clients from 127.0.0.2, one after another, while the N are held. With
// -mode smtpd postscreen is off and the idle clients sit in smtpd after
// its greeting instead.
//
// It prints one line:
//
//	idle: mode=postscreen conns=10000 held=10000 pss_before_mb=… pss_mb=… per_conn_kb=… top=postscreen:…MB greet_p50_ms=… greet_p99_ms=… greet_max_ms=… probes=200
//
// It raises its RLIMIT_NOFILE (and, as root, the hard limit) so that it
// and the master it starts, whose daemons inherit the limit, hold N
// connections each. Run it through test/bench/run.sh idle, or
// go run ./test/bench/idleconns -bin ./bin -n 10000.
package main

import (
	"context"
	"flag"
	"os"
	"time"

	"postern.dev/postern/test/bench/benchkit"
)

func main() {
	var o options
	flag.IntVar(&o.N, "n", 10000, "idle connections to hold")
	flag.IntVar(&o.Probes, "p", 200, "new clients whose greeting is timed while the idle ones are held")
	flag.StringVar(&o.Bin, "bin", "bin", "directory of the postern binaries (a sandbox is made with them)")
	flag.StringVar(&o.Mode, "mode", "postscreen", "where idle clients wait: postscreen (in its greet wait) or smtpd (postscreen off)")
	flag.StringVar(&o.Addr, "addr", "", "use the running server at host:port instead of a sandbox")
	flag.IntVar(&o.PID, "pid", 0, "with -addr: the master's PID, whose process tree is measured")
	flag.IntVar(&o.PortBase, "port-base", 33000, "the sandbox's port base")
	flag.StringVar(&o.Dir, "dir", "", "where the sandbox goes (default: a new temporary directory, removed after)")
	flag.Parse()
	benchkit.Main("idleconns", 30*time.Minute, func(ctx context.Context) error { return run(ctx, o, os.Stdout) })
}

#!/usr/bin/env bash
# idle-bench.sh - what idle SMTP clients cost postern (run.sh idle)
# =====================================================================
#
# Usage: test/bench/idle-bench.sh [-n CONNS] [-p PROBES]
#   -n CONNS   idle connections to hold (default 10000, BENCH_IDLE_CONNS)
#   -p PROBES  new clients whose greeting is timed meanwhile (default 200)
#
# Runs test/bench/idleconns twice, each time against a fresh sandbox:
# with postscreen on, the idle clients waiting in its greet wait (as bots
# that never talk do), and with it off, the idle clients sitting in smtpd
# after its greeting. Each run prints one line: the summed PSS of the
# master's process tree before and with the clients, the largest
# process, and the greeting latency (p50, p99, max) of new clients while
# the idle ones are held. The targets (issue 15): under 200 MB in all for
# 10,000 clients in postscreen, new clients greeted within 100 ms.
#
# Environment: BENCH_BIN (postern binaries, REPO/bin), BENCH_IDLE_PORT_BASE
# (sandbox port base, 33000). Connections come from 127.0.0.10 and up;
# RLIMIT_NOFILE is raised as needed (as root, the hard limit too).
# =====================================================================
set -u
HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
N=${BENCH_IDLE_CONNS:-10000}
P=200
while getopts "n:p:h" opt; do
    case $opt in
    n) N=$OPTARG ;;
    p) P=$OPTARG ;;
    *) awk '/^# =====/ { if (++n == 2) exit; next } n == 1 { sub(/^# ?/, ""); print }' "$0"; exit 1 ;;
    esac
done
BIN=${BENCH_BIN:-$ROOT/bin}
[ -x "$BIN/master" ] || { echo "idle-bench.sh: $BIN/master not found (run 'make build')" >&2; exit 1; }
WORK=$(mktemp -d "${TMPDIR:-/tmp}/postern-idle.XXXXXX") || exit 1
trap 'rm -rf "$WORK"' EXIT
(cd "$ROOT" && go build -o "$WORK/idleconns" ./test/bench/idleconns) || exit 1
rc=0
for mode in postscreen smtpd; do
    "$WORK/idleconns" -bin "$BIN" -n "$N" -p "$P" -mode "$mode" -port-base "${BENCH_IDLE_PORT_BASE:-33000}" || rc=1
done
exit $rc

#!/usr/bin/env bash
# maildir-bench.sh - MTA-agnostic accept / end-to-end LOCAL DELIVERY benchmark
# =====================================================================
#
# README
# ------
# The Maildir counterpart of relay-bench.sh, with the same method:
#   (a) ACCEPT: N messages sent by smtp-source over C parallel SMTP sessions;
#       accept_mps = N / (wall time until smtp-source exits, i.e. until the
#       MTA has answered "250" to the final DATA of every message);
#   (b) END TO END: the MTA must deliver every message into a Maildir;
#       e2e_mps = N / (time from the start of smtp-source until MAILDIR_NEW
#       holds N more files than before the run).
# Both numbers come from the same run, so accept_mps is "accept while the
# MTA is also delivering".
#
# A Maildir delivery agent writes tmp/FILE and then renames or links it to
# new/FILE, so a file that is visible in new/ is complete: counting the
# files in new/ is an exact "delivered" signal without reading them.
#
# Requirements: bash >= 5, smtp-source (Debian: package "postfix", in
# /usr/sbin), find, wc, awk, ss (iproute2). Nothing MTA-specific. Traffic
# goes to 127.0.0.1 only.
#
# The MTA under test must already be running, listening on
# 127.0.0.1:MTA_PORT, accept mail from 127.0.0.1 for the recipient (default
# demo@example.test) and deliver it into the Maildir whose new/ directory is
# MAILDIR_NEW. Its queue should be empty before a run. MAILDIR_NEW need not
# exist yet (some MTAs create the Maildir on first delivery).
#
# Usage:
#   maildir-bench.sh [options] MTA_PORT MAILDIR_NEW [COUNT [CONCURRENCY [SIZE]]]
#     MTA_PORT     SMTP port of the MTA under test on 127.0.0.1
#     MAILDIR_NEW  the Maildir's new/ directory, e.g. .../demo/new
#     COUNT        number of messages (default 20000)
#     CONCURRENCY  parallel smtp-source sessions, smtp-source -s (default 10)
#     SIZE         body size in bytes, smtp-source -l (default 5120)
#   Options (before the positional arguments):
#     -1           one message per connection (default: reuse each session's
#                  connection for many messages, smtp-source -d)
#     -e N         files that must appear in MAILDIR_NEW before the run is
#                  complete (default COUNT)
#     -t SECS      give up waiting for deliveries after SECS (default 600)
#     -P PID       root PID of the MTA (e.g. Postfix master); adds CPU seconds
#                  and peak memory of that whole process tree to the report
#                  (summed RSS over-counts shared pages; summed PSS does not)
#     -f ADDR      envelope sender    (default bench@example.com)
#     -T ADDR      envelope recipient (default demo@example.test)
#     -x "ARGS"    extra smtp-source arguments (e.g. "-N" or "-S subject")
#     -i MS        shortest poll interval in milliseconds (default 10);
#                  polling is adaptive (sleeps ~half the estimated time left,
#                  at most 200 ms), so the e2e end time is exact to ~1%
#     -k           keep the temporary directory (smtp-source output)
#     -h           this help
#
# Output: exactly one line on stdout:
#     accept_mps=X e2e_mps=Y
# (e2e_mps=NA and exit status 2 if not all files appeared before the
# timeout; exit status 1 for usage errors or if smtp-source failed).
# Details go to stderr as one "detail: key=value ..." line:
#   accept_s, e2e_s       seconds from start to source exit / all delivered
#   maildir_got           new files counted when complete / expected
#   maildir_extra         files beyond that, counted 0.3 s later
#                         (duplicate deliveries or leftovers from the queue)
#   bg_busy_pct           machine CPU busy % in the 1 s before the run
#   sys_cpu_busy_pct      machine CPU busy % during the run (all cores = 100)
#   sys_cpu_s, source_cpu_s   CPU seconds (machine, client)
#   with -P: mta_cpu_s, mta_cpu_per_msg_ms, mta_peak_rss_sum_mb,
#            mta_peak_pss_mb, other_cpu_s (machine CPU not used by MTA or
#            source: this script's polling ~0.1-0.5 s, the rest is noise)
#
# Examples:
#   maildir-bench.sh 2525 /tmp/inst/mail/example.test/demo/new 10000 10 5120
#   maildir-bench.sh -P "$(head -1 /tmp/inst/spool/pid/master.pid)" 2525 \
#       /tmp/inst/mail/example.test/demo/new
#
# Notes:
# - "Message" = one SMTP transaction with one recipient = one Maildir file.
# - smtp-source -m is the TOTAL message count, shared by all sessions.
# - Unlike relay-bench there is no sink: the disk work (queue + Maildir
#   writes, fsyncs) is all the MTA's and is part of what is measured.
# =====================================================================
set -u

usage() { awk '/^# =====/ { if (++n == 2) exit; next } n == 1 { sub(/^# ?/, ""); print }' "$0"; }

REUSE=1
EXPECT=
TIMEOUT=600
MTA_PID=
FROM=bench@example.com
TO=demo@example.test
EXTRA=
POLL_MS=10
KEEP=0
while getopts "1e:t:P:f:T:x:i:kh" opt; do
    case $opt in
    1) REUSE=0 ;;
    e) EXPECT=$OPTARG ;;
    t) TIMEOUT=$OPTARG ;;
    P) MTA_PID=$OPTARG ;;
    f) FROM=$OPTARG ;;
    T) TO=$OPTARG ;;
    x) EXTRA=$OPTARG ;;
    i) POLL_MS=$OPTARG ;;
    k) KEEP=1 ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 1 ;;
    esac
done
shift $((OPTIND - 1))
if [ $# -lt 2 ] || [ $# -gt 5 ]; then usage >&2; exit 1; fi
MTA_PORT=$1
NEWDIR=$2
COUNT=${3:-20000}
CONC=${4:-10}
SIZE=${5:-5120}
EXPECT=${EXPECT:-$COUNT}
HOST=127.0.0.1

die() { echo "maildir-bench: $*" >&2; exit 1; }
for v in MTA_PORT COUNT CONC SIZE EXPECT TIMEOUT POLL_MS; do
    case ${!v} in '' | *[!0-9]*) die "$v must be a non-negative integer: '${!v}'" ;; esac
done
[ -n "${EPOCHREALTIME:-}" ] || die "bash >= 5 required (EPOCHREALTIME)"
case $NEWDIR in */new | */new/) ;; *) echo "maildir-bench: warning: $NEWDIR does not end in /new; counting the files in it anyway" >&2 ;; esac
[ -e "$NEWDIR" ] && [ ! -d "$NEWDIR" ] && die "$NEWDIR is not a directory"

SRC=$(command -v smtp-source || ls /usr/sbin/smtp-source 2>/dev/null) || die "smtp-source not found (Debian: apt-get install postfix)"

listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
listening "$MTA_PORT" || die "nothing listens on $HOST:$MTA_PORT (start the MTA first)"

# Number of regular files directly in NEWDIR (0 while it does not exist).
# find uses the d_type from readdir, so this does not stat every file; one
# printed byte per file avoids trouble with odd file names. ~2-5 ms at
# 10^4 files, and the adaptive poll below keeps the number of calls small.
maildir_count() {
    MD_N=$(find "$NEWDIR" -mindepth 1 -maxdepth 1 -type f -printf . 2>/dev/null | wc -c)
}

# CPU ticks (utime+stime of the living processes plus cutime+cstime of the
# children they reaped), summed RSS (KiB) and, when $2 is set, summed PSS
# (KiB) of the process tree rooted at $1. The difference of two CPU samples
# is the whole tree's CPU in between, including short-lived workers (e.g.
# Postfix daemons that exit after max_use requests) that master has reaped.
tree_stat() {
    awk -v root="$1" -v want_pss="${2:-}" -v kib_per_page="$(( $(getconf PAGESIZE) / 1024 ))" '
        {
            # comm (field 2) may contain blanks: drop "pid (comm) " first
            pid = $1; rest = $0; sub(/^[0-9]+ \(.*\) /, "", rest); split(rest, f, " ")
            parent[pid] = f[2]; ticks[pid] = f[12] + f[13] + f[14] + f[15]; pages[pid] = f[22]
        }
        END {
            member[root] = 1
            do { grew = 0
                 for (p in parent) if (!(p in member) && (parent[p] in member)) { member[p] = 1; grew = 1 }
            } while (grew)
            for (p in member) if (p in ticks) {
                cpu += ticks[p]; rss += pages[p] * kib_per_page
                if (want_pss != "") {
                    file = "/proc/" p "/smaps_rollup"
                    while ((getline line < file) > 0) if (line ~ /^Pss:/) { split(line, g, " "); pss += g[2] }
                    close(file)
                }
            }
            printf "%d %d %d\n", cpu, rss, pss
        }' < <(cat /proc/[0-9]*/stat 2>/dev/null)   # cat, not awk on the glob: processes vanish
}
# busy and total jiffies of the whole machine (busy = all but idle+iowait)
sys_busy() { awk '/^cpu /{print $2+$3+$4+$7+$8+$9, $2+$3+$4+$5+$6+$7+$8+$9; exit}' /proc/stat; }

DIR=$(mktemp -d /tmp/maildir-bench.XXXXXX) || die "mktemp failed"
SRC_PID=
SAMPLER_PID=
# shellcheck disable=SC2317   # only reached through the trap
cleanup() {
    if [ -n "$SRC_PID" ]; then   # smtp-source still running (timeout or interrupt)
        [ -s "$DIR/source.end" ] || kill "$(cat "$DIR/source.pid" 2>/dev/null)" 2>/dev/null
        kill "$SRC_PID" 2>/dev/null
    fi
    [ -n "$SAMPLER_PID" ] && kill "$SAMPLER_PID" 2>/dev/null
    wait 2>/dev/null
    if [ "$KEEP" = 1 ]; then echo "maildir-bench: kept $DIR" >&2; else rm -rf "$DIR"; fi
}
trap cleanup EXIT
trap 'exit 130' INT TERM

maildir_count; PRE=$MD_N
[ "$PRE" -gt 0 ] && echo "maildir-bench: note: $NEWDIR already holds $PRE file(s); counting only new ones" >&2
[ -d "$NEWDIR" ] || echo "maildir-bench: note: $NEWDIR does not exist yet; waiting for the MTA to create it" >&2
# Background CPU load over 1 s before the run (other tenants, leftover work
# of the MTA): a noisy machine shows up in the detail line as bg_busy_pct.
read -r BB0 BT0 < <(sys_busy); sleep 1; read -r BB1 BT1 < <(sys_busy)
BG_PCT=$(( BT1 > BT0 ? 100 * (BB1 - BB0) / (BT1 - BT0) : 0 ))

# --- run the source -------------------------------------------------------
SRC_ARGS=(-s "$CONC" -m "$COUNT" -l "$SIZE" -f "$FROM" -t "$TO")
[ "$REUSE" = 1 ] && SRC_ARGS+=(-d)
# shellcheck disable=SC2206   # -x is documented as a word-split argument list
[ -n "$EXTRA" ] && SRC_ARGS+=($EXTRA)

if [ -n "$MTA_PID" ]; then
    [ -d "/proc/$MTA_PID" ] || die "no process $MTA_PID"
    read -r MTA_CPU0 _ < <(tree_stat "$MTA_PID")
    # peak summed RSS and PSS of the tree, sampled every 0.5 s
    ( pr=0; pp=0; while :; do read -r _ r p < <(tree_stat "$MTA_PID" pss)
        [ "${r:-0}" -gt "$pr" ] && pr=$r; [ "${p:-0}" -gt "$pp" ] && pp=$p
        echo "$pr $pp" >"$DIR/mem.peak"; sleep 0.5; done ) &
    SAMPLER_PID=$!
fi
read -r BUSY0 TOTAL0 < <(sys_busy)
T0=${EPOCHREALTIME//[!0-9]/}
# The subshell timestamps smtp-source's exit itself, so the accept time does
# not depend on when the poll loop below happens to look.
(
    "$SRC" "${SRC_ARGS[@]}" "$HOST:$MTA_PORT" >"$DIR/source.out" 2>"$DIR/source.err" &
    echo $! >"$DIR/source.pid"
    wait $!
    rc=$? t=${EPOCHREALTIME//[!0-9]/}
    times >"$DIR/source.times"   # 2nd line: CPU of this subshell's children = smtp-source
    echo "$rc" >"$DIR/source.rc"
    echo "$t" >"$DIR/source.end"
) &
SRC_PID=$!

# --- wait for the deliveries ---------------------------------------------
T_ACC=
T_E2E=
GOT=0
while :; do
    if [ -z "$T_ACC" ] && [ -s "$DIR/source.end" ]; then
        T_ACC=$(<"$DIR/source.end")
        SRC_PID=
        if [ "$(<"$DIR/source.rc")" != 0 ]; then
            echo "maildir-bench: smtp-source failed (rc=$(<"$DIR/source.rc")):" >&2
            tail -5 "$DIR/source.err" >&2
            echo "accept_mps=NA e2e_mps=NA"
            exit 1
        fi
    fi
    maildir_count; GOT=$((MD_N - PRE))
    t=${EPOCHREALTIME//[!0-9]/}
    if [ "$GOT" -ge "$EXPECT" ]; then T_E2E=$t; break; fi
    el=$((t - T0))
    [ "$el" -gt $((TIMEOUT * 1000000)) ] && break
    # adaptive poll: half the estimated time left, between POLL_MS and 200 ms
    if [ "$GOT" -gt 0 ]; then nap=$(( (EXPECT - GOT) * (el / GOT) / 2 )); else nap=200000; fi
    [ "$nap" -gt 200000 ] && nap=200000
    [ "$nap" -lt $((POLL_MS * 1000)) ] && nap=$((POLL_MS * 1000))
    printf -v nap '%d.%06d' $((nap / 1000000)) $((nap % 1000000))
    sleep "$nap"
done
read -r BUSY1 TOTAL1 < <(sys_busy)
if [ -z "$T_ACC" ] && [ -n "$T_E2E" ]; then   # delivered before the last 250 reached the client
    wait "$SRC_PID" 2>/dev/null; SRC_PID=; T_ACC=$(<"$DIR/source.end")
fi

# --- report ---------------------------------------------------------------
if [ -n "$MTA_PID" ]; then
    read -r MTA_CPU1 _ < <(tree_stat "$MTA_PID")
    kill "$SAMPLER_PID" 2>/dev/null; wait "$SAMPLER_PID" 2>/dev/null; SAMPLER_PID=
fi
# late duplicates (e.g. a message delivered twice after a timeout) show up
# shortly after the count is reached
sleep 0.3
maildir_count; EXTRA_FILES=$((MD_N - PRE - EXPECT))
HZ=$(getconf CLK_TCK)
SRC_CPU=$(awk 'NR == 2 { t = 0; for (i = 1; i <= 2; i++) { split($i, a, /[ms]/); t += a[1] * 60 + a[2] }; print t }' "$DIR/source.times" 2>/dev/null)
awk -v n="$COUNT" -v t0="$T0" -v ta="${T_ACC:-}" -v te="${T_E2E:-}" -v got="$GOT" -v expect="$EXPECT" \
    -v b0="$BUSY0" -v b1="$BUSY1" -v c0="$TOTAL0" -v c1="$TOTAL1" -v hz="$HZ" \
    -v scpu="${SRC_CPU:-0}" -v m0="${MTA_CPU0:-}" -v m1="${MTA_CPU1:-}" \
    -v mem="$(cat "$DIR/mem.peak" 2>/dev/null)" -v extra="$EXTRA_FILES" -v bg="$BG_PCT" \
    -v conc="$CONC" -v size="$SIZE" -v reuse="$REUSE" '
BEGIN {
    # times are in microseconds
    t0 /= 1e6; if (ta != "") ta /= 1e6; if (te != "") te /= 1e6
    acc = (ta != "") ? sprintf("%.1f", n / (ta - t0)) : "NA"
    e2e = (te != "") ? sprintf("%.1f", n / (te - t0)) : "NA"
    printf "accept_mps=%s e2e_mps=%s\n", acc, e2e
    d = sprintf("detail: count=%d sessions=%d size=%d reuse_conn=%d accept_s=%.3f e2e_s=%s maildir_got=%d/%d maildir_extra=%d", \
        n, conc, size, reuse, (ta != "" ? ta - t0 : -1), (te != "" ? sprintf("%.3f", te - t0) : "NA"), got, expect, extra)
    d = d sprintf(" bg_busy_pct=%d sys_cpu_busy_pct=%.0f sys_cpu_s=%.2f source_cpu_s=%.2f", \
        bg, (c1 > c0 ? 100 * (b1 - b0) / (c1 - c0) : 0), (b1 - b0) / hz, scpu)
    split(mem, mm, " ")
    if (m0 != "") {
        d = d sprintf(" mta_cpu_s=%.2f mta_cpu_per_msg_ms=%.3f mta_peak_rss_sum_mb=%.1f mta_peak_pss_mb=%.1f", \
            (m1 - m0) / hz, 1000 * (m1 - m0) / hz / n, mm[1] / 1024, mm[2] / 1024)
        d = d sprintf(" other_cpu_s=%.2f", (b1 - b0) / hz - (m1 - m0) / hz - scpu)
    }
    print d > "/dev/stderr"
}'
if [ -z "$T_E2E" ]; then
    echo "maildir-bench: timeout after ${TIMEOUT}s: $NEWDIR got $GOT of $EXPECT new files" >&2
    [ -d "$NEWDIR" ] || echo "maildir-bench: $NEWDIR still does not exist: wrong path, or the MTA does not deliver there?" >&2
    exit 2
fi
exit 0

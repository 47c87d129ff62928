#!/usr/bin/env bash
# run.sh - postern vs Postfix, side by side in one run (entry point of "make bench")
# =====================================================================
#
# Usage:
#   test/bench/run.sh [-n COUNT] [-r ROUNDS] [-s SESSIONS] [-l SIZE] [BENCH]
#   make bench [BENCH=all|quick|relay|local|...]
#     -n COUNT     messages per run, for every cell (default: per cell, below)
#     -r ROUNDS    runs per side and cell (default 3)
#     -s SESSIONS  parallel SMTP sessions of smtp-source, one number or a
#                  list ("1,10"); restricts the matrix (default: 1,10,50 for
#                  relay and local, 10 for dkim and inbound)
#     -l SIZE      message body size in bytes, one or a list ("5120,102400");
#                  restricts the matrix (default: 5120,102400 for relay and
#                  local, 5120 for dkim and inbound)
#   BENCH:
#     all          (default) the relay and local matrix, dkim, inbound,
#                  mailbox and the idle, bigmsg and deferred programs; then
#                  the table. 30-40 minutes on 2 CPUs (estimated from
#                  the runs' lengths).
#     quick        the 10-session 5 KB rows of relay and local only, 3
#                  rounds of fewer messages (1500 relay, 1000 local):
#                  under 3 minutes, for a before/after check
#     relay        accept + relay to smtp-sink     (relay-bench.sh)
#     local        accept + deliver to a Maildir   (maildir-bench.sh)
#     dkim         relay, each message DKIM-signed twice on the way,
#                  rsa-sha256 (2048) and ed25519-sha256 (relay-bench.sh)
#     inbound      local, postern against itself: without and with the
#                  SPF, DKIM and DMARC checks of port 25, the DNS answered
#                  by a loopback server (benchdns); no Postfix side
#     mailbox      postern's imapd against Debian's Dovecot on copies of
#                  one 10,000-message Maildir (mailbox-bench.sh; -r only)
#     idle         10,000 idle clients held by postscreen, then by smtpd:
#                  the PSS of postern's processes and the greeting latency
#                  of new clients meanwhile (idle-bench.sh, which runs the
#                  Go program test/bench/idleconns; BENCH_IDLE_CONNS sets
#                  the count; no Postfix side; "idleconns" works too)
#     bigmsg       one 50 MB message        (Go program test/bench/bigmsg)
#     deferred     100,000 deferred messages (Go program test/bench/deferred)
#                  The two programs run with "go run ./test/bench/DIR"
#                  from the repository root, BENCH_BIN set to the postern
#                  binaries, and print their own results; each is skipped
#                  with a message while its directory does not exist.
#
# The matrix: relay and local, each at 1, 10 and 50 sessions and at 5 KB
# and 100 KB bodies (12 cells). In each cell, round by round, three sides
# run in turn: postern, Postfix, and postern with sync_method=none
# ("postern-nosync", fsync off: the limit line, what postern would do
# if the disk were free), so that all see the same machine state over
# time, each time against a FRESH instance (new spool, new Maildir) that
# is torn down afterwards. postern and Postfix both fsync before every
# "250" and before every delivery is reported done. dkim has the postern
# and Postfix sides; inbound postern unchecked and checked.
#
# Messages per run (without -n), chosen so that the slowest side of a
# cell (mostly Postfix) runs for several seconds on a 2-CPU machine, the
# fastest for a second or two, while the whole "make bench" stays
# within ~30-40 minutes:
#                 1 session   10 sessions   50 sessions
#     5 KB          1500        4000          4000
#     100 KB         600        1500          1500
#   local is the same; dkim 3000; inbound 5000; quick: 1500 relay, 1000
#   local. BENCH_SCALE=PCT scales all of them (a smoke test: BENCH_SCALE=2).
#
# Measurement method: that of relay-bench.sh (company yardstick):
# accept_mps = COUNT / time until smtp-source exits, e2e_mps = COUNT /
# time until the last message arrived (sink count, or files in the
# Maildir's new/); CPU and peak PSS of the MTA's whole process tree (for
# Postfix with dkim, plus its OpenDKIM milters).
#
# Output (stdout): one line per run; then the output of mailbox and the
# programs; then the inbound summary and ONE table, in markdown, with the
# MEDIANS over rounds of each cell: end-to-end msg/s of postern and
# Postfix, their ratio, MTA CPU ms per message, peak PSS in MB, and
# postern-nosync's msg/s with postern's share of it (durable/nosync). A
# value marked * is the median of fewer than ROUNDS runs (others failed).
# The raw "detail:" lines of the bench scripts (CPU, memory, counts) go
# to stderr, indented.
# Exit status: 0 if every run that was attempted succeeded, 1 otherwise.
#
# Sides:
#   postern  needs ./bin/postern and ./bin/master ("make build"); skipped
#            with a message if bin/master is missing.
#   Postfix  needs root (its master(8) must start as root) and Debian's
#            postfix package; skipped with a message if not root.
#
# dkim: both sides sign the mail of 127.0.0.1 (smtp-source's From: is
# bench@example.com) with the same two keys, made by "postern dkim keygen"
# once per run (so dkim needs bin/postern on both sides). postern signs
# in smtpd (dkim_signing_keys, mynetworks); Postfix gets two OpenDKIM
# milters, one per key, since OpenDKIM 2.11 signs with one algorithm
# (SignatureAlgorithm) per instance: Debian's opendkim package, run
# privately on loopback (BENCH_OPENDKIM_PORT and the port after it);
# the Postfix side is skipped with a message without it. Their CPU and
# memory count as Postfix's. After each run one more message goes through
# the MTA to a dumping smtp-sink, and its signatures must be there, and
# verify with dkimpy (dkim-verify.py) where python3-dkim is installed.
#
# Environment (all optional):
#   BENCH_POSTERN_PORT_BASE  postern sandbox port base; SMTP = base+25 (14000)
#   BENCH_POSTFIX_PORT       Postfix smtpd port (15025)
#   BENCH_SINK_PORT          smtp-sink port for relay and dkim (15026)
#   BENCH_OPENDKIM_PORT      first of the two OpenDKIM milter ports (15027)
#   BENCH_DOVECOT_PORT       Dovecot's IMAP port for mailbox (15143)
#                            (all below 20000: the e2e tests, which may run
#                            at the same time, pick random port bases from
#                            20000 up; a port busy between runs is waited
#                            for up to 30 s, then that run fails)
#   BENCH_BIN                directory with postern binaries (REPO/bin)
#   BENCH_TMPDIR             where instances live (${TMPDIR:-/tmp}); put it
#                            on the disk you want to measure (not tmpfs)
#   BENCH_TIMEOUT            seconds a run may wait for deliveries
#                            (120 + COUNT/20)
#   BENCH_COUNT, BENCH_ROUNDS, BENCH_SESSIONS, BENCH_SIZE, BENCH_WHICH
#                            defaults for -n, -r, -s, -l and BENCH
#                            (so "BENCH_COUNT=2000 make bench" works)
#   BENCH_SCALE=PCT          scale the per-cell message counts (100)
#   BENCH_NOSYNC=0           leave out the postern-nosync side
#   BENCH_START_TIMEOUT      seconds postern may take to listen (30)
#   BENCH_KEEP=1             keep instance directories and logs
#   BENCH_POSTERN_SET        settings for postern's configuration, as
#                            "name=value name=value" (postern config set),
#                            e.g. "sync_method=syncfs"; postern-nosync
#                            gets them too, then sync_method=none
#   BENCH_RESULTS=FILE       also append tab-separated results to FILE, one
#                            line per run: time bench mta round count
#                            sessions size accept_mps e2e_mps detail
#   BENCH_NOISY_PCT          flag a run as NOISY if the machine was at least
#                            this % busy in the second before it (20)
#
# Only 127.0.0.1 is used. Only processes this script started are stopped,
# by PID (postern's master and its session, Postfix via "postfix stop",
# OpenDKIM by the PIDs of its processes).
# =====================================================================
set -u

usage() { awk '/^# =====/ { if (++n == 2) exit; next } n == 1 { sub(/^# ?/, ""); print }' "$0"; }
die() { echo "run.sh: $*" >&2; exit 1; }
say() { echo "run.sh: $*" >&2; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
# smtp-source, smtp-sink and postfix live in /usr/sbin, which is not in a
# normal user's PATH on Debian.
PATH=$PATH:/usr/sbin:/sbin
BIN=${BENCH_BIN:-$ROOT/bin}
FAILED=0

# run_program DIR [ARGS...]: a benchmark that is a Go program of its own,
# test/bench/DIR, run from the repository root; it prints its results.
# Skipped with a message while DIR does not exist (yet).
run_program() {
    local dir=$1; shift
    if [ ! -d "$HERE/$dir" ]; then
        echo "$dir: skipped: test/bench/$dir does not exist"
        return 0
    fi
    echo "== test/bench/$dir"
    (cd "$ROOT" && BENCH_BIN=$BIN go run "./test/bench/$dir" "$@") || { say "test/bench/$dir FAILED (rc=$?)"; FAILED=1; }
}

# mailbox-bench.sh on run.sh's postern port base and Dovecot port.
run_mailbox() {
    BENCH_POSTERN_PORT_BASE=$PORT_BASE BENCH_DOVECOT_PORT=${BENCH_DOVECOT_PORT:-15143} \
        "$HERE/mailbox-bench.sh" -r "$ROUNDS" || FAILED=1
}

# Defaults may come from the environment too, for "BENCH_COUNT=2000 make bench".
PORT_BASE=${BENCH_POSTERN_PORT_BASE:-14000}
POSTFIX_PORT=${BENCH_POSTFIX_PORT:-15025}
SINK_PORT=${BENCH_SINK_PORT:-15026}
ODK_PORT=${BENCH_OPENDKIM_PORT:-15027}
COUNT_OPT=${BENCH_COUNT:-}
ROUNDS=${BENCH_ROUNDS:-}
SESSIONS_OPT=${BENCH_SESSIONS:-}
SIZE_OPT=${BENCH_SIZE:-}
while getopts "n:r:s:l:h" opt; do
    case $opt in
    n) COUNT_OPT=$OPTARG ;;
    r) ROUNDS=$OPTARG ;;
    s) SESSIONS_OPT=$OPTARG ;;
    l) SIZE_OPT=$OPTARG ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 1 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -le 1 ] || { usage >&2; exit 1; }
WHICH=${1:-${BENCH_WHICH:-all}}
ROUNDS=${ROUNDS:-3}
QUICK=0 PROGRAMS=()
case $WHICH in
local | relay | dkim | inbound) BENCHES=("$WHICH") ;;
quick) BENCHES=(relay local) QUICK=1 SESSIONS_OPT=${SESSIONS_OPT:-10} SIZE_OPT=${SIZE_OPT:-5120} ;;
mailbox) run_mailbox; exit $FAILED ;;
idle | idleconns) BENCH_BIN=$BIN "$HERE/idle-bench.sh" || FAILED=1; exit $FAILED ;;
bigmsg) run_program bigmsg; exit $FAILED ;;
deferred) run_program deferred; exit $FAILED ;;
all) BENCHES=(relay local dkim inbound) WITH_MAILBOX=1 WITH_IDLE=1 PROGRAMS=(bigmsg deferred) ;;
*) usage >&2; exit 1 ;;
esac

TMPBASE=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
TIMEOUT_OPT=${BENCH_TIMEOUT:-}
START_TIMEOUT=${BENCH_START_TIMEOUT:-30}
KEEP=${BENCH_KEEP:-0}
RESULTS=${BENCH_RESULTS:-}
NOISY_PCT=${BENCH_NOISY_PCT:-20}
SCALE=${BENCH_SCALE:-100}
NOSYNC=${BENCH_NOSYNC:-1}

SESSIONS_OPT=${SESSIONS_OPT//,/ } SIZE_OPT=${SIZE_OPT//,/ }
for v in ROUNDS PORT_BASE POSTFIX_PORT SINK_PORT ODK_PORT START_TIMEOUT NOISY_PCT SCALE; do
    case ${!v} in '' | *[!0-9]* | 0) die "$v must be a positive integer: '${!v}'" ;; esac
done
for v in $COUNT_OPT $TIMEOUT_OPT $SESSIONS_OPT $SIZE_OPT; do
    case $v in *[!0-9]* | 0) die "-n, -s, -l and BENCH_TIMEOUT take positive integers: '$v'" ;; esac
done
[ -z "$COUNT_OPT" ] || [ "$COUNT_OPT" = "${COUNT_OPT%% *}" ] || die "-n takes one number: '$COUNT_OPT'"

# The cells of a benchmark: its sessions and sizes, and its messages per run.
sessions_for() { case $1 in relay | local) echo "${SESSIONS_OPT:-1 10 50}" ;; *) echo "${SESSIONS_OPT:-10}" ;; esac; }
sizes_for() { case $1 in relay | local) echo "${SIZE_OPT:-5120 102400}" ;; *) echo "${SIZE_OPT:-5120}" ;; esac; }
count_for() {   # count_for BENCH SESSIONS SIZE (table in the header)
    local n
    if [ -n "$COUNT_OPT" ]; then echo "$COUNT_OPT"; return; fi
    case $1 in
    dkim) n=3000 ;;
    inbound) n=5000 ;;
    *)
        if [ "$QUICK" = 1 ]; then
            if [ "$1" = relay ]; then n=1500; else n=1000; fi
        elif [ "$3" -ge 65536 ]; then
            if [ "$2" -le 1 ]; then n=600; else n=1500; fi
        else
            if [ "$2" -le 1 ]; then n=1500; else n=4000; fi
        fi ;;
    esac
    n=$((n * SCALE / 100))
    echo $((n < 10 ? 10 : n))
}
# Long enough for an MTA doing >= 20 msg/s end to end, short enough that
# an MTA that cannot deliver at all (e.g. no relay client yet) does not
# hold the run for long.
timeout_for() { echo "${TIMEOUT_OPT:-$((120 + $1 / 20))}"; }

POSTERN_PORT=$((PORT_BASE + 25))
for p in POSTERN_PORT POSTFIX_PORT SINK_PORT ODK_PORT; do
    [ "${!p}" -lt 65535 ] || die "$p out of range: ${!p}"
done
if [ "$POSTERN_PORT" = "$POSTFIX_PORT" ] || [ "$POSTERN_PORT" = "$SINK_PORT" ] || [ "$POSTFIX_PORT" = "$SINK_PORT" ]; then
    die "ports must differ: postern $POSTERN_PORT, postfix $POSTFIX_PORT, sink $SINK_PORT"
fi

# --- preflight ------------------------------------------------------------
[ -n "${EPOCHREALTIME:-}" ] || die "bash >= 5 required"
command -v ss >/dev/null || die "ss not found (Debian: apt-get install iproute2)"
command -v smtp-source >/dev/null || die "smtp-source not found (Debian: apt-get install postfix)"
for b in "${BENCHES[@]}"; do
    [ "$b" != local ] && { command -v smtp-sink >/dev/null || die "smtp-sink not found (Debian: apt-get install postfix)"; }
done

MTAS=()
declare -A SKIP=()   # mta -> reason it does not run
if [ -x "$BIN/master" ] && [ -x "$BIN/postern" ]; then
    MTAS+=(postern)
else
    SKIP[postern]="$BIN/master or $BIN/postern not found (run 'make build')"
    say "postern side SKIPPED: ${SKIP[postern]}"
fi
if [ "$(id -u)" != 0 ]; then
    SKIP[postfix]="not root (Postfix's master must start as root)"
    say "Postfix side SKIPPED: ${SKIP[postfix]}"
elif ! command -v postfix >/dev/null; then
    SKIP[postfix]="postfix not installed"
    say "Postfix side SKIPPED: ${SKIP[postfix]}"
else
    MTAS+=(postfix)
fi
[ ${#MTAS[@]} -gt 0 ] || die "nothing to benchmark"
declare -A GAVE_UP=()             # "bench mta" -> why its (remaining) rounds are skipped
case " ${BENCHES[*]} " in *" dkim "*)
    if [ -n "${SKIP[postern]:-}" ]; then
        GAVE_UP["dkim postfix"]="the keys are made with bin/postern, which is missing"
    elif [ -z "${SKIP[postfix]:-}" ] && ! command -v opendkim >/dev/null; then
        GAVE_UP["dkim postfix"]="opendkim not installed (Debian: apt-get install opendkim)"
        say "Postfix side of dkim SKIPPED: ${GAVE_UP["dkim postfix"]}"
    fi ;;
esac

listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
port_free() { ! listening "$1" || die "port $1 ($2) is already in use; stop whatever listens there or set $3"; }
# wait_port PORT NAME VAR: before a run; something else on the host may
# hold the port for a moment. Waits up to 30 s rather than end the whole
# benchmark; then only this run fails.
wait_port() {
    local i
    for ((i = 0; i < 300; i++)); do
        if ! listening "$1"; then
            [ "$i" = 0 ] || say "port $1 ($2) was in use; waited $((i / 10)) s for it"
            return 0
        fi
        sleep 0.1
    done
    say "port $1 ($2) has been in use for 30 s; this run fails (set $3 to move it)"
    return 1
}
[ -n "${SKIP[postern]:-}" ] || port_free "$POSTERN_PORT" "postern SMTP" BENCH_POSTERN_PORT_BASE
[ -n "${SKIP[postfix]:-}" ] || port_free "$POSTFIX_PORT" "Postfix SMTP" BENCH_POSTFIX_PORT
case " ${BENCHES[*]} " in *" relay "* | *" dkim "*) port_free "$SINK_PORT" "smtp-sink" BENCH_SINK_PORT ;; esac
case " ${BENCHES[*]} " in *" dkim "*)
    if [ -z "${SKIP[postfix]:-}" ] && [ -z "${GAVE_UP["dkim postfix"]:-}" ]; then
        port_free "$ODK_PORT" "OpenDKIM" BENCH_OPENDKIM_PORT
        port_free "$((ODK_PORT + 1))" "OpenDKIM" BENCH_OPENDKIM_PORT
    fi ;;
esac

mkdir -p "$TMPBASE" || die "cannot create $TMPBASE"
WORK=$(mktemp -d "$TMPBASE/postern-bench.XXXXXX") || die "mktemp in $TMPBASE failed"
# Postfix's and postern's unprivileged daemons must traverse WORK.
chmod 755 "$WORK"

# --- cleanup --------------------------------------------------------------
# What is running right now, so the trap can stop exactly that.
CUR_MTA=       # postern | postfix
CUR_PID=       # postern master PID (our child) or Postfix master PID
CUR_DIR=
ODK_PIDS=      # OpenDKIM milters of the running Postfix (dkim)
BENCH_PID=     # running relay-bench.sh / maildir-bench.sh
# shellcheck disable=SC2317   # only reached through the trap
cleanup() {
    trap - INT TERM
    if [ -n "$BENCH_PID" ]; then
        # the bench script's own trap stops its smtp-source / smtp-sink
        kill -TERM "$BENCH_PID" 2>/dev/null; wait "$BENCH_PID" 2>/dev/null
    fi
    [ -n "$CUR_MTA" ] && stop_mta
    if [ "$KEEP" = 1 ]; then say "kept $WORK${ODK_DIR:+ and $ODK_DIR}"; else rm -rf "$WORK" ${ODK_DIR:+"$ODK_DIR"}; fi
}
trap cleanup EXIT
trap 'say interrupted; exit 130' INT TERM

# Run postern from a private copy of bin/: the sandbox points
# daemon_directory at the directory of the postern program, and the master
# execs its daemons from there at run time, so a "make build" in the
# middle of a benchmark would otherwise mix two builds between rounds (or
# within one run). The copy makes every round use the build we started with.
if [ -z "${SKIP[postern]:-}" ]; then
    if ! { mkdir "$WORK/bin" && cp -p "$BIN"/* "$WORK/bin/" && chmod 755 "$WORK/bin"; }; then
        die "cannot copy $BIN to $WORK/bin"
    fi
    BIN=$WORK/bin
fi

# --- the loopback DNS of the inbound benchmark --------------------------------
# benchdns (test/bench/benchdns) answers SPF and DMARC for example.com,
# smtp-source's sender domain, on 127.0.0.1: SPF passes for 127.0.0.1 and
# DMARC asks for p=reject, so a checked message costs the lookups and
# the verdicts of a message that passes. It runs until its stdin closes.
DNS_ADDR=
start_benchdns() {
    [ -n "$DNS_ADDR" ] && return 0
    (cd "$ROOT" && go build -o "$WORK/benchdns" ./test/bench/benchdns) || return 1
    # shellcheck disable=SC2016   # $ORIGIN is the zone file's, not the shell's
    printf '$ORIGIN example.com.\n@ TXT "v=spf1 ip4:127.0.0.1 -all"\n_dmarc TXT "v=DMARC1; p=reject"\n' >"$WORK/zone"
    mkfifo "$WORK/benchdns.in" || return 1
    "$WORK/benchdns" "$WORK/zone" <"$WORK/benchdns.in" >"$WORK/benchdns.addr" &
    exec 9>"$WORK/benchdns.in"   # holds its stdin open until this script ends
    for ((i = 0; i < 50; i++)); do [ -s "$WORK/benchdns.addr" ] && break; sleep 0.1; done
    DNS_ADDR=$(head -1 "$WORK/benchdns.addr")
    [ -n "$DNS_ADDR" ]
}

# --- instances ------------------------------------------------------------
# Top-level TOML keys must come before the first [table] header; a key
# after it would belong to that table. Replaces an existing top-level
# relayhost rather than adding a duplicate key (a TOML error).
postern_set_relayhost() {
    local conf=$1 kv="relayhost = \"[127.0.0.1]:$2\""
    awk -v kv="$kv" '
        !done && /^[ \t]*\[/ { print kv; done = 1 }
        !done && /^[ \t]*relayhost[ \t]*=/ { next }
        { print }
        END { if (!done) print kv }' "$conf" >"$conf.new" && mv "$conf.new" "$conf"
}

# dkim_keys: makes the two signing keys of the dkim benchmark once per run
# (RSA and Ed25519, for example.com, smtp-source's From: domain) with
# postern dkim keygen, into $WORK/dkim; their records go to
# $WORK/dkim/zone. As root it needs the postern group, which the postern
# sandbox of the round has made by then.
DKIM_DOMAIN=example.com
dkim_keys() {
    [ -s "$WORK/dkim/zone" ] && return 0
    mkdir -p "$WORK/dkim" || return 1
    "$BIN/postern" -c "$WORK/dkim/none.toml" dkim keygen -d "$WORK/dkim" -t rsa "$DKIM_DOMAIN" rsa2026 >"$WORK/dkim/zone.new" &&
        "$BIN/postern" -c "$WORK/dkim/none.toml" dkim keygen -d "$WORK/dkim" -t ed25519 "$DKIM_DOMAIN" ed2026 >>"$WORK/dkim/zone.new" &&
        mv "$WORK/dkim/zone.new" "$WORK/dkim/zone"
}

# start_opendkim NAME LOG: two OpenDKIM milters on ODK_PORT and the port
# after it, the RSA key and the Ed25519 key, configured as an admin would
# for Postfix: sign the mail of 127.0.0.1 (InternalHosts), relaxed/relaxed,
# From oversigned. Sets ODK_PIDS. OpenDKIM refuses a configuration file
# or key below a directory others may write to (/tmp), so theirs live in
# a directory of this run under /run.
ODK_DIR=
start_opendkim() {
    local name=$1 log=$2 i n=0 alg sel port pid dir
    if [ -z "$ODK_DIR" ]; then
        ODK_DIR=$(mktemp -d /run/postern-bench-opendkim.XXXXXX) || return 1
        chmod 755 "$ODK_DIR"
    fi
    dir=$ODK_DIR/$name
    for alg in rsa ed25519; do
        case $alg in rsa) sel=rsa2026 ;; ed25519) sel=ed2026 ;; esac
        port=$((ODK_PORT + n)); n=$((n + 1))
        mkdir -p "$dir/opendkim-$alg" || return 1
        # OpenDKIM (as user opendkim) wants its key readable by itself only.
        install -o opendkim -g opendkim -m 600 "$WORK/dkim/$DKIM_DOMAIN.$sel.key" "$dir/opendkim-$alg/key" || return 1
        cat >"$dir/opendkim-$alg/opendkim.conf" <<EOF
Syslog no
Background no
Mode s
Socket inet:$port@127.0.0.1
UserID opendkim
InternalHosts 127.0.0.1
Canonicalization relaxed/relaxed
OversignHeaders From
SignatureAlgorithm $alg-sha256
Domain $DKIM_DOMAIN
Selector $sel
KeyFile $dir/opendkim-$alg/key
EOF
        # Own process group, as postern's master (see start_mta).
        setsid opendkim -f -x "$dir/opendkim-$alg/opendkim.conf" >>"$log" 2>&1 </dev/null &
        pid=$!
        ODK_PIDS+="$pid "
        for ((i = 0; i < START_TIMEOUT * 10; i++)); do
            listening "$port" && break
            kill -0 "$pid" 2>/dev/null || break
            sleep 0.1
        done
        listening "$port" || { say "OpenDKIM ($alg) did not listen on 127.0.0.1:$port"; tail -5 "$log" >&2; return 1; }
    done
}

stop_opendkim() {
    local p i
    for p in $ODK_PIDS; do kill -TERM "$p" 2>/dev/null; done
    for p in $ODK_PIDS; do
        for ((i = 0; i < 100; i++)); do kill -0 "$p" 2>/dev/null || break; sleep 0.1; done
        kill -KILL -- "-$p" 2>/dev/null
        wait "$p" 2>/dev/null
    done
    ODK_PIDS=
}

# start_mta MTA BENCH DIR LOG: sets CUR_MTA, CUR_PID, MTA_PORT, NEWDIR
start_mta() {
    local mta=$1 bench=$2 dir=$3 log=$4 args i
    CUR_DIR=$dir
    case $mta in
    postern | postern-checked | postern-nosync)
        MTA_PORT=$POSTERN_PORT
        wait_port "$MTA_PORT" "postern SMTP" BENCH_POSTERN_PORT_BASE || return 1
        "$BIN/postern" sandbox "$dir" -port-base "$PORT_BASE" >>"$log" 2>&1 ||
            { tail -20 "$log" >&2; say "postern sandbox failed (log: $log)"; return 1; }
        [ -f "$dir/postern.toml" ] || { say "postern sandbox did not write $dir/postern.toml"; return 1; }
        case $bench in local | inbound) ;; *) postern_set_relayhost "$dir/postern.toml" "$SINK_PORT" ;; esac
        if [ "$bench" = inbound ]; then
            # The client (127.0.0.1) is outside mynetworks, so that its
            # mail is checked when the checks are on; it stays exempt from
            # the client limits, as in the other benchmarks. The two sides
            # differ in smtpd_sender_authentication alone.
            local checked=false
            [ "$mta" = postern-checked ] && checked=true
            start_benchdns >>"$log" 2>&1 || { say "benchdns did not start"; return 1; }
            "$BIN/postern" -c "$dir/postern.toml" config set "mynetworks=[]" \
                "smtpd_client_event_limit_exceptions=[\"127.0.0.0/8\"]" "dns_servers=[\"$DNS_ADDR\"]" \
                "smtpd_sender_authentication=$checked" >>"$log" 2>&1 ||
                { tail -5 "$log" >&2; say "cannot configure the inbound checks"; return 1; }
        fi
        if [ "$bench" = dkim ]; then
            dkim_keys >>"$log" 2>&1 || { tail -5 "$log" >&2; say "postern dkim keygen failed"; return 1; }
            "$BIN/postern" -c "$dir/postern.toml" config set \
                "dkim_signing_keys=[\"$DKIM_DOMAIN rsa2026 $WORK/dkim/$DKIM_DOMAIN.rsa2026.key\", \"$DKIM_DOMAIN ed2026 $WORK/dkim/$DKIM_DOMAIN.ed2026.key\"]" >>"$log" 2>&1 ||
                { tail -5 "$log" >&2; say "cannot set dkim_signing_keys"; return 1; }
        fi
        if [ -n "${BENCH_POSTERN_SET:-}" ]; then
            # shellcheck disable=SC2086 # one word per setting
            "$BIN/postern" -c "$dir/postern.toml" config set $BENCH_POSTERN_SET >>"$log" 2>&1 ||
                { tail -5 "$log" >&2; say "cannot apply BENCH_POSTERN_SET"; return 1; }
        fi
        if [ "$mta" = postern-nosync ]; then
            "$BIN/postern" -c "$dir/postern.toml" config set sync_method=none >>"$log" 2>&1 ||
                { tail -5 "$log" >&2; say "cannot set sync_method=none"; return 1; }
        fi
        # Own session/process group (setsid does not fork here: a background
        # job of a non-interactive shell is not a group leader), so $! is the
        # master itself and a stuck shutdown can be cleaned up with one
        # group kill that reaches only processes we started.
        setsid "$BIN/master" -c "$dir/postern.toml" >>"$log" 2>&1 </dev/null &
        CUR_PID=$! CUR_MTA=$mta
        for ((i = 0; i < START_TIMEOUT * 10; i++)); do
            listening "$MTA_PORT" && break
            kill -0 "$CUR_PID" 2>/dev/null || break
            sleep 0.1
        done
        if ! kill -0 "$CUR_PID" 2>/dev/null; then
            wait "$CUR_PID"; say "postern master exited during startup (rc=$?):"
            tail -20 "$log" >&2; CUR_MTA='' CUR_PID=''; return 1
        fi
        listening "$MTA_PORT" || { say "postern did not listen on 127.0.0.1:$MTA_PORT within ${START_TIMEOUT}s"; tail -20 "$log" >&2; stop_mta; return 1; }
        ;;
    postfix)
        MTA_PORT=$POSTFIX_PORT
        wait_port "$MTA_PORT" "Postfix SMTP" BENCH_POSTFIX_PORT || return 1
        if [ "$bench" = local ]; then args=(maildir "$MTA_PORT"); else args=(relay "$MTA_PORT" "$SINK_PORT"); fi
        CUR_MTA=postfix   # set first: a half-started instance must be stopped too
        local milter=
        if [ "$bench" = dkim ]; then
            dkim_keys >>"$log" 2>&1 || { tail -5 "$log" >&2; say "postern dkim keygen failed"; CUR_MTA=; return 1; }
            start_opendkim "$(basename "$dir")" "$log" || { stop_opendkim; CUR_MTA=; return 1; }
            milter="inet:127.0.0.1:$ODK_PORT, inet:127.0.0.1:$((ODK_PORT + 1))"
        fi
        CUR_PID=$(MILTER=$milter "$HERE/postfix-instance.sh" start "$dir" "${args[@]}" 2>>"$log") ||
            { tail -20 "$log" >&2; say "Postfix instance did not start (log: $log)"; stop_mta; return 1; }
        ;;
    esac
    NEWDIR=$dir/mail/example.test/demo/new
}

stop_mta() {
    local i
    case $CUR_MTA in
    postern | postern-checked | postern-nosync)
        if kill -TERM "$CUR_PID" 2>/dev/null; then
            for ((i = 0; i < 300; i++)); do kill -0 "$CUR_PID" 2>/dev/null || break; sleep 0.1; done
            if kill -0 "$CUR_PID" 2>/dev/null; then
                say "postern master $CUR_PID ignored SIGTERM for 30 s; killing its process group"
                kill -KILL -- "-$CUR_PID" 2>/dev/null
            fi
        fi
        wait "$CUR_PID" 2>/dev/null
        # children that outlive the master (same session, started by us)
        if [ -n "$(ps -o pid= -s "$CUR_PID" 2>/dev/null)" ]; then
            say "postern left processes behind after its master exited:"; ps -o pid=,comm= -s "$CUR_PID" >&2
            kill -KILL -- "-$CUR_PID" 2>/dev/null
        fi
        ;;
    postfix)
        [ -f "$CUR_DIR/etc/main.cf" ] && "$HERE/postfix-instance.sh" stop "$CUR_DIR"
        stop_opendkim
        ;;
    esac
    CUR_MTA='' CUR_PID=''
}

# Files directly in a directory (0 if it does not exist).
count_files() { find "$1" -mindepth 1 -maxdepth 1 -type f -printf . 2>/dev/null | wc -c; }

# Sanity checks of a finished local run, independent of maildir-bench's
# counters: exactly COUNT files in new/, none stuck in tmp/, and COUNT
# distinct Message-Ids (smtp-source numbers its messages, so a duplicate
# delivery shows up as a repeated id).
check_maildir() {
    local md=${1%/new} n ids tmpn
    n=$(count_files "$md/new")
    tmpn=$(count_files "$md/tmp")
    ids=$(find "$md/new" -mindepth 1 -maxdepth 1 -type f -exec grep -h -m1 -i '^Message-Id:' {} + 2>/dev/null | sort -u | wc -l)
    if [ "$n" = "$COUNT" ] && [ "$ids" = "$COUNT" ] && [ "$tmpn" = 0 ]; then
        CHECK="maildir ok: $n files, $ids distinct Message-Ids"
    else
        CHECK="MAILDIR MISMATCH: $n files in new/ (want $COUNT), $ids distinct Message-Ids, $tmpn in tmp/"
        return 1
    fi
}

# Files left in a Postfix queue (after a run: should be none).
postfix_queue_files() {
    local q n=0
    for q in maildrop incoming active deferred hold; do
        n=$((n + $(find "$1/spool/$q" -type f 2>/dev/null | wc -l)))
    done
    echo "$n"
}

# check_dkim DIR: after a dkim run, one more message through the MTA to a
# smtp-sink that dumps it: it must carry an rsa-sha256 and an
# ed25519-sha256 signature, which dkimpy verifies where it is installed.
# Sets CHECK.
check_dkim() {
    local dump=$1/dump sink f n=0 out algs
    local -a as=()
    mkdir -p "$dump" && chmod 777 "$dump"
    [ "$(id -u)" = 0 ] && as=(-u nobody)   # smtp-sink will not run as root
    smtp-sink "${as[@]}" -d "$dump/%H%M%S." "127.0.0.1:$SINK_PORT" 10 >/dev/null 2>&1 &
    sink=$!
    for ((n = 0; n < 50; n++)); do listening "$SINK_PORT" && break; sleep 0.1; done
    smtp-source -m 1 -l "$SIZE" -f bench@example.com -t sink@example.net "127.0.0.1:$MTA_PORT" >/dev/null 2>&1
    for ((n = 0; n < 300; n++)); do
        f=$(find "$dump" -type f | head -1)
        [ -n "$f" ] && [ "$(stat -c %s "$f")" -gt "$SIZE" ] && break
        sleep 0.1
    done
    sleep 0.2
    kill "$sink" 2>/dev/null; wait "$sink" 2>/dev/null
    if [ -z "$f" ]; then CHECK="DKIM CHECK: the check message did not reach the sink"; return 1; fi
    # The body is smtp-source's X lines: a= tags are the signatures'.
    algs=$(grep -o 'a=\(rsa\|ed25519\)-sha256' "$f" | sort | tr '\n' ' ')
    if [ "$algs" != "a=ed25519-sha256 a=rsa-sha256 " ]; then
        CHECK="DKIM MISSING: the check message has signatures '$algs'"; return 1
    fi
    if out=$(/usr/bin/python3 "$HERE/dkim-verify.py" "$f" "$WORK/dkim/zone" 2>&1); then
        CHECK="dkim ok: rsa-sha256 and ed25519-sha256 verify (dkimpy)"
    elif [ $? = 2 ] || [ ! -x /usr/bin/python3 ]; then
        CHECK="dkim ok: rsa-sha256 and ed25519-sha256 present (no dkimpy to verify)"
    else
        CHECK="DKIM DOES NOT VERIFY: $(echo "$out" | tr '\n' ' ')"; return 1
    fi
}

# check_authres NEWDIR: after a checked inbound run, every message carries
# our Authentication-Results: with SPF and DMARC passing. Sets CHECK.
check_authres() {
    local n
    n=$(find "$1" -mindepth 1 -maxdepth 1 -type f -exec grep -l -m1 '^Authentication-Results: mail.example.test;' {} + 2>/dev/null | wc -l)
    if [ "$n" != "$COUNT" ]; then
        CHECK="${CHECK:+$CHECK; }AUTH CHECKS MISSING: $n of $COUNT messages have Authentication-Results"; return 1
    fi
    if ! grep -q -m1 'dmarc=pass' "$(find "$1" -mindepth 1 -maxdepth 1 -type f | head -1)"; then
        CHECK="${CHECK:+$CHECK; }AUTH CHECKS: dmarc did not pass"; return 1
    fi
    CHECK="${CHECK:+$CHECK; }checked: spf=pass dmarc=pass in all $n"
}

# --- one run --------------------------------------------------------------
# "bench sessions size mta" -> space-separated per-round values
declare -A ACC=() E2E=() CPU=() PSS=()

# run_one BENCH MTA ROUND: one run in the current cell (COUNT, SESSIONS,
# SIZE, TIMEOUT).
run_one() {
    local bench=$1 mta=$2 round=$3 name dir log out err rc acc e2e pre line detail mlog key
    name=$bench-$SESSIONS-$SIZE-$mta-$round
    key="$bench $SESSIONS $SIZE $mta"
    dir=$WORK/$name
    log=$WORK/$name.log
    out=$WORK/$name.out
    err=$WORK/$name.err
    mkdir "$dir" || return 1
    if ! start_mta "$mta" "$bench" "$dir" "$log"; then
        printf '%-7s %s %d/%d %-15s FAILED to start (log tail on stderr; BENCH_KEEP=1 keeps %s)\n' "$bench" "$(cell_name)" "$round" "$ROUNDS" "$mta" "$log"
        FAILED=1; return 1
    fi
    # Fresh-instance guarantee: nothing may be delivered or queued yet.
    pre=$(count_files "$NEWDIR")
    [ "$pre" = 0 ] || say "WARNING: $name: Maildir already holds $pre files before the run"
    if [ "$mta" = postfix ]; then
        pre=$(postfix_queue_files "$dir")
        [ "$pre" = 0 ] || say "WARNING: $name: Postfix queue already holds $pre files before the run"
    fi

    case $bench in
    local | inbound) "$HERE/maildir-bench.sh" -t "$TIMEOUT" -P "$CUR_PID" "$MTA_PORT" "$NEWDIR" "$COUNT" "$SESSIONS" "$SIZE" >"$out" 2>"$err" & ;;
    relay | dkim) "$HERE/relay-bench.sh" -t "$TIMEOUT" -P "$CUR_PID${ODK_PIDS:+ $ODK_PIDS}" "$MTA_PORT" "$SINK_PORT" "$COUNT" "$SESSIONS" "$SIZE" >"$out" 2>"$err" & ;;
    esac
    BENCH_PID=$!
    wait "$BENCH_PID"; rc=$?
    BENCH_PID=

    line=$(head -1 "$out")
    acc=NA e2e=NA
    [[ $line =~ accept_mps=([0-9.]+|NA)\ e2e_mps=([0-9.]+|NA) ]] && acc=${BASH_REMATCH[1]} e2e=${BASH_REMATCH[2]}
    detail=$(grep -m1 '^detail:' "$err")
    CHECK=
    if { [ "$bench" = local ] || [ "$bench" = inbound ]; } && [ "$rc" = 0 ]; then check_maildir "$NEWDIR" || rc=3; fi
    if [ "$mta" = postern-checked ] && [ "$rc" = 0 ]; then check_authres "$NEWDIR" || rc=3; fi
    if [ "$bench" = dkim ] && [ "$rc" = 0 ]; then check_dkim "$dir" || rc=3; fi
    if [ "$mta" = postfix ]; then
        pre=$(postfix_queue_files "$dir")
        [ "$pre" = 0 ] || CHECK="${CHECK:+$CHECK; }POSTFIX QUEUE NOT EMPTY: $pre files"
    fi
    stop_mta
    # On failure the MTA's own log usually says why (rejected recipient,
    # no route, deferred): keep its last lines before the instance goes.
    if [ "$rc" != 0 ]; then
        mlog=$dir/maillog   # postfix-instance.sh
        [ "$mta" != postfix ] && mlog=$(sed -n 's/^maillog_file *= *"\(.*\)".*/\1/p' "$dir/postern.toml" 2>/dev/null)
        [ -f "$mlog" ] && { echo "    last lines of $mta's log:"; tail -5 "$mlog" | sed 's/^/      /'; } >>"$err"
    fi
    # relay-bench/maildir-bench measure the machine's CPU load in the second
    # before the run; flag runs that shared the CPUs with something else.
    if [[ $detail =~ bg_busy_pct=([0-9]+) ]] && [ "${BASH_REMATCH[1]}" -ge "$NOISY_PCT" ]; then
        CHECK="${CHECK:+$CHECK; }NOISY: machine ${BASH_REMATCH[1]}% busy before the run"
    fi

    printf '%-7s %s %d/%d %-15s accept %8s msg/s  e2e %8s msg/s%s\n' "$bench" "$(cell_name)" "$round" "$ROUNDS" "$mta" "$acc" "$e2e" \
        "$([ "$rc" = 0 ] || echo "  FAILED (rc=$rc)")${CHECK:+  [$CHECK]}"
    # bench scripts' warnings and details, for the record
    grep -v '^detail:' "$err" | sed 's/^/    /' >&2
    [ -n "$detail" ] && echo "    $detail" >&2
    [ -n "$RESULTS" ] && printf '%s\t%s\t%s\t%d\t%d\t%d\t%d\t%s\t%s\t%s\n' "$(date -u +%FT%TZ)" "$bench" "$mta" "$round" \
        "$COUNT" "$SESSIONS" "$SIZE" "$acc" "$e2e" "${detail#detail: }" >>"$RESULTS"

    # A timeout with nothing delivered at all will not go better in the next
    # round (typically: the MTA cannot deliver that kind of mail yet); do
    # not spend another TIMEOUT seconds on it.
    if [ "$rc" = 2 ] && [[ $detail =~ _got=0/ ]]; then
        GAVE_UP["$bench $mta"]="nothing delivered within ${TIMEOUT}s in round $round"
    fi

    if [ "$rc" = 0 ]; then
        ACC[$key]+="$acc " E2E[$key]+="$e2e "
        [[ $detail =~ mta_cpu_per_msg_ms=([0-9.]+) ]] && CPU[$key]+="${BASH_REMATCH[1]} "
        [[ $detail =~ mta_peak_pss_mb=([0-9.]+) ]] && PSS[$key]+="${BASH_REMATCH[1]} "
    else
        FAILED=1
    fi
    # A fresh instance per round: remove this one, and flush its dirty pages
    # now (sync) so that writeback of this run's data does not slow down the
    # next run, which may be the other MTA.
    [ "$KEEP" = 1 ] || rm -rf "$dir"
    sync
}

median() {   # median FORMAT NUMBER...: of the numbers among the arguments; NA if none
    local fmt=$1; shift
    printf '%s\n' "$@" | grep -E '^[0-9.]+$' | sort -g |
        awk -v fmt="$fmt\n" '{ v[NR] = $1 } END { if (!NR) print "NA"; else printf fmt, (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}
ratio() { awk -v a="$1" -v b="$2" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.2fx\n", a / b }'; }

# med FORMAT KEY ARRAY: median of the per-round values of KEY in the
# associative array named ARRAY, with "*" if it has fewer than ROUNDS.
med() {
    local -n arr=$3
    local -a v
    read -r -a v <<<"${arr[$2]:-}"
    printf '%s%s\n' "$(median "$1" "${v[@]}")" "$([ ${#v[@]} -gt 0 ] && [ ${#v[@]} -lt "$ROUNDS" ] && echo '*')"
}
pct() { awk -v a="${1%\*}" -v b="${2%\*}" 'BEGIN { if (a == "NA" || b == "NA" || b == 0) print "NA"; else printf "%.0f%%\n", 100 * a / b }'; }
size_name() { if [ $(($1 % 1024)) = 0 ]; then echo "$(($1 / 1024)) KB"; else echo "$1 B"; fi; }
cell_name() { printf '%2d sess %6s' "$SESSIONS" "$(size_name "$SIZE")"; }

# --- main -----------------------------------------------------------------
RS="$ROUNDS round$([ "$ROUNDS" = 1 ] || echo s)"
echo "postern vs Postfix: ${BENCHES[*]}; $RS per cell; sides: ${MTAS[*]}$([ "$NOSYNC" = 1 ] && [ -z "${SKIP[postern]:-}" ] && echo ", postern-nosync (sync_method=none)")"
if [ -z "${SKIP[postern]:-}" ]; then
    PVER="$("$BIN/postern" version 2>/dev/null | head -1) ($(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo "no commit"))"
else
    PVER=n/a
fi
FSTYPE=$(df -PT "$WORK" | awk 'NR == 2 { print $2 }')
VERSIONS="$PVER, Postfix $(postconf -dh mail_version 2>/dev/null || echo n/a)"
echo "host: $(nproc) CPUs, $(uname -r), work dir $WORK on $(df -PT "$WORK" | awk 'NR == 2 { print $2 " " $1 }')"
echo "versions: $VERSIONS"
STARTED=$(date -u '+%F %H:%M UTC')
T_START=$SECONDS

# The sides of a benchmark: postern, Postfix and (relay and local)
# postern-nosync; for inbound, postern without and with its SPF, DKIM and
# DMARC checks.
sides() {
    case $1 in
    inbound) [ -z "${SKIP[postern]:-}" ] && echo postern postern-checked ;;
    relay | local)
        echo "${MTAS[@]}"
        [ "$NOSYNC" = 1 ] && [ -z "${SKIP[postern]:-}" ] && echo postern-nosync ;;
    *) echo "${MTAS[@]}" ;;
    esac
}

CELLS=()   # "bench sessions size", in the order run
for bench in "${BENCHES[@]}"; do
    for SESSIONS in $(sessions_for "$bench"); do
        for SIZE in $(sizes_for "$bench"); do
            COUNT=$(count_for "$bench" "$SESSIONS" "$SIZE")
            TIMEOUT=$(timeout_for "$COUNT")
            CELLS+=("$bench $SESSIONS $SIZE")
            echo "== $bench, $SESSIONS sessions, $(size_name "$SIZE") bodies: $COUNT messages per run"
            for ((round = 1; round <= ROUNDS; round++)); do
                for mta in $(sides "$bench"); do
                    if [ -n "${GAVE_UP["$bench $mta"]:-}" ]; then
                        printf '%-7s %s %d/%d %-15s skipped: %s\n' "$bench" "$(cell_name)" "$round" "$ROUNDS" "$mta" "${GAVE_UP["$bench $mta"]}"
                        continue
                    fi
                    run_one "$bench" "$mta" "$round"
                done
            done
        done
    done
done

if [ "${WITH_MAILBOX:-0}" = 1 ]; then
    echo
    run_mailbox
fi
for p in "${PROGRAMS[@]}"; do
    echo
    run_program "$p"
done

# --- the table --------------------------------------------------------------
echo
for cell in "${CELLS[@]}"; do
    read -r bench SESSIONS SIZE <<<"$cell"
    [ "$bench" = inbound ] || continue
    a0=$(med %.1f "$cell postern" ACC) a1=$(med %.1f "$cell postern-checked" ACC)
    c0=$(med %.3f "$cell postern" CPU) c1=$(med %.3f "$cell postern-checked" CPU)
    echo "inbound, $(cell_name): accept $a0 msg/s unchecked, $a1 msg/s with SPF+DKIM+DMARC; accept time checked/unchecked $(ratio "${a0%\*}" "${a1%\*}")"
    echo "inbound, $(cell_name): cpu per msg: unchecked $c0 ms, checked $c1 ms, ratio $(ratio "${c1%\*}" "${c0%\*}")"
done
ROWS=()
for cell in "${CELLS[@]}"; do
    read -r bench SESSIONS SIZE <<<"$cell"
    [ "$bench" = inbound ] && continue
    e0=$(med %.0f "$cell postern" E2E) e1=$(med %.0f "$cell postfix" E2E) en=NA
    [ "$bench" = dkim ] || en=$(med %.0f "$cell postern-nosync" E2E)
    ROWS+=("$bench|$SESSIONS|$(size_name "$SIZE")|$e0|$e1|$(ratio "${e0%\*}" "${e1%\*}")|$(med %.2f "$cell postern" CPU)|$(med %.2f "$cell postfix" CPU)|$(med %.0f "$cell postern" PSS)|$(med %.0f "$cell postfix" PSS)|$en|$(pct "$e0" "$en")")
done
if [ ${#ROWS[@]} -gt 0 ]; then
    echo "postern vs Postfix, $STARTED, $(((SECONDS - T_START + 30) / 60)) min, $(nproc) CPUs, $FSTYPE; $VERSIONS"
    echo "msg/s end to end (accepted and relayed or delivered), durable on both (postern: sync_method=syncfs, its default; Postfix: fsync); medians of $RS (* fewer: runs failed);"
    echo "CPU and peak PSS of the MTA's processes; nosync = postern with sync_method=none, the limit line."
    echo
    {
        echo "bench|conns|size|postern msg/s|Postfix msg/s|ratio|postern CPU ms/msg|Postfix CPU ms/msg|postern PSS MB|Postfix PSS MB|nosync msg/s|durable/nosync"
        echo "-|-|-|-|-|-|-|-|-|-|-|-"
        printf '%s\n' "${ROWS[@]}"
    } | awk -F'|' '
        { n = NR; for (i = 1; i <= NF; i++) { c[NR, i] = $i; if (length($i) > w[i]) w[i] = length($i) } nf = NF }
        END {
            for (r = 1; r <= n; r++) {
                line = "|"
                for (i = 1; i <= nf; i++) {
                    v = c[r, i]
                    if (r == 2) { v = ""; while (length(v) < w[i]) v = v "-"; if (i > 3) v = substr(v, 2) ":" }
                    line = line " " sprintf(i <= 3 ? "%-" w[i] "s" : "%" w[i] "s", v) " |"
                }
                print line
            }
        }'
fi
if [ "${WITH_IDLE:-0}" = 1 ]; then
    echo
    BENCH_BIN=$BIN "$HERE/idle-bench.sh" || FAILED=1
fi
[ "$FAILED" = 0 ] || { say "some runs FAILED (see above)"; exit 1; }
exit 0

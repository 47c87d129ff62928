#!/usr/bin/env bash
# run.sh - postern vs Postfix, side by side in one run (entry point of "make bench")
# =====================================================================
#
# Usage:
#   test/bench/run.sh [-n COUNT] [-r ROUNDS] [-s SESSIONS] [-l SIZE] [local|relay|dkim|inbound|mailbox|idle|all]
#     -n COUNT     messages per run (default 10000)
#     -r ROUNDS    runs per MTA and benchmark (default 3)
#     -s SESSIONS  parallel SMTP sessions of smtp-source (default 10)
#     -l SIZE      message body size in bytes (default 5120)
#     local        accept + deliver to a Maildir   (maildir-bench.sh)
#     relay        accept + relay to smtp-sink     (relay-bench.sh)
#     dkim         relay, each message DKIM-signed twice on the way,
#                  rsa-sha256 (2048) and ed25519-sha256 (relay-bench.sh)
#     inbound      local, postern against itself: without and with the
#                  SPF, DKIM and DMARC checks of port 25, the DNS answered
#                  by a loopback server (benchdns); no Postfix side
#     mailbox      postern's imapd against Debian's Dovecot on copies of
#                  one 10,000-message Maildir (mailbox-bench.sh; -r only)
#     idle         10,000 idle clients held by postscreen, then by smtpd:
#                  the PSS of postern's processes and the greeting latency
#                  of new clients meanwhile (idle-bench.sh, idleconns;
#                  BENCH_IDLE_CONNS sets the count; no Postfix side)
#     all          all six (default)
#
# For each benchmark, round by round, it runs postern and then Postfix
# (postern, postfix, postern, postfix, ...) so that both see the same
# machine state over time, each time against a FRESH instance (new spool,
# new Maildir) that is torn down afterwards. Measurement method: that of
# relay-bench.sh (company yardstick): accept_mps = COUNT / time until
# smtp-source exits, e2e_mps = COUNT / time until the last message arrived
# (sink count, or files in the Maildir's new/).
#
# Output (stdout): one line per run, then one summary line per benchmark
# with the MEDIAN accept and e2e msg/s of each MTA and the ratio
# postern/postfix of the medians. The raw "detail:" lines of the bench
# scripts (CPU, memory, counts) go to stderr, indented.
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
#   BENCH_POSTERN_PORT_BASE  postern sandbox port base; SMTP = base+25 (31000)
#   BENCH_POSTFIX_PORT       Postfix smtpd port (32025)
#   BENCH_SINK_PORT          smtp-sink port for relay and dkim (32026)
#   BENCH_OPENDKIM_PORT      first of the two OpenDKIM milter ports (32027)
#   BENCH_BIN                directory with postern binaries (REPO/bin)
#   BENCH_TMPDIR             where instances live (${TMPDIR:-/tmp}); put it
#                            on the disk you want to measure (not tmpfs)
#   BENCH_TIMEOUT            seconds a run may wait for deliveries
#                            (120 + COUNT/20)
#   BENCH_COUNT, BENCH_ROUNDS, BENCH_SESSIONS, BENCH_SIZE, BENCH_WHICH
#                            defaults for -n, -r, -s, -l and the benchmark
#                            (so "BENCH_COUNT=2000 make bench" works)
#   BENCH_START_TIMEOUT      seconds postern may take to listen (30)
#   BENCH_KEEP=1             keep instance directories and logs
#   BENCH_POSTERN_SET        settings for postern's configuration, as
#                            "name=value name=value" (postern config set),
#                            e.g. "sync_method=syncfs"
#   BENCH_RESULTS=FILE       also append tab-separated results to FILE
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

# Defaults may come from the environment too, for "BENCH_COUNT=2000 make bench".
COUNT=${BENCH_COUNT:-10000}
ROUNDS=${BENCH_ROUNDS:-3}
SESSIONS=${BENCH_SESSIONS:-10}
SIZE=${BENCH_SIZE:-5120}
while getopts "n:r:s:l:h" opt; do
    case $opt in
    n) COUNT=$OPTARG ;;
    r) ROUNDS=$OPTARG ;;
    s) SESSIONS=$OPTARG ;;
    l) SIZE=$OPTARG ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 1 ;;
    esac
done
shift $((OPTIND - 1))
[ $# -le 1 ] || { usage >&2; exit 1; }
case ${1:-${BENCH_WHICH:-all}} in
local) BENCHES=(local) ;;
relay) BENCHES=(relay) ;;
dkim) BENCHES=(dkim) ;;
inbound) BENCHES=(inbound) ;;
mailbox) exec "$HERE/mailbox-bench.sh" -r "$ROUNDS" ;;
idle) exec "$HERE/idle-bench.sh" ;;
all) BENCHES=(local relay dkim inbound) WITH_MAILBOX=1 WITH_IDLE=1 ;;
*) usage >&2; exit 1 ;;
esac

PORT_BASE=${BENCH_POSTERN_PORT_BASE:-31000}
POSTFIX_PORT=${BENCH_POSTFIX_PORT:-32025}
SINK_PORT=${BENCH_SINK_PORT:-32026}
ODK_PORT=${BENCH_OPENDKIM_PORT:-32027}
BIN=${BENCH_BIN:-$ROOT/bin}
TMPBASE=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
TIMEOUT=${BENCH_TIMEOUT:-}
START_TIMEOUT=${BENCH_START_TIMEOUT:-30}
KEEP=${BENCH_KEEP:-0}
RESULTS=${BENCH_RESULTS:-}
NOISY_PCT=${BENCH_NOISY_PCT:-20}

# Long enough for an MTA doing >= 20 msg/s end to end, short enough that
# an MTA that cannot deliver at all (e.g. no relay client yet) does not
# hold the run for long.
TIMEOUT=${TIMEOUT:-$((120 + COUNT / 20))}
for v in COUNT ROUNDS SESSIONS SIZE PORT_BASE POSTFIX_PORT SINK_PORT ODK_PORT TIMEOUT START_TIMEOUT NOISY_PCT; do
    case ${!v} in '' | *[!0-9]* | 0) die "$v must be a positive integer: '${!v}'" ;; esac
done
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
DNS_PID=
start_benchdns() {
    [ -n "$DNS_ADDR" ] && return 0
    (cd "$ROOT" && go build -o "$WORK/benchdns" ./test/bench/benchdns) || return 1
    printf '$ORIGIN example.com.\n@ TXT "v=spf1 ip4:127.0.0.1 -all"\n_dmarc TXT "v=DMARC1; p=reject"\n' >"$WORK/zone"
    mkfifo "$WORK/benchdns.in" || return 1
    "$WORK/benchdns" "$WORK/zone" <"$WORK/benchdns.in" >"$WORK/benchdns.addr" &
    DNS_PID=$!
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
    postern | postern-checked)
        MTA_PORT=$POSTERN_PORT
        port_free "$MTA_PORT" "postern SMTP" BENCH_POSTERN_PORT_BASE
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
        port_free "$MTA_PORT" "Postfix SMTP" BENCH_POSTFIX_PORT
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
    postern | postern-checked)
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
declare -A ACC=() E2E=() CPU=()   # "bench mta" -> space-separated per-round values
FAILED=0

run_one() {
    local bench=$1 mta=$2 round=$3 name dir log out err rc acc e2e pre line detail mlog
    name=$bench-$mta-$round
    dir=$WORK/$name
    log=$WORK/$name.log
    out=$WORK/$name.out
    err=$WORK/$name.err
    mkdir "$dir" || return 1
    if ! start_mta "$mta" "$bench" "$dir" "$log"; then
        printf '%-5s %d/%d %-7s FAILED to start (log tail on stderr; BENCH_KEEP=1 keeps %s)\n' "$bench" "$round" "$ROUNDS" "$mta" "$log"
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

    printf '%-5s %d/%d %-7s accept %8s msg/s  e2e %8s msg/s%s\n' "$bench" "$round" "$ROUNDS" "$mta" "$acc" "$e2e" \
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
        ACC["$bench $mta"]+="$acc " E2E["$bench $mta"]+="$e2e "
        [[ $detail =~ mta_cpu_per_msg_ms=([0-9.]+) ]] && CPU["$bench $mta"]+="${BASH_REMATCH[1]} "
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

# --- main -----------------------------------------------------------------
echo "postern vs Postfix: $COUNT msgs x $ROUNDS rounds, $SESSIONS sessions, $SIZE-byte bodies; benchmarks: ${BENCHES[*]}"
if [ -z "${SKIP[postern]:-}" ]; then
    PVER="$("$BIN/postern" version 2>/dev/null | head -1) ($(git -C "$ROOT" describe --always --dirty 2>/dev/null || echo "no commit"))"
else
    PVER=n/a
fi
echo "host: $(nproc) CPUs, $(uname -r), work dir $WORK on $(df -PT "$WORK" | awk 'NR == 2 { print $2 " " $1 }')"
echo "versions: $PVER, Postfix $(postconf -dh mail_version 2>/dev/null || echo n/a)"

# The sides of a benchmark: postern and Postfix; for inbound, postern
# without and with its SPF, DKIM and DMARC checks, alternating.
sides() {
    if [ "$1" = inbound ]; then
        [ -z "${SKIP[postern]:-}" ] && echo postern postern-checked
    else
        echo "${MTAS[@]}"
    fi
}

for bench in "${BENCHES[@]}"; do
    for ((round = 1; round <= ROUNDS; round++)); do
        for mta in $(sides "$bench"); do
            if [ -n "${GAVE_UP["$bench $mta"]:-}" ]; then
                printf '%-5s %d/%d %-7s skipped: %s\n' "$bench" "$round" "$ROUNDS" "$mta" "${GAVE_UP["$bench $mta"]}"
                continue
            fi
            run_one "$bench" "$mta" "$round"
        done
    done
done

echo
for bench in "${BENCHES[@]}"; do
    if [ "$bench" = inbound ]; then
        # shellcheck disable=SC2086   # space-separated lists on purpose
        a0=$(median %.1f ${ACC["inbound postern"]:-}) a1=$(median %.1f ${ACC["inbound postern-checked"]:-})
        # shellcheck disable=SC2086
        c0=$(median %.3f ${CPU["inbound postern"]:-}) c1=$(median %.3f ${CPU["inbound postern-checked"]:-})
        echo "inbound: accept $a0 msg/s unchecked, $a1 msg/s with SPF+DKIM+DMARC; accept time checked/unchecked $(ratio "$a0" "$a1")"
        echo "inbound: cpu per msg: unchecked $c0 ms, checked $c1 ms, ratio $(ratio "$c1" "$c0")"
        continue
    fi
    declare -A MA=() ME=() MC=()
    summary="$bench:"
    for mta in postern postfix; do
        if [ -n "${SKIP[$mta]:-}" ]; then
            MA[$mta]=NA ME[$mta]=NA MC[$mta]=NA
            summary+=" $mta skipped,"
            continue
        fi
        # shellcheck disable=SC2086   # space-separated list on purpose
        MA[$mta]=$(median %.1f ${ACC["$bench $mta"]:-}) ME[$mta]=$(median %.1f ${E2E["$bench $mta"]:-}) MC[$mta]=$(median %.3f ${CPU["$bench $mta"]:-})
        summary+=" $mta e2e ${ME[$mta]} msg/s (accept ${MA[$mta]}),"
    done
    summary+=" ratio e2e $(ratio "${ME[postern]}" "${ME[postfix]}") accept $(ratio "${MA[postern]}" "${MA[postfix]}")"
    echo "$summary"
    # CPU per message of the MTA's process tree is much less sensitive to a
    # busy machine than msg/s, so it is the number to trust on a noisy host.
    echo "$bench: cpu per msg: postern ${MC[postern]} ms, postfix ${MC[postfix]} ms, ratio $(ratio "${MC[postern]}" "${MC[postfix]}")"
    unset MA ME MC
done
if [ "${WITH_MAILBOX:-0}" = 1 ]; then
    echo
    "$HERE/mailbox-bench.sh" -r "$ROUNDS" || FAILED=1
fi
if [ "${WITH_IDLE:-0}" = 1 ]; then
    echo
    BENCH_BIN=$BIN "$HERE/idle-bench.sh" || FAILED=1
fi
[ "$FAILED" = 0 ] || { say "some runs FAILED (see above)"; exit 1; }
exit 0

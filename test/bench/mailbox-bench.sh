#!/usr/bin/env bash
# mailbox-bench.sh - postern's imapd against Debian's Dovecot on one mailbox
# =====================================================================
#
# Usage:
#   test/bench/mailbox-bench.sh [-n COUNT] [-r ROUNDS]
#     -n COUNT   messages in the mailbox (default 10000)
#     -r ROUNDS  rounds (default 3); each round runs postern, then Dovecot
#
# The mailbox is made once (imapbench gen: a fixed seed, so the same
# bytes every time). Each round gives each server a FRESH copy of it,
# owned by vmail, starts the server, and times with the same client
# (imapbench run), each step in a new session:
#   fetch_first    SELECT INBOX, FETCH 1:* (FLAGS ENVELOPE) on a mailbox
#                  the server has never seen (it builds its index)
#   fetch_again    the same again (what the server keeps)
#   search_header  SELECT INBOX, SEARCH SUBJECT "invoice" (200 matches)
#   search_body    SELECT INBOX, SEARCH BODY "zanzibarquux" (10 matches)
# and the peak summed PSS of the server's process tree during the step
# (postern's: its master and imapd processes, not the MTA's daemons).
# Output: one line per run on stderr, then a table of the medians with
# the ratio Dovecot/postern of the times (above 1: postern is faster).
#
# Dovecot runs as a private instance (its own base_dir, configuration,
# passwd-file and log in the run's directory) on 127.0.0.1:
# BENCH_DOVECOT_PORT (32143). postern runs as a sandbox on port base
# BENCH_POSTERN_PORT_BASE (31000), IMAP on base+143. Both need root
# (the mailbox belongs to vmail); Dovecot needs Debian's dovecot-imapd.
# Only processes this script started are stopped, by PID.
# =====================================================================
set -u

usage() { awk '/^# =====/ { if (++n == 2) exit; next } n == 1 { sub(/^# ?/, ""); print }' "$0"; }
die() { echo "mailbox-bench.sh: $*" >&2; exit 1; }
say() { echo "mailbox-bench.sh: $*" >&2; }

HERE=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
ROOT=$(cd "$HERE/../.." && pwd)
COUNT=${BENCH_MAILBOX_COUNT:-10000}
ROUNDS=${BENCH_ROUNDS:-3}
while getopts "n:r:h" opt; do
    case $opt in
    n) COUNT=$OPTARG ;;
    r) ROUNDS=$OPTARG ;;
    h) usage; exit 0 ;;
    *) usage >&2; exit 1 ;;
    esac
done
BIN=${BENCH_BIN:-$ROOT/bin}
PORT_BASE=${BENCH_POSTERN_PORT_BASE:-31000}
DOVECOT_PORT=${BENCH_DOVECOT_PORT:-32143}
TMPBASE=${BENCH_TMPDIR:-${TMPDIR:-/tmp}}
PASS=benchpw

[ "$(id -u)" = 0 ] || die "needs root (the mailbox belongs to vmail)"
id vmail >/dev/null 2>&1 || useradd --system --user-group --no-create-home --home-dir /nonexistent --shell /usr/sbin/nologin vmail ||
    die "no vmail user"

SERVERS=()
if [ -x "$BIN/imapd" ] && [ -x "$BIN/master" ]; then
    SERVERS+=(postern)
else
    say "postern side SKIPPED: $BIN/imapd or $BIN/master not found (make build)"
fi
if command -v dovecot >/dev/null; then
    SERVERS+=(dovecot)
else
    say "Dovecot side SKIPPED: dovecot not installed (apt-get install dovecot-imapd)"
fi
[ ${#SERVERS[@]} -gt 0 ] || die "nothing to benchmark"

WORK=$(mktemp -d "$TMPBASE/postern-mailbox-bench.XXXXXX") || die "mktemp failed"
chmod 755 "$WORK"
CUR_PID=
cleanup() {
    [ -n "$CUR_PID" ] && stop_server
    [ "${BENCH_KEEP:-0}" = 1 ] && say "kept $WORK" || rm -rf "$WORK"
}
trap cleanup EXIT
trap 'say interrupted; exit 130' INT TERM

(cd "$ROOT" && go build -o "$WORK/imapbench" ./test/bench/imapbench) || die "cannot build imapbench"
say "making a mailbox of $COUNT messages"
"$WORK/imapbench" gen "$WORK/mailbox" "$COUNT" || die "imapbench gen failed"

listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }

# copy_mailbox DEST: a fresh copy of the mailbox, owned by vmail, as a
# delivered one would be.
copy_mailbox() {
    mkdir -p "$(dirname "$1")" && cp -a "$WORK/mailbox" "$1" && chown -R vmail:vmail "$1" && chmod 700 "$1"
}

# start_server SERVER DIR: sets CUR_PID and PORT.
start_server() {
    local server=$1 dir=$2 i
    mkdir -p "$dir" && chmod 755 "$dir"
    case $server in
    dovecot)
        PORT=$DOVECOT_PORT
        copy_mailbox "$dir/Maildir" || return 1
        mkdir -p "$dir/run" "$dir/home" && chown vmail:vmail "$dir/home"
        echo "bench:{PLAIN}$PASS" >"$dir/passwd"
        cat >"$dir/dovecot.conf" <<EOF
base_dir = $dir/run
state_dir = $dir/run/state
protocols = imap
listen = 127.0.0.1
ssl = no
disable_plaintext_auth = no
auth_mechanisms = plain login
first_valid_uid = 100
log_path = $dir/dovecot.log
default_login_user = dovenull
default_internal_user = dovecot
mail_location = maildir:$dir/Maildir
passdb {
  driver = passwd-file
  args = $dir/passwd
}
userdb {
  driver = static
  args = uid=vmail gid=vmail home=$dir/home
}
service imap-login {
  inet_listener imap {
    address = 127.0.0.1
    port = $PORT
  }
  inet_listener imaps {
    port = 0
  }
}
EOF
        setsid dovecot -c "$dir/dovecot.conf" -F >>"$dir/out.log" 2>&1 </dev/null &
        CUR_PID=$!
        ;;
    postern)
        PORT=$((PORT_BASE + 143))
        "$BIN/postern" sandbox "$dir" -port-base "$PORT_BASE" >>"$dir/out.log" 2>&1 || return 1
        printf '%s\n' "$PASS" | "$BIN/postern" -c "$dir/postern.toml" user add bench@example.test >>"$dir/out.log" 2>&1 || return 1
        # Plain LOGIN without TLS, as on Dovecot's side: the client's
        # cost stays the same on both, and neither pays for TLS.
        "$BIN/postern" -c "$dir/postern.toml" config set "login_plaintext_auth=true" >>"$dir/out.log" 2>&1 || return 1
        local maildir
        maildir=$("$BIN/postern" -c "$dir/postern.toml" config show virtual_mailbox_base | sed 's/.*= *"\(.*\)"/\1/')/example.test/bench
        copy_mailbox "$maildir" || return 1
        setsid "$BIN/master" -c "$dir/postern.toml" >>"$dir/out.log" 2>&1 </dev/null &
        CUR_PID=$!
        ;;
    esac
    for ((i = 0; i < 300; i++)); do
        listening "$PORT" && return 0
        kill -0 "$CUR_PID" 2>/dev/null || break
        sleep 0.1
    done
    say "$server did not listen on 127.0.0.1:$PORT"; tail -20 "$dir/out.log" "$dir"/*.log >&2
    return 1
}

stop_server() {
    local i
    kill -TERM "$CUR_PID" 2>/dev/null
    for ((i = 0; i < 300; i++)); do kill -0 "$CUR_PID" 2>/dev/null || break; sleep 0.1; done
    kill -0 "$CUR_PID" 2>/dev/null && kill -KILL -- "-$CUR_PID" 2>/dev/null
    wait "$CUR_PID" 2>/dev/null
    CUR_PID=
}

declare -A RES=() # "server step" -> list of "ms pss"
STEPS=(fetch_first fetch_again search_header search_body)
failed=0
for ((round = 1; round <= ROUNDS; round++)); do
    for server in "${SERVERS[@]}"; do
        dir=$WORK/$server.$round
        if ! start_server "$server" "$dir"; then
            failed=1; [ -n "$CUR_PID" ] && stop_server; continue
        fi
        # Memory: all of Dovecot's tree (every process of it serves IMAP);
        # of postern's, the master and imapd's processes (login, session
        # service, session), not the MTA's daemons beside them.
        match=.
        [ "$server" = postern ] && match='^(master|imapd)$'
        if out=$("$WORK/imapbench" run -addr "127.0.0.1:$PORT" -user "$([ "$server" = postern ] && echo bench@example.test || echo bench)" \
            -pass "$PASS" -tree "$CUR_PID" -match "$match" -count "$COUNT" 2>&1); then
            say "round $round $server: $(echo "$out" | tr '\n' ' ')"
            while read -r s m p; do
                s=${s#step=} m=${m#ms=} p=${p#peak_pss_mb=}
                RES["$server $s"]+="$m $p,"
            done <<<"$out"
        else
            say "round $round $server failed: $out"; failed=1
        fi
        stop_server
        rm -rf "$dir"
    done
done

# median FIELD "a b,c d,...": the median of field FIELD (1 or 2).
median() {
    echo "$2" | tr ',' '\n' | awk -v f="$1" 'NF { print $f }' | sort -g |
        awk '{ v[NR] = $1 } END { if (NR == 0) print "-"; else if (NR % 2) print v[(NR + 1) / 2]; else printf "%.1f\n", (v[NR / 2] + v[NR / 2 + 1]) / 2 }'
}

printf '\n%-14s %12s %12s %8s %16s %16s\n' step "postern ms" "Dovecot ms" ratio "postern PSS MB" "Dovecot PSS MB"
for s in "${STEPS[@]}"; do
    pm=$(median 1 "${RES["postern $s"]:-}") dm=$(median 1 "${RES["dovecot $s"]:-}")
    pp=$(median 2 "${RES["postern $s"]:-}") dp=$(median 2 "${RES["dovecot $s"]:-}")
    ratio=-
    [ "$pm" != - ] && [ "$dm" != - ] && ratio=$(awk -v a="$dm" -v b="$pm" 'BEGIN { if (b > 0) printf "%.2fx", a / b }')
    printf '%-14s %12s %12s %8s %16s %16s\n' "$s" "$pm" "$dm" "$ratio" "$pp" "$dp"
done
exit $failed

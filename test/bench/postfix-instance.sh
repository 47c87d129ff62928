#!/usr/bin/env bash
# postfix-instance.sh - private, throwaway Postfix instance for benchmarks
# =====================================================================
#
# Usage:
#   postfix-instance.sh start DIR MODE PORT [SINKPORT]
#   postfix-instance.sh stop DIR
#
#   DIR       directory that holds EVERYTHING of the instance (created if
#             missing; must be empty or hold a stopped instance of ours):
#               DIR/etc      config_directory (main.cf, master.cf, maps)
#               DIR/spool    queue_directory (pid/master.pid is here)
#               DIR/data     data_directory
#               DIR/mail     virtual_mailbox_base (mode maildir)
#               DIR/maillog  Postfix's log (maillog_file, via postlogd)
#   MODE      maildir  accept mail for example.test and deliver
#                      demo@example.test with virtual(8) into the Maildir
#                      DIR/mail/example.test/demo/ (files land in new/)
#             relay    relay everything from 127.0.0.0/8 to relayhost
#                      [127.0.0.1]:SINKPORT (for relay-bench.sh)
#   PORT      smtpd listens on 127.0.0.1:PORT only
#   SINKPORT  required for MODE relay
#
# Environment (optional):
#   MILTER    a milter for smtpd (and non-SMTP mail), in Postfix's syntax
#             (inet:127.0.0.1:PORT or unix:/path): e.g. the OpenDKIM that
#             run.sh's dkim benchmark starts. A milter that does not
#             answer makes Postfix reply 451 (milter_default_action =
#             tempfail), so a benchmark never counts mail it skipped.
#
# "start" prints the master PID on stdout (everything else goes to stderr)
# and returns once smtpd listens. "stop" returns once the master and all
# of its children are gone; stopping a stopped instance is not an error.
# Must run as root: Postfix's master(8) needs root (it drops privileges
# per service itself).
#
# Nothing under /etc/postfix or /var/spool/postfix is modified or used as
# configuration: see "Why postfix -c works without /etc/postfix/main.cf"
# below. Read-only system files Postfix consults are the binaries, the
# meta_directory files (/etc/postfix/postfix-files, dynamicmaps.cf) and
# /etc/hosts, /etc/passwd.
# =====================================================================
#
# Why postfix -c works without /etc/postfix/main.cf
# -------------------------------------------------
# "postfix -c DIR/etc" exports MAIL_CONFIG=DIR/etc, and every Postfix
# program (postfix-script, postconf, master, and the daemons, which inherit
# MAIL_CONFIG through import_environment) then reads DIR/etc/main.cf and
# never /etc/postfix/main.cf. Postfix only insists that a non-default
# config directory be listed in alternate_config_directories of the DEFAULT
# main.cf when the caller is not root (set-gid postdrop/postqueue guarding
# against untrusted MAIL_CONFIG). We run as root, so no system file needs
# editing and a missing /etc/postfix/main.cf (Debian "No configuration")
# does not matter. Parameters we do not set take Postfix's compiled-in
# defaults (postconf -d), i.e. Debian's build, not anything in /etc.
#
# Durability: nothing here weakens Postfix's normal fsync behaviour
# (cleanup(8) fsyncs each queue file before smtpd answers 250; virtual(8)
# fsyncs each Maildir file before linking it into new/).
set -u

PROG=postfix-instance
die() { echo "$PROG: $*" >&2; exit 1; }
usage() { awk '/^# =====/ { if (++n == 2) exit; next } n == 1 { sub(/^# ?/, ""); print }' "$0"; }

listening() { ss -Hltn "sport = :$1" 2>/dev/null | grep -q .; }
is_port() { case $1 in '' | *[!0-9]*) return 1 ;; esac; [ "$1" -ge 1 ] && [ "$1" -le 65535 ]; }

# The instance's master PID, or nothing. master.pid is written by master
# itself ("%10d\n"), so a stale file after a crash is possible: check /proc.
master_pid() {
    local pid
    read -r pid 2>/dev/null <"$1/spool/pid/master.pid" || return 1
    case $pid in '' | *[!0-9]*) return 1 ;; esac
    [ -d "/proc/$pid" ] || return 1
    # guard against PID reuse after a crash: the process must be a master
    # whose config is ours (MAIL_CONFIG is in its environment)
    tr '\0' '\n' <"/proc/$pid/environ" 2>/dev/null | grep -qxF "MAIL_CONFIG=$1/etc" || return 1
    echo "$pid"
}

# master(8) calls setsid(), so the instance's processes are exactly the
# members of the session whose id is the master PID.
session_alive() { [ -n "$(ps -o pid= -s "$1" 2>/dev/null)" ]; }

cmd_stop() {
    local dir=$1 pid
    [ -f "$dir/etc/main.cf" ] || die "$dir/etc/main.cf not found: not an instance directory"
    pid=$(master_pid "$dir") || return 0   # not running: nothing to do
    # postfix-script stop sends SIGTERM to master, waits up to 5 s and then
    # SIGKILLs the master's process group itself. master forwards SIGTERM
    # to its children, but they may take a moment to exit after it; wait
    # for the whole session so the caller can safely rm -rf DIR.
    postfix -c "$dir/etc" stop >>"$dir/postfix-cmd.log" 2>&1 ||
        echo "$PROG: postfix stop failed, see $dir/postfix-cmd.log" >&2
    for _ in $(seq 300); do
        session_alive "$pid" || return 0
        sleep 0.1
    done
    echo "$PROG: instance $dir (master $pid) still has processes after 30 s:" >&2
    ps -o pid=,comm= -s "$pid" >&2
    return 1
}

write_main_cf() {
    local dir=$1 mode=$2 sinkport=$3 uid gid
    cat >"$dir/etc/main.cf" <<EOF
# Generated by $PROG for a throwaway benchmark instance. Do not edit.
compatibility_level = 3.6

queue_directory = $dir/spool
data_directory = $dir/data
mail_owner = postfix
setgid_group = postdrop

# Self-contained logging: postlogd writes here (Postfix >= 3.4; Debian 12
# ships 3.7), so no syslog daemon is needed. The file must be under one of
# maillog_file_prefixes, which by default only allows /var and /dev/stdout.
maillog_file = $dir/maillog
maillog_file_prefixes = $dir

# Fixed names so nothing depends on this machine's hostname or DNS.
myhostname = postfix-bench.localdomain
mydomain = localdomain
myorigin = \$myhostname
# No local(8) domains: example.test is virtual, everything else is relayed.
mydestination =
local_recipient_maps =
alias_maps =
alias_database =
biff = no

inet_interfaces = 127.0.0.1
inet_protocols = ipv4
mynetworks = 127.0.0.0/8
smtpd_relay_restrictions = permit_mynetworks, reject_unauth_destination

# Concurrency and flow control are deliberately left at Postfix's defaults
# (the fair comparison is "out of the box"). In Postfix 3.7 they are:
#   default_process_limit = 100             (max smtpd/virtual/smtp procs)
#   default_destination_concurrency_limit = 20
#     -> virtual_destination_concurrency_limit = 20: at most 20 parallel
#        virtual(8) deliveries to one domain (example.test)
#     -> smtp_destination_concurrency_limit = 20 to the relayhost
#   initial_destination_concurrency = 5     (slow start up to the limit)
#   default_destination_recipient_limit = 50
#   qmgr_message_active_limit = 20000
#   in_flow_delay = 1s  (smtpd delays a client up to 1 s per message when
#                        the queue manager falls behind: accept is
#                        throttled to delivery speed)
EOF
    if [ -n "${MILTER:-}" ]; then
        cat >>"$dir/etc/main.cf" <<EOF

smtpd_milters = $MILTER
non_smtpd_milters = $MILTER
milter_default_action = tempfail
EOF
    fi
    case $mode in
    maildir)
        # Deliver as an unprivileged user that exists everywhere. virtual(8)
        # refuses uids below virtual_minimum_uid (100); nobody is 65534.
        uid=$(id -u nobody) || die "user nobody not found"
        gid=$(id -g nobody) || die "user nobody has no group"
        cat >>"$dir/etc/main.cf" <<EOF

virtual_mailbox_domains = example.test
virtual_mailbox_base = $dir/mail
# texthash: is read directly, no postmap / .db file needed.
virtual_mailbox_maps = texthash:$dir/etc/vmailbox
virtual_uid_maps = static:$uid
virtual_gid_maps = static:$gid
EOF
        # trailing "/" = Maildir format (without it: mbox file)
        printf 'demo@example.test\texample.test/demo/\n' >"$dir/etc/vmailbox"
        # Pre-create the Maildir owned by the delivery user: virtual(8) would
        # create it on first delivery, but only if it may write to the parent.
        mkdir -p "$dir/mail/example.test/demo/"{tmp,new,cur}
        chown -R "$uid:$gid" "$dir/mail/example.test"
        chmod 700 "$dir/mail/example.test/demo" "$dir/mail/example.test/demo/"{tmp,new,cur}
        chmod 755 "$dir/mail" "$dir/mail/example.test"
        ;;
    relay)
        # [brackets]: connect to this address, no MX lookup
        cat >>"$dir/etc/main.cf" <<EOF

relayhost = [127.0.0.1]:$sinkport
EOF
        ;;
    esac
}

# chroot is "n" for every service: a chrooted service would need copies of
# /etc/hosts, resolv.conf etc. inside the queue directory (Debian's init
# script maintains those for the system instance). Upstream Postfix >= 3.0
# also defaults to no chroot. Otherwise the services and limits are those
# of Debian's stock master.cf; only smtpd is bound to 127.0.0.1:PORT.
write_master_cf() {
    local dir=$1 port=$2
    cat >"$dir/etc/master.cf" <<EOF
# Generated by $PROG. service type private unpriv chroot wakeup maxproc command
127.0.0.1:$port inet  n       -       n       -       -       smtpd
pickup    unix  n       -       n       60      1       pickup
cleanup   unix  n       -       n       -       0       cleanup
qmgr      unix  n       -       n       300     1       qmgr
tlsmgr    unix  -       -       n       1000?   1       tlsmgr
rewrite   unix  -       -       n       -       -       trivial-rewrite
bounce    unix  -       -       n       -       0       bounce
defer     unix  -       -       n       -       0       bounce
trace     unix  -       -       n       -       0       bounce
verify    unix  -       -       n       -       1       verify
flush     unix  n       -       n       1000?   0       flush
proxymap  unix  -       -       n       -       -       proxymap
proxywrite unix -       -       n       -       1       proxymap
smtp      unix  -       -       n       -       -       smtp
relay     unix  -       -       n       -       -       smtp
showq     unix  n       -       n       -       -       showq
error     unix  -       -       n       -       -       error
retry     unix  -       -       n       -       -       error
discard   unix  -       -       n       -       -       discard
local     unix  -       n       n       -       -       local
virtual   unix  -       n       n       -       -       virtual
lmtp      unix  -       -       n       -       -       lmtp
anvil     unix  -       -       n       -       1       anvil
scache    unix  -       -       n       -       1       scache
# required whenever maillog_file is set (postfix check refuses otherwise)
postlog   unix-dgram n  -       n       -       1       postlogd
EOF
}

cmd_start() {
    local dir=$1 mode=$2 port=$3 sinkport=${4:-} pid
    case $mode in
    maildir) [ -z "$sinkport" ] || die "SINKPORT is only for mode relay" ;;
    relay) is_port "$sinkport" || die "mode relay needs SINKPORT (1-65535), got '$sinkport'" ;;
    *) die "MODE must be maildir or relay, got '$mode'" ;;
    esac
    is_port "$port" || die "PORT must be 1-65535, got '$port'"
    [ "$port" != "$sinkport" ] || die "PORT and SINKPORT must differ"
    command -v postfix >/dev/null || die "postfix not found (Debian: apt-get install postfix)"
    listening "$port" && die "port $port is already in use"

    if [ -e "$dir" ]; then
        [ -d "$dir" ] || die "$dir exists and is not a directory"
        if pid=$(master_pid "$dir"); then die "an instance is already running in $dir (master $pid)"; fi
        # A throwaway instance always starts empty: refuse to reuse anything
        # but an empty directory, so no old queue file or maildir entry can
        # leak into a measurement (and we never clobber somebody's data).
        [ -z "$(ls -A "$dir")" ] || die "$dir is not empty; use a fresh directory"
    fi
    mkdir -p "$dir/etc" "$dir/spool" "$dir/data" "$dir/mail" || die "cannot create $dir"
    # The postfix user (smtpd, qmgr, ...) chdirs into DIR/spool and nobody
    # writes into DIR/mail, so DIR must be traversable (mktemp -d makes 700).
    chmod 755 "$dir" "$dir/etc"
    # post-install create-missing only creates missing directories; an
    # existing data_directory must already belong to mail_owner.
    chown postfix "$dir/data" && chmod 700 "$dir/data"
    if ! setpriv --reuid=postfix --regid=postfix --clear-groups test -x "$dir/spool" 2>/dev/null; then
        die "user postfix cannot reach $dir/spool (a parent directory is not world-searchable?)"
    fi
    write_main_cf "$dir" "$mode" "$sinkport"
    write_master_cf "$dir" "$port"

    # "postfix start" runs postfix-script check-fatal first, whose
    # post-install create-missing builds the queue directory tree with the
    # right owners and modes from /etc/postfix/postfix-files (read-only).
    if ! postfix -c "$dir/etc" start >>"$dir/postfix-cmd.log" 2>&1; then
        cat "$dir/postfix-cmd.log" >&2
        [ -f "$dir/maillog" ] && tail -20 "$dir/maillog" >&2
        die "postfix start failed for $dir"
    fi
    # "postfix start" returns after master has initialized (master -w), but
    # be defensive about the listener: smtpd is spawned lazily by master,
    # the listening socket itself belongs to master and exists already.
    for _ in $(seq 100); do
        pid=$(master_pid "$dir") && listening "$port" && { echo "$pid"; return 0; }
        sleep 0.1
    done
    tail -20 "$dir/maillog" >&2 2>/dev/null
    cmd_stop "$dir"
    die "instance in $dir did not come up on 127.0.0.1:$port"
}

[ $# -ge 1 ] || { usage >&2; exit 1; }
case $1 in -h | --help | help) usage; exit 0 ;; esac
[ "$(id -u)" = 0 ] || die "must run as root (Postfix's master needs root)"
op=$1; shift
[ $# -ge 1 ] || { usage >&2; exit 1; }
# Postfix wants absolute paths everywhere (postfix -c rejects relative ones).
DIR=$(realpath -m -- "$1") || die "bad directory '$1'"
shift
case $op in
start)
    if [ $# -lt 2 ] || [ $# -gt 3 ]; then usage >&2; exit 1; fi
    cmd_start "$DIR" "$@" ;;
stop) [ $# -eq 0 ] || { usage >&2; exit 1; }; cmd_stop "$DIR" ;;
*) usage >&2; exit 1 ;;
esac

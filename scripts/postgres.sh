#!/usr/bin/env bash
# A throwaway local PostgreSQL server for the PostgreSQL source/publish tests and for trying them
# by hand: the machine's own PostgreSQL binaries (no docker, no mock), 127.0.0.1 only.
#
#   scripts/postgres.sh start            initdb + start (if not running); waits until it accepts connections
#   scripts/postgres.sh stop             stop it and delete its data (the log is kept as $state/last.log)
#   scripts/postgres.sh status           say whether it runs (exit 0 running, 1 not)
#   scripts/postgres.sh dsn [ROLE]       print the libpq key=value DSN of ROLE (segmenter, the default, or reader)
#   scripts/postgres.sh port             print the TCP port
#   scripts/postgres.sh psql [ARGS...]   run psql as the superuser "postgres" on database segmenter
#                                        (over the unix socket; a later -U/-d in ARGS wins)
#
# What `start` makes (fixed, documented names the tests rely on):
#   database  segmenter, owned by role segmenter
#   role      segmenter  LOGIN, password "segmenter-secret-pw" (SEGMENTER_PG_PASSWORD), owns database
#                        segmenter and its schema public
#   role      reader     LOGIN, password "reader-secret-pw" (SEGMENTER_PG_READER_PASSWORD), may CONNECT
#                        to segmenter and has USAGE on public but no table privileges and no CREATE
#                        anywhere, and nothing at all on schema "locked" (owned by segmenter): for
#                        permission-denied tests (reading segmenter's tables, creating a table in public,
#                        touching locked.* all fail with "permission denied for ...").
#   role      postgres   the superuser, reachable only over the unix socket (trust), for `psql`.
# TCP (127.0.0.1) uses scram-sha-256 password auth for every role; the superuser has no password.
#
#   dsn=$(scripts/postgres.sh dsn)   # host=127.0.0.1 port=N dbname=segmenter user=segmenter password=...
#   duckdb: ATTACH '<dsn>' AS pg (TYPE postgres)
#
# Where things live:
#   state dir  ${SEGMENTER_PG_DIR:-$SEGMENTER_CACHE_DIR/pg} (cache root default ~/.cache/segmenter):
#              files pid, port, run_dir, version, and last.log (the log of the last stopped server).
#   run dir    a fresh mktemp dir ${TMPDIR:-/tmp}/segmenter-pg.XXXXXX holding data/ (the cluster),
#              the unix socket (.s.PGSQL.<port>) and postgres.log; `stop` deletes it. It is not in the
#              state dir because as root the state dir is under /root (mode 0700), which the server's
#              unprivileged user cannot enter, and because a unix socket path must stay under ~100 bytes.
#   The server is tuned for throwaway use: fsync, synchronous_commit and full_page_writes are off.
#
# Root: initdb and postgres refuse to run as root. Run as root (CI, this machine), the script runs
# them as an unprivileged user: SEGMENTER_PG_OS_USER, else "postgres" if it exists, else "nobody";
# the run dir is chowned to it. Run as a normal user, it runs them as that user.
#
# Binaries: SEGMENTER_PG_BINDIR, else /usr/lib/postgresql/15/bin, else the newest
# /usr/lib/postgresql/*/bin, else initdb/pg_ctl/postgres on PATH. If none is found and we are root
# with apt-get, `start` installs Debian's postgresql-15 (quietly, once).
#
# Environment:
#   SEGMENTER_PG_DIR             state dir (see above)
#   SEGMENTER_PG_PORT            TCP port (default: a free one, picked at start and recorded in the state dir)
#   SEGMENTER_PG_START_TIMEOUT   seconds to wait for the server to accept connections (default 60)
#   SEGMENTER_PG_PASSWORD        password of role segmenter (default segmenter-secret-pw)
#   SEGMENTER_PG_READER_PASSWORD password of role reader (default reader-secret-pw)
#   SEGMENTER_PG_OS_USER         OS user that runs the server when we are root
#   SEGMENTER_PG_BINDIR          folder with initdb, pg_ctl, postgres, psql, pg_isready
set -euo pipefail

PASSWORD="${SEGMENTER_PG_PASSWORD:-segmenter-secret-pw}"
READER_PASSWORD="${SEGMENTER_PG_READER_PASSWORD:-reader-secret-pw}"
DB=segmenter

. "$(dirname "$0")/cache-root.sh"
state="${SEGMENTER_PG_DIR:-$cache_root/pg}"

log() { echo "postgres.sh: $*" >&2; }
die() { local code="$1"; shift; log "$*"; exit "$code"; }

# --- binaries and the server's OS user ----------------------------------------------------------

find_bindir() { # sets bindir; returns 1 when there is none
    bindir=""
    local d
    if [ -n "${SEGMENTER_PG_BINDIR:-}" ]; then
        [ -x "$SEGMENTER_PG_BINDIR/initdb" ] || die 1 "SEGMENTER_PG_BINDIR=$SEGMENTER_PG_BINDIR has no initdb"
        bindir="$SEGMENTER_PG_BINDIR"
        return 0
    fi
    if [ -x /usr/lib/postgresql/15/bin/initdb ]; then
        bindir=/usr/lib/postgresql/15/bin
        return 0
    fi
    d="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n1 || true)"
    if [ -n "$d" ] && [ -x "$d/initdb" ]; then
        bindir="$d"
        return 0
    fi
    if command -v initdb >/dev/null && command -v pg_ctl >/dev/null; then
        bindir="$(dirname "$(readlink -f "$(command -v initdb)")")"
        return 0
    fi
    return 1
}

ensure_bindir() {
    find_bindir && return 0
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
        log "no PostgreSQL binaries found: installing Debian's postgresql-15 (once)"
        export DEBIAN_FRONTEND=noninteractive
        { apt-get install -y -q postgresql-15 || { apt-get update -q && apt-get install -y -q postgresql-15; }; } \
            >"${TMPDIR:-/tmp}/segmenter-pg-apt.log" 2>&1 \
            || die 1 "apt-get install postgresql-15 failed (see ${TMPDIR:-/tmp}/segmenter-pg-apt.log)"
        find_bindir && return 0
    fi
    die 1 "no PostgreSQL server binaries (initdb, pg_ctl, postgres) found: install postgresql-15 or set SEGMENTER_PG_BINDIR"
}

# as_server CMD...: run CMD as the server's OS user (ourselves unless we are root).
as_server() {
    if [ "$(id -u)" = 0 ]; then
        if command -v runuser >/dev/null; then
            runuser -u "$os_user" -- "$@"
        else
            setpriv --reuid="$os_user" --regid="$(id -g "$os_user")" --init-groups -- "$@"
        fi
    else
        "$@"
    fi
}

pick_os_user() { # sets os_user
    if [ "$(id -u)" != 0 ]; then
        os_user="$(id -un)"
    elif [ -n "${SEGMENTER_PG_OS_USER:-}" ]; then
        id -u "$SEGMENTER_PG_OS_USER" >/dev/null 2>&1 || die 1 "SEGMENTER_PG_OS_USER=$SEGMENTER_PG_OS_USER is no user here"
        [ "$(id -u "$SEGMENTER_PG_OS_USER")" != 0 ] || die 1 "SEGMENTER_PG_OS_USER must not be root: PostgreSQL refuses to run as root"
        os_user="$SEGMENTER_PG_OS_USER"
    elif id -u postgres >/dev/null 2>&1; then
        os_user=postgres
    elif id -u nobody >/dev/null 2>&1; then
        os_user=nobody
    else
        die 1 "running as root, and there is neither a 'postgres' nor a 'nobody' user to run PostgreSQL as (set SEGMENTER_PG_OS_USER)"
    fi
}

# --- state --------------------------------------------------------------------------------------

read_state() { # sets pid, port, run_dir (empty if absent)
    pid="" port="" run_dir=""
    [ -f "$state/pid" ] && pid="$(cat "$state/pid")"
    [ -f "$state/port" ] && port="$(cat "$state/port")"
    [ -f "$state/run_dir" ] && run_dir="$(cat "$state/run_dir")"
    return 0
}

# True when $1 is a live postmaster of our data dir $2 (guards against a recycled pid).
is_our_server() {
    local p="$1" data="$2"
    [ -n "$p" ] && [ -n "$data" ] && kill -0 "$p" 2>/dev/null || return 1
    tr '\0' ' ' <"/proc/$p/cmdline" 2>/dev/null | grep -qF -- "-D $data " \
        || ps -p "$p" -o args= 2>/dev/null | grep -qF -- "-D $data"
}

# The pid of a postmaster running on data dir $1 (empty if none), whether or not it wrote postmaster.pid yet.
postmaster_of() {
    local data="$1" p=""
    [ -f "$data/postmaster.pid" ] && p="$(head -n1 "$data/postmaster.pid" 2>/dev/null || true)"
    if [ -z "$p" ] || ! is_our_server "$p" "$data"; then
        p="$(ps -eo pid=,args= 2>/dev/null | awk -v d=" -D $data" 'index($0 " ", d " ") { print $1; exit }')"
    fi
    echo "$p"
}

kill_postmaster() { # immediate shutdown of the postmaster on data dir $1, if any
    local data="$1" p
    p="$(postmaster_of "$data")"
    [ -n "$p" ] && is_our_server "$p" "$data" || return 0
    kill -QUIT "$p" 2>/dev/null || true
    for _ in $(seq 1 50); do is_our_server "$p" "$data" || return 0; sleep 0.1; done
    kill -KILL "$p" 2>/dev/null || true
    sleep 0.2
}

running() { read_state; [ -n "$run_dir" ] && [ -n "$port" ] && is_our_server "$pid" "$run_dir/data"; }

ready() { # accepts connections on TCP
    "$bindir/pg_isready" -q -h 127.0.0.1 -p "$port" -d "$DB" -t 2 >/dev/null 2>&1
}

clear_state() { # removes a run dir we made (marker file) and the pointers to it
    local dir=""
    [ -f "$state/run_dir" ] && dir="$(cat "$state/run_dir")"
    if [ -n "$dir" ] && [ -d "$dir" ] && [ -f "$dir/.segmenter-pg" ]; then
        [ -f "$dir/postgres.log" ] && cp "$dir/postgres.log" "$state/last.log" 2>/dev/null || true
        rm -rf "$dir" 2>/dev/null || { sleep 0.5; rm -rf "$dir" || log "could not remove $dir"; }
    fi
    rm -f "$state/pid" "$state/port" "$state/run_dir" "$state/version"
}

# Serialise start/stop so two concurrent callers (parallel CI steps) don't race.
lock() {
    mkdir -p "$state"
    if command -v flock >/dev/null; then
        exec 9>"$state/lock"
        flock -w 300 9 || die 1 "timed out waiting for the lock $state/lock"
    fi
}

port_taken() {
    if command -v ss >/dev/null; then
        ss -Hltn "sport = :$1" 2>/dev/null | grep -q . && return 0
    fi
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

free_port() {
    local p
    if command -v python3 >/dev/null; then
        p="$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()' 2>/dev/null || true)"
        [ -n "$p" ] && { echo "$p"; return 0; }
    fi
    for _ in $(seq 1 200); do
        p=$((20000 + RANDOM % 30000))
        port_taken "$p" || { echo "$p"; return 0; }
    done
    die 1 "found no free TCP port on 127.0.0.1"
}

# --- commands -----------------------------------------------------------------------------------

cmd_start() {
    lock
    ensure_bindir
    if running; then
        if ready; then
            log "already running on 127.0.0.1:$port (pid $pid)"
            return 0
        fi
        die 1 "a server (pid $pid) runs on port $port but does not accept connections: run '$0 stop' first"
    fi
    clear_state # stale state from a server that died or a machine that was restarted
    pick_os_user

    local timeout="${SEGMENTER_PG_START_TIMEOUT:-60}" attempt t0=$SECONDS
    for attempt in 1 2 3; do
        port="${SEGMENTER_PG_PORT:-$(free_port)}"
        [ -n "$port" ] || die 1 "found no free TCP port on 127.0.0.1"
        port_taken "$port" && die 1 "port $port on 127.0.0.1 is already taken by another program"

        run_dir="$(mktemp -d "${TMPDIR:-/tmp}/segmenter-pg.XXXXXX")"
        touch "$run_dir/.segmenter-pg"
        echo "$run_dir" >"$state/run_dir"
        [ "$(id -u)" = 0 ] && chown -R "$os_user:" "$run_dir"
        chmod 0700 "$run_dir"
        local data="$run_dir/data" logf="$run_dir/postgres.log"

        (cd "$run_dir" && as_server "$bindir/initdb" -D "$data" -U postgres --auth-local=trust \
            --auth-host=scram-sha-256 --encoding=UTF8 --locale=C --no-sync) >"$run_dir/initdb.log" 2>&1 \
            || { cat "$run_dir/initdb.log" >&2; clear_state; die 1 "initdb failed (output above)"; }
        cat >>"$data/postgresql.conf" <<EOF

# scripts/postgres.sh: a throwaway test server on loopback only
listen_addresses = '127.0.0.1'
port = $port
unix_socket_directories = '$run_dir'
password_encryption = 'scram-sha-256'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 100
logging_collector = off
log_min_messages = warning
EOF
        # pg_ctl -w waits until the server accepts connections (or -t expires); the server must
        # inherit neither our lock (fd 9) nor our stdout (a caller's $(...) would hang on it).
        if (cd "$run_dir" && as_server "$bindir/pg_ctl" start -D "$data" -l "$logf" -w -t "$timeout" -s) \
            </dev/null >"$run_dir/pg_ctl.log" 2>&1 9>&-; then
            break
        fi
        if [ "$attempt" -lt 3 ] && [ -z "${SEGMENTER_PG_PORT:-}" ] && grep -q "could not bind" "$logf" 2>/dev/null; then
            kill_postmaster "$data"
            clear_state # someone took the port between our pick and the server's bind: pick another
            continue
        fi
        cat "$run_dir/pg_ctl.log" >&2 2>/dev/null || true
        tail -n 30 "$logf" >&2 2>/dev/null || true
        kill_postmaster "$data" # a server that is still starting after $timeout s
        clear_state
        die 1 "PostgreSQL did not start and accept connections on 127.0.0.1:$port within $timeout s (log above)"
    done

    pid="$(head -n1 "$run_dir/data/postmaster.pid")"
    echo "$pid" >"$state/pid"
    echo "$port" >"$state/port"
    while ! ready; do # pg_ctl waited on the socket; wait for TCP too
        [ $((SECONDS - t0)) -lt "$timeout" ] || { cmd_stop_locked; die 1 "PostgreSQL did not accept TCP connections on 127.0.0.1:$port within $timeout s"; }
        sleep 0.2
    done

    local out
    out="$(superuser_psql postgres -v ON_ERROR_STOP=1 -q \
        -v pw="$PASSWORD" -v rpw="$READER_PASSWORD" 2>&1 <<'EOF'
CREATE ROLE segmenter LOGIN PASSWORD :'pw';
CREATE ROLE reader LOGIN PASSWORD :'rpw';
CREATE DATABASE segmenter OWNER segmenter;
\connect segmenter
SET ROLE segmenter;
CREATE SCHEMA locked;
CREATE TABLE locked.secret (id int);
RESET ROLE;
REVOKE ALL ON DATABASE segmenter FROM PUBLIC;
GRANT CONNECT, TEMPORARY ON DATABASE segmenter TO segmenter, reader;
EOF
    )" || { echo "$out" >&2; cmd_stop_locked; die 1 "creating the roles and the database failed (output above)"; }
    "$bindir/postgres" --version | awk '{print $3}' >"$state/version"
    log "PostgreSQL $(cat "$state/version") up on 127.0.0.1:$port in $((SECONDS - t0)) s (pid $pid, run as $os_user, data $run_dir/data)"
}

superuser_psql() { # superuser_psql DBNAME [ARGS...]: psql over the unix socket as postgres
    local db="$1"; shift
    env -u PGSERVICE -u PGSERVICEFILE -u PGPASSWORD -u PGOPTIONS -u PGHOST -u PGHOSTADDR "$bindir/psql" -X -h "$run_dir" -p "$port" -U postgres -d "$db" "$@"
}

cmd_stop_locked() {
    read_state
    local data="${run_dir:+$run_dir/data}"
    [ -n "$data" ] && ! is_our_server "$pid" "$data" && pid="$(postmaster_of "$data")"
    if [ -n "$data" ] && is_our_server "$pid" "$data"; then
        pick_os_user
        find_bindir || true
        if [ -n "$bindir" ]; then
            (cd "$run_dir" && as_server "$bindir/pg_ctl" stop -D "$data" -m fast -w -t 30 -s) >/dev/null 2>&1 || true
        fi
        if is_our_server "$pid" "$data"; then
            kill -QUIT "$pid" 2>/dev/null || true # immediate shutdown
            for _ in $(seq 1 50); do is_our_server "$pid" "$data" || break; sleep 0.1; done
            is_our_server "$pid" "$data" && kill -KILL "$pid" 2>/dev/null || true
        fi
        log "stopped PostgreSQL (pid $pid) and removed $run_dir"
    fi
    clear_state
}

cmd_stop() { lock; cmd_stop_locked; }

need_running() {
    find_bindir || die 1 "no PostgreSQL binaries found"
    running || die 1 "PostgreSQL is not running (scripts/postgres.sh start)"
}

cmd_status() {
    find_bindir || { echo "not running (no PostgreSQL binaries)"; return 1; }
    if running && ready; then
        echo "running: 127.0.0.1:$port pid $pid PostgreSQL $(cat "$state/version" 2>/dev/null) data $run_dir/data"
    else
        echo "not running"
        return 1
    fi
}

cmd_dsn() {
    need_running
    case "${1:-segmenter}" in
        segmenter) echo "host=127.0.0.1 port=$port dbname=$DB user=segmenter password=$PASSWORD" ;;
        reader) echo "host=127.0.0.1 port=$port dbname=$DB user=reader password=$READER_PASSWORD" ;;
        *) die 2 "unknown role '$1' (segmenter or reader)" ;;
    esac
}

cmd_psql() {
    need_running
    superuser_psql "$DB" "$@"
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    dsn) shift; cmd_dsn "$@" ;;
    port) need_running; echo "$port" ;;
    psql) shift; cmd_psql "$@" ;;
    *) echo "usage: $0 start | stop | status | dsn [segmenter|reader] | port | psql [ARGS...]" >&2; exit 2 ;;
esac

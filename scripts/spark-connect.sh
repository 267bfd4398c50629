#!/usr/bin/env bash
# A local Apache Spark Connect server for the Spark engine's tests and for trying it by hand.
#
#   scripts/spark-connect.sh start [--conf k=v ...]   install if needed, start (if not running), print the URL
#   scripts/spark-connect.sh stop                     stop it and remove its temporary folders
#   scripts/spark-connect.sh status                   say whether it runs (exit 0 running, 1 not)
#   scripts/spark-connect.sh url                      print sc://127.0.0.1:PORT of the running one (exit 1 if none)
#   scripts/spark-connect.sh smoke                    run `select 1` through PySpark's own Connect client
#   scripts/spark-connect.sh python                   print the venv's interpreter, with PySpark's Connect client
#
# Spark comes from PyPI's pyspark package (an sdist that pip builds into a ~450 MB wheel and
# caches), installed once into a private venv under $SEGMENTER_CACHE_DIR/spark/venv (default
# ~/.cache/segmenter/spark/venv). Since Spark 4.0 it ships the Connect server's jar
# (jars/spark-connect_2.13-*.jar), so no --packages download (which would need Maven Central) is
# needed; it lacks sbin/start-connect-server.sh, whose one command (spark-daemon.sh submit
# SparkConnectServer) this script runs itself. It needs Java 17 or later (JAVA_HOME, else `java`
# on PATH): without one it exits 3. The server listens on 127.0.0.1 only, with master local[2], an in-memory catalog, no
# web UI, and its warehouse, spark.local.dir and java.io.tmpdir in a temporary folder (under
# $TMPDIR, default /tmp) that `stop` removes. Its log stays in the state dir for a post-mortem.
#
# Environment:
#   SEGMENTER_CACHE_DIR          cache root (default $XDG_CACHE_HOME/segmenter or ~/.cache/segmenter)
#   SEGMENTER_SPARK_STATE_DIR    pid/port/log files (default $SEGMENTER_CACHE_DIR/spark/state)
#   SEGMENTER_PYSPARK_VERSION    PySpark version to install (default below)
#   SEGMENTER_SPARK_PORT         port to listen on (default: a free one)
#   SEGMENTER_SPARK_MASTER       Spark master (default local[2])
#   SEGMENTER_SPARK_START_TIMEOUT seconds to wait for the port (default 120)
#   SEGMENTER_SPARK_DRIVER_MEMORY driver heap (default 2g; local mode runs everything in the driver)
#   PYTHON                       interpreter for the venv (default python3)
set -euo pipefail

PYSPARK_VERSION="${SEGMENTER_PYSPARK_VERSION:-4.2.1}"
SERVER_CLASS="org.apache.spark.sql.connect.service.SparkConnectServer"

. "$(dirname "$0")/cache-root.sh"
spark_root="$cache_root/spark"
venv="$spark_root/venv"
state="${SEGMENTER_SPARK_STATE_DIR:-$spark_root/state}"

log() { echo "spark-connect: $*" >&2; }
die() { local code="$1"; shift; log "$*"; exit "$code"; }

# --- state ------------------------------------------------------------------------------------

read_state() { # sets pid, port, run_dir, log_file from the state dir (empty if absent)
    pid="" port="" run_dir="" log_file=""
    [ -f "$state/pid" ] && pid="$(cat "$state/pid")"
    [ -f "$state/port" ] && port="$(cat "$state/port")"
    [ -f "$state/run_dir" ] && run_dir="$(cat "$state/run_dir")"
    [ -f "$state/log" ] && log_file="$(cat "$state/log")"
    return 0
}

# True when $1 is a live process of our server (guards against a recycled pid).
is_our_server() {
    local p="$1"
    [ -n "$p" ] && kill -0 "$p" 2>/dev/null || return 1
    if [ -r "/proc/$p/cmdline" ]; then
        tr '\0' ' ' <"/proc/$p/cmdline" | grep -q "$SERVER_CLASS"
    else
        ps -p "$p" -o args= 2>/dev/null | grep -q "$SERVER_CLASS"
    fi
}

port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }

running() { read_state; is_our_server "$pid" && [ -n "$port" ] && port_open "$port"; }

clear_state() { # leaves the variables pid, port, ... as they are, for the caller's messages
    local dir=""
    [ -f "$state/run_dir" ] && dir="$(cat "$state/run_dir")"
    if [ -n "$dir" ] && [ -d "$dir" ] && [ -f "$dir/.segmenter-spark" ]; then
        rm -rf "$dir"
    fi
    rm -f "$state/pid" "$state/port" "$state/run_dir" "$state/url" "$state/spark-pids/"*.pid
}

# Serialise start/stop so two concurrent callers (parallel CI steps) don't start two servers.
lock() {
    mkdir -p "$state"
    if command -v flock >/dev/null; then
        exec 9>"$state/lock"
        flock -w 300 9 || die 1 "timed out waiting for the lock $state/lock"
    fi
}

# --- install ----------------------------------------------------------------------------------

find_java() { # sets java_bin and exports JAVA_HOME; exit 3 when there is no usable Java
    java_bin=""
    if [ -n "${JAVA_HOME:-}" ] && [ -x "$JAVA_HOME/bin/java" ]; then
        java_bin="$JAVA_HOME/bin/java"
    elif command -v java >/dev/null; then
        java_bin="$(command -v java)"
    else
        die 3 "no Java found: Spark $PYSPARK_VERSION needs Java 17 or later (set JAVA_HOME or put java on PATH; on Debian: apt-get install openjdk-17-jre-headless)"
    fi
    local version major
    version="$("$java_bin" -version 2>&1 | sed -n 's/.*version "\([^"]*\)".*/\1/p' | head -n1)"
    major="${version%%.*}"
    [ "$major" = 1 ] && major="$(echo "$version" | cut -d. -f2)"
    case "$major" in
        '' | *[!0-9]*) die 3 "cannot read the version of $java_bin ($("$java_bin" -version 2>&1 | head -n1))" ;;
    esac
    [ "$major" -ge 17 ] || die 3 "$java_bin is Java $version; Spark $PYSPARK_VERSION needs Java 17 or later (set JAVA_HOME)"
    if [ -z "${JAVA_HOME:-}" ] || [ ! -x "$JAVA_HOME/bin/java" ]; then
        JAVA_HOME="$(dirname "$(dirname "$(readlink -f "$java_bin")")")"
    fi
    export JAVA_HOME
}

ensure_pyspark() { # sets SPARK_HOME
    local python="${PYTHON:-python3}" have=""
    if [ -x "$venv/bin/python" ]; then
        have="$("$venv/bin/python" -c 'import pyspark; print(pyspark.__version__)' 2>/dev/null || true)"
    fi
    if [ "$have" != "$PYSPARK_VERSION" ]; then
        command -v "$python" >/dev/null || die 1 "no $python to make the venv with (set PYTHON)"
        if [ -e "$venv" ] && ! "$venv/bin/python" -c pass >/dev/null 2>&1; then
            log "removing the broken venv $venv (its interpreter no longer runs)"
            rm -rf "$venv"
        fi
        if [ ! -x "$venv/bin/python" ]; then
            log "creating $venv"
            mkdir -p "$spark_root"
            "$python" -m venv "$venv" || die 1 "cannot create a venv with $python (on Debian: apt-get install python3-venv)"
        fi
        log "installing pyspark==$PYSPARK_VERSION into $venv (about 450 MB, once)"
        local t0=$SECONDS
        "$venv/bin/python" -m pip install --disable-pip-version-check --quiet "pyspark==$PYSPARK_VERSION" \
            || die 1 "pip could not install pyspark==$PYSPARK_VERSION"
        log "installed pyspark==$PYSPARK_VERSION in $((SECONDS - t0)) s"
    fi
    SPARK_HOME="$("$venv/bin/python" -c 'import os, pyspark; print(os.path.dirname(pyspark.__file__))')"
    export SPARK_HOME
    ls "$SPARK_HOME"/jars/spark-connect_*.jar >/dev/null 2>&1 \
        || die 1 "pyspark $PYSPARK_VERSION's wheel has no jars/spark-connect_*.jar: it cannot run a Connect server (use 4.0 or later)"
    [ -f "$SPARK_HOME/sbin/spark-daemon.sh" ] || die 1 "$SPARK_HOME/sbin/spark-daemon.sh is missing"
}

# Spark's own sbin/start-connect-server.sh, which a Spark distribution has but the PySpark wheel
# lacks (it ships sbin/spark-daemon.sh and the jar only): the same two lines.
start_connect_server() {
    if [ -f "$SPARK_HOME/sbin/start-connect-server.sh" ]; then
        bash "$SPARK_HOME/sbin/start-connect-server.sh" "$@"
    else
        export SPARK_CONNECT_MODE=0 # a plain (classic) spark-submit, not a Connect client
        bash "$SPARK_HOME/sbin/spark-daemon.sh" submit "$SERVER_CLASS" 1 --name "Spark Connect server" "$@"
    fi
}

free_port() {
    "$venv/bin/python" -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1]); s.close()'
}

# --- commands ---------------------------------------------------------------------------------

cmd_start() {
    lock
    if running; then
        if [ -n "${SEGMENTER_SPARK_PORT:-}" ] && [ "$SEGMENTER_SPARK_PORT" != "$port" ]; then
            log "already running on port $port (not SEGMENTER_SPARK_PORT=$SEGMENTER_SPARK_PORT): stop it first to move it"
        fi
        echo "sc://127.0.0.1:$port"
        return 0
    fi
    clear_state # stale state from a server that died or a machine that was restarted
    find_java
    ensure_pyspark

    port="${SEGMENTER_SPARK_PORT:-$(free_port)}"
    port_open "$port" && die 1 "port $port on 127.0.0.1 is already taken by another program"
    run_dir="$(mktemp -d "${TMPDIR:-/tmp}/segmenter-spark.XXXXXX")"
    touch "$run_dir/.segmenter-spark"
    mkdir -p "$run_dir/warehouse" "$run_dir/local" "$run_dir/tmp" "$run_dir/conf" "$state/logs" "$state/spark-pids"
    echo "$run_dir" >"$state/run_dir"

    # Private conf, pid and log folders, so nothing of another Spark on the machine is picked up.
    export SPARK_CONF_DIR="$run_dir/conf"
    export SPARK_PID_DIR="$state/spark-pids"
    export SPARK_LOG_DIR="$state/logs"
    export SPARK_IDENT_STRING="segmenter"
    export SPARK_LOCAL_IP=127.0.0.1
    unset SPARK_LOCAL_DIRS # it would override spark.local.dir below
    rm -f "$SPARK_LOG_DIR"/*.out*

    local master="${SEGMENTER_SPARK_MASTER:-local[2]}" t0=$SECONDS
    (
        cd "$run_dir" # anything the server writes to its working folder lands in the run dir
        start_connect_server \
            --master "$master" \
            --conf "spark.connect.grpc.binding.address=127.0.0.1" \
            --conf "spark.connect.grpc.binding.port=$port" \
            --conf "spark.driver.host=127.0.0.1" \
            --conf "spark.driver.bindAddress=127.0.0.1" \
            --conf "spark.ui.enabled=false" \
            --conf "spark.sql.catalogImplementation=in-memory" \
            --conf "spark.sql.warehouse.dir=$run_dir/warehouse" \
            --conf "spark.local.dir=$run_dir/local" \
            --driver-java-options "-Djava.io.tmpdir=$run_dir/tmp" \
            --conf "spark.sql.shuffle.partitions=2" \
            --conf "spark.driver.memory=${SEGMENTER_SPARK_DRIVER_MEMORY:-2g}" \
            "$@" >"$state/launch.out" 2>&1 9>&- # the server must not inherit the lock
    ) || { cat "$state/launch.out" >&2; clear_state; die 1 "launching the Spark Connect server failed"; }

    pid="$(cat "$SPARK_PID_DIR"/*.pid 2>/dev/null | head -n1 || true)"
    log_file="$(find "$SPARK_LOG_DIR" -maxdepth 1 -name '*.out' | head -n1)"
    echo "$pid" >"$state/pid"
    echo "$log_file" >"$state/log"

    local timeout="${SEGMENTER_SPARK_START_TIMEOUT:-120}"
    while ! port_open "$port"; do
        if ! is_our_server "$pid"; then
            show_log_tail "$log_file"
            clear_state
            die 1 "the Spark Connect server exited during start-up (log above: $log_file)"
        fi
        if [ $((SECONDS - t0)) -ge "$timeout" ]; then
            show_log_tail "$log_file"
            stop_pid "$pid"
            clear_state
            die 1 "the Spark Connect server did not listen on 127.0.0.1:$port within $timeout s (log above: $log_file)"
        fi
        sleep 1
    done
    echo "$port" >"$state/port"
    echo "sc://127.0.0.1:$port" >"$state/url"
    log "Spark $PYSPARK_VERSION Connect server pid $pid up in $((SECONDS - t0)) s, log $log_file"
    echo "sc://127.0.0.1:$port"
}

show_log_tail() {
    if [ -n "$1" ] && [ -f "$1" ]; then
        log "last lines of $1:"
        tail -n 60 "$1" >&2
    else
        log "no server log was written; launcher output:"
        cat "$state/launch.out" >&2 2>/dev/null || true
    fi
}

stop_pid() {
    local p="$1"
    is_our_server "$p" || return 0
    kill -TERM "$p" 2>/dev/null || true
    for _ in $(seq 1 30); do
        is_our_server "$p" || return 0
        sleep 1
    done
    log "pid $p did not stop after 30 s; killing it"
    kill -KILL "$p" 2>/dev/null || true
    sleep 1
}

cmd_stop() {
    lock
    read_state
    if is_our_server "$pid"; then
        stop_pid "$pid"
        log "stopped the Spark Connect server (pid $pid)"
    else
        log "no Spark Connect server is running"
    fi
    clear_state
}

cmd_status() {
    if running; then
        echo "running: sc://127.0.0.1:$port pid $pid log $log_file"
    else
        echo "not running"
        return 1
    fi
}

cmd_url() {
    if running; then
        echo "sc://127.0.0.1:$port"
    else
        die 1 "no Spark Connect server is running (scripts/spark-connect.sh start)"
    fi
}

ensure_client() {
    [ -x "$venv/bin/python" ] || die 1 "PySpark is not installed yet (scripts/spark-connect.sh start)"
    # The Python Connect client needs pandas, pyarrow and grpc (the [connect] extra); the server doesn't.
    "$venv/bin/python" -c 'import pandas, pyarrow, grpc, google.rpc, zstandard' >/dev/null 2>&1 \
        || "$venv/bin/python" -m pip install --disable-pip-version-check --quiet "pyspark[connect]==$PYSPARK_VERSION" "pandas<3" >&2
}

cmd_python() {
    ensure_client
    echo "$venv/bin/python"
}

cmd_smoke() {
    running || die 1 "no Spark Connect server is running (scripts/spark-connect.sh start)"
    ensure_client
    "$venv/bin/python" - "sc://127.0.0.1:$port" <<'EOF'
import sys
from pyspark.sql import SparkSession
spark = SparkSession.builder.remote(sys.argv[1]).getOrCreate()
rows = spark.sql("select 1 as one").collect()
assert rows[0].one == 1, rows
print(f"smoke: Spark {spark.version} at {sys.argv[1]} answered {rows}")
spark.stop()
EOF
}

case "${1:-}" in
    start) shift; cmd_start "$@" ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    url) cmd_url ;;
    smoke) cmd_smoke ;;
    python) cmd_python ;;
    *) echo "usage: $0 start [--conf k=v ...] | stop | status | url | smoke | python" >&2; exit 2 ;;
esac

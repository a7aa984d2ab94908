#!/usr/bin/env bash
# Run a throw-away Label Studio on 127.0.0.1 for annover's integration tests.
#
# Usage:
#   .ci/labelstudio.sh install            venv with label-studio==$LS_VERSION in the cache
#   .ci/labelstudio.sh prepare            prepared (migrated) data dir with two users, cached
#   .ci/labelstudio.sh start [ENV_FILE]   copy of the prepared dir + server; writes ENV_FILE
#   .ci/labelstudio.sh stop  [ENV_FILE]   kill that server, remove its temp dir and ENV_FILE
#                                         (no-op when ENV_FILE does not exist)
#   .ci/labelstudio.sh env   [ENV_FILE]   print ENV_FILE (after start)
#
#   ENV_FILE defaults to .ci/ls.env next to this script; use it with `. .ci/ls.env`.
#   It exports LABEL_STUDIO_URL, LABEL_STUDIO_API_KEY (admin@example.com),
#   LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT (where the server serves local files from),
#   ANNOVER_TEST_LS_ANNOTATOR2_KEY (annotator2@example.com), ANNOVER_TEST_LS_PID,
#   ANNOVER_TEST_LS_DIR (temp dir), ANNOVER_TEST_LS_LOG (server log).
#
# Environment:
#   ANNOVER_CI_CACHE       cache dir (default: $HOME/.cache/annover-ci). Everything this
#                          script writes, except ENV_FILE, lives below it.
#   ANNOVER_CI_PYTHON      interpreter for the venv (default: python3.11, else python3)
#   ANNOVER_CI_LS_RUNS     where each server's copy of the data dir goes (default: $CACHE/runs);
#                          .ci/run points it at a folder in memory (its SQLite commits sync)
#   ANNOVER_CI_LS_TIMEOUT  seconds to wait for /health (default: 120)
#   ANNOVER_CI_LS_PORT     preferred port (default: any free port)
#   ANNOVER_CI_LS_DOCUMENT_ROOT
#                          folder the server may serve local files from (Label Studio's
#                          local storage; default: the system temp dir, where tests put
#                          their data). Files are served only to logged-in users and only
#                          below a local storage a project connected.
#
# Only needs bash, coreutils and Python >= 3.10 with venv; label-studio comes from PyPI
# (or whatever index pip is configured with). The server binds 127.0.0.1 only and runs
# with every outbound call turned off. Test credentials below are fixed and not secret.
set -euo pipefail

LS_VERSION=1.23.2
ADMIN_EMAIL=admin@example.com
ADMIN_PASSWORD=annover-ci-admin-password
ADMIN_TOKEN=annovercitestadmintoken00000000000000001      # 40 chars, DRF Token max
ANNOTATOR2_EMAIL=annotator2@example.com
ANNOTATOR2_PASSWORD=annover-ci-annotator2-password
ANNOTATOR2_TOKEN=annovercitestannotator2token000000000002 # 40 chars
PREPARE_FORMAT=1   # bump when the prepare recipe changes (invalidates cached data dirs)

SCRIPT_DIR="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CACHE="${ANNOVER_CI_CACHE:-$HOME/.cache/annover-ci}"
VENV="$CACHE/ls-venv"
RUNS="${ANNOVER_CI_LS_RUNS:-$CACHE/runs}"
TIMEOUT="${ANNOVER_CI_LS_TIMEOUT:-120}"
DOCUMENT_ROOT="${ANNOVER_CI_LS_DOCUMENT_ROOT:-${TMPDIR:-/tmp}}"
DEFAULT_ENV_FILE="$SCRIPT_DIR/ls.env"

log() { printf '[labelstudio.sh] %s\n' "$*" >&2; }
die() { log "ERROR: $*"; exit 1; }

pick_python() {
    if [ -n "${ANNOVER_CI_PYTHON:-}" ]; then echo "$ANNOVER_CI_PYTHON"; return; fi
    local p
    for p in python3.11 python3.12 python3.13 python3.10 python3; do
        if command -v "$p" >/dev/null 2>&1 &&
            "$p" -c 'import sys, venv; sys.exit(not ((3, 10) <= sys.version_info[:2] < (3, 14)))' 2>/dev/null; then
            echo "$p"; return
        fi
    done
    die "no Python 3.10-3.13 with venv found (set ANNOVER_CI_PYTHON)"
}

# Serialise install/prepare between concurrent callers (flock when available).
with_lock() {
    mkdir -p "$CACHE"
    if command -v flock >/dev/null 2>&1; then
        ( flock 9; "$@" ) 9>"$CACHE/.lock"
    else
        "$@"
    fi
}

venv_ls_version() {
    [ -x "$VENV/bin/python" ] && [ -x "$VENV/bin/label-studio" ] || return 1
    "$VENV/bin/python" -c 'import importlib.metadata as m; print(m.version("label-studio"))' 2>/dev/null
}

venv_ok() {
    local v
    v="$(venv_ls_version)" || return 1
    [ "$v" = "$LS_VERSION" ] || return 1
    [ -f "$VENV/.annover-ok-$LS_VERSION" ] && return 0
    # A venv made by someone else: adopt it when its dependencies are consistent.
    "$VENV/bin/python" -m pip check >/dev/null 2>&1 || return 1
    touch "$VENV/.annover-ok-$LS_VERSION"
}

do_install() {
    if venv_ok; then
        log "label-studio $LS_VERSION present in $VENV"
        return 0
    fi
    local py
    py="$(pick_python)"
    log "creating $VENV with $py and installing label-studio==$LS_VERSION (about 2 min, 1 GB)"
    rm -rf "$VENV"
    mkdir -p "$CACHE"
    "$py" -m venv "$VENV"
    local ilog="$CACHE/ls-install.log"
    if ! "$VENV/bin/python" -m pip install --disable-pip-version-check "label-studio==$LS_VERSION" >"$ilog" 2>&1; then
        tail -n 30 "$ilog" >&2
        rm -rf "$VENV"
        die "pip install label-studio==$LS_VERSION failed (log: $ilog)"
    fi
    [ "$(venv_ls_version)" = "$LS_VERSION" ] || die "label-studio version mismatch after install"
    touch "$VENV/.annover-ok-$LS_VERSION"
    log "installed label-studio $LS_VERSION"
}

prepared_dir() {
    local key
    key="$(printf '%s\n' "$PREPARE_FORMAT" "$ADMIN_EMAIL" "$ADMIN_PASSWORD" "$ADMIN_TOKEN" \
        "$ANNOTATOR2_EMAIL" "$ANNOTATOR2_PASSWORD" "$ANNOTATOR2_TOKEN" |
        "$VENV/bin/python" -c 'import hashlib,sys; print(hashlib.sha256(sys.stdin.buffer.read()).hexdigest()[:12])')"
    echo "$CACHE/prepared-ls-$LS_VERSION-$key"
}

# Run a command with a clean environment: nothing inherited except PATH and locale basics;
# every label-studio location points below $1; outbound calls off.
# HOST/PORT/USERNAME/PASSWORD/USER_TOKEN/DEBUG (and LABEL_STUDIO_*/HEARTEX_* variants) are
# therefore unset.
clean_env() {
    local root="$1"
    mkdir -p "$root/home" "$root/tmp" "$root/xdg/config" "$root/xdg/cache" "$root/xdg/data" "$root/data"
    CLEAN_ENV=(
        PATH="$VENV/bin:/usr/local/bin:/usr/bin:/bin"
        HOME="$root/home" TMPDIR="$root/tmp" LANG=C.UTF-8 LC_ALL=C.UTF-8
        XDG_CONFIG_HOME="$root/xdg/config" XDG_CACHE_HOME="$root/xdg/cache" XDG_DATA_HOME="$root/xdg/data"
        LABEL_STUDIO_BASE_DATA_DIR="$root/data"
        LABEL_STUDIO_LATEST_VERSION_CHECK=false
        LABEL_STUDIO_COLLECT_ANALYTICS=false
        LABEL_STUDIO_SENTRY_DSN=
        LABEL_STUDIO_FRONTEND_SENTRY_DSN=
        LABEL_STUDIO_CONVERTER_DOWNLOAD_RESOURCES=false
        LABEL_STUDIO_FEATURE_FLAGS_OFFLINE=true
        PYTHONUNBUFFERED=1
    )
}

run_clean() {
    clean_env "$1"; shift
    env -i "${CLEAN_ENV[@]}" "$@"
}

do_prepare_locked() {
    do_install
    local dst
    dst="$(prepared_dir)"
    if [ -f "$dst/.annover-prepared" ]; then
        log "prepared data dir present: $dst"
        return 0
    fi
    local build="$dst.build.$$"
    rm -rf "$dst".build.*   # left by an interrupted prepare (we hold the lock)
    mkdir -p "$build"
    local plog="$CACHE/prepare.log"
    log "building prepared data dir (database migrations: about 1-2 min)"
    if ! run_clean "$build" label-studio init -q --no-browser --data-dir "$build/data" \
            --username "$ADMIN_EMAIL" --password "$ADMIN_PASSWORD" \
            --user-token "$ADMIN_TOKEN" --enable-legacy-api-token >"$plog" 2>&1 ||
       ! run_clean "$build" label-studio init -q --no-browser --data-dir "$build/data" \
            --username "$ANNOTATOR2_EMAIL" --password "$ANNOTATOR2_PASSWORD" \
            --user-token "$ANNOTATOR2_TOKEN" >>"$plog" 2>&1; then
        tail -n 40 "$plog" >&2
        rm -rf "$build"
        die "label-studio init failed (log: $plog)"
    fi
    [ -f "$build/data/label_studio.sqlite3" ] || { rm -rf "$build"; die "no database after init (log: $plog)"; }
    # Keep only the data dir; home/xdg/tmp of the build are recreated per run.
    mkdir -p "$build/prepared"
    mv "$build/data" "$build/prepared/data"
    printf 'label-studio %s\nformat %s\n' "$LS_VERSION" "$PREPARE_FORMAT" >"$build/prepared/.annover-prepared"
    rm -rf "$dst"
    mv "$build/prepared" "$dst"
    rm -rf "$build"
    log "prepared data dir: $dst"
}

do_prepare() { with_lock do_prepare_locked; }

env_file_arg() { echo "${1:-$DEFAULT_ENV_FILE}"; }

# True when PID is a live label-studio whose data dir is DIR/data (guards against PID reuse).
is_our_server() {
    local pid="$1" dir="$2"
    [ -n "$pid" ] || return 1
    if [ -d /proc/self ]; then
        [ -r "/proc/$pid/environ" ] || return 1
        { tr '\0' '\n' <"/proc/$pid/environ"; } 2>/dev/null | grep -qxF "LABEL_STUDIO_BASE_DATA_DIR=$dir/data"
    else  # no procfs (macOS): match the command line instead
        ps -p "$pid" -o command= 2>/dev/null | grep -qF -- "--data-dir $dir/data"
    fi
}

kill_server() {
    local pid="$1" dir="$2" i
    is_our_server "$pid" "$dir" || return 0
    # started with setsid: PID is its own process group leader
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for i in $(seq 1 50); do
        is_our_server "$pid" "$dir" || return 0
        sleep 0.2
    done
    kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    sleep 0.2
}

remove_run_dir() {
    local dir="$1"
    case "$dir" in
        "$RUNS"/ls.*) rm -rf "$dir" ;;
        *) log "not removing $dir (not below $RUNS)" ;;
    esac
}

# Remove run dirs older than 12 h whose server is gone (jobs that never ran `stop`).
prune_runs() {
    [ -d "$RUNS" ] || return 0
    local d
    for d in $(find "$RUNS" -mindepth 1 -maxdepth 1 -name 'ls.*' -type d -mmin +720 2>/dev/null); do
        is_our_server "$(cat "$d/pid" 2>/dev/null || true)" "$d" || remove_run_dir "$d"
    done
}

do_start() {
    local envfile
    envfile="$(env_file_arg "${1:-}")"
    do_prepare
    prune_runs
    local src
    src="$(prepared_dir)"
    mkdir -p "$RUNS"
    local dir
    dir="$(mktemp -d "$RUNS/ls.XXXXXXXX")"
    cp -a "$src/data" "$dir/data"
    local lsl="$dir/server.log"

    # A free port from the kernel (or ANNOVER_CI_LS_PORT when it is free).
    local port
    port="$("$VENV/bin/python" - "${ANNOVER_CI_LS_PORT:-0}" <<'PY'
import socket, sys
want = int(sys.argv[1])
for p in ([want] if want else []) + [0]:
    s = socket.socket()
    try:
        s.bind(("127.0.0.1", p))
    except OSError:
        print(f"port {p} is busy, picking another", file=sys.stderr)
        continue
    free = s.getsockname()[1]
    s.close()
    print(free)
    break
PY
    )"

    # env -> python -> label-studio all exec in place, so $! is the server's PID and,
    # after setsid, its process group.
    local docroot
    docroot="$(cd "$DOCUMENT_ROOT" 2>/dev/null && pwd -P)" || die "document root $DOCUMENT_ROOT is not a folder"
    # SQLite transactions that queue for the write lock (see ls_sqlite.py)
    mkdir -p "$dir/site"
    cp "$SCRIPT_DIR/ls_sqlite.py" "$dir/site/sitecustomize.py"
    clean_env "$dir"
    env -i "${CLEAN_ENV[@]}" \
        PYTHONPATH="$dir/site" \
        LABEL_STUDIO_LOCAL_FILES_SERVING_ENABLED=true \
        LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT="$docroot" \
        "$VENV/bin/python" -c 'import os, sys; os.setsid(); os.execvp(sys.argv[1], sys.argv[1:])' \
        label-studio start --no-browser --internal-host 127.0.0.1 --port "$port" \
        --data-dir "$dir/data" >"$lsl" 2>&1 </dev/null &
    local pid=$!
    echo "$pid" >"$dir/pid"
    trap 'kill_server "$pid" "$dir"; remove_run_dir "$dir"; exit 130' INT TERM

    # Wait for /health; label-studio moves to the next port if ours got taken meanwhile,
    # so follow its "Trying to start at N" message. Prints the real port.
    local real_port
    if ! real_port="$("$VENV/bin/python" - "$pid" "$port" "$lsl" "$TIMEOUT" <<'PY'
import json, os, re, sys, time, urllib.request
pid, port, logf, timeout = int(sys.argv[1]), int(sys.argv[2]), sys.argv[3], float(sys.argv[4])
deadline = time.monotonic() + timeout
while time.monotonic() < deadline:
    try:
        os.kill(pid, 0)
        if os.path.isdir("/proc/self"):  # an exited child of a gone parent stays a zombie
            with open(f"/proc/{pid}/stat") as f:
                if f.read().rsplit(")", 1)[1].split()[0] == "Z":
                    raise ProcessLookupError
    except (ProcessLookupError, FileNotFoundError):
        sys.exit("label-studio exited")
    try:
        with open(logf, errors="replace") as f:
            text = f.read()
        # Django prints the port it really binds; label-studio's own notice when it moves on
        seen = re.findall(r"Starting development server at http://[^/\s]*:(\d+)/", text) or \
            re.findall(r"Trying to start at (\d+)", text)
        if seen:
            port = int(seen[-1])
    except FileNotFoundError:
        pass
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}/health", timeout=2) as r:
            if json.loads(r.read().decode()) == {"status": "UP"}:
                print(port)
                sys.exit(0)
    except Exception:
        pass
    time.sleep(0.3)
sys.exit(f"no /health UP within {timeout:.0f} s")
PY
    )"; then
        log "label-studio did not come up; last lines of $lsl:"
        tail -n 40 "$lsl" >&2 || true
        kill_server "$pid" "$dir"
        wait "$pid" 2>/dev/null || true
        remove_run_dir "$dir"
        exit 1
    fi
    [ "$real_port" = "$port" ] || log "port $port was taken; label-studio serves on $real_port"

    mkdir -p "$(dirname "$envfile")"
    local tmpenv="$envfile.tmp.$$"
    {
        printf 'export LABEL_STUDIO_URL=%q\n' "http://127.0.0.1:$real_port"
        printf 'export LABEL_STUDIO_API_KEY=%q\n' "$ADMIN_TOKEN"
        printf 'export LABEL_STUDIO_LOCAL_FILES_DOCUMENT_ROOT=%q\n' "$docroot"
        printf 'export ANNOVER_TEST_LS_ANNOTATOR2_KEY=%q\n' "$ANNOTATOR2_TOKEN"
        printf 'export ANNOVER_TEST_LS_ANNOTATOR2_EMAIL=%q\n' "$ANNOTATOR2_EMAIL"
        printf 'export ANNOVER_TEST_LS_PID=%q\n' "$pid"
        printf 'export ANNOVER_TEST_LS_DIR=%q\n' "$dir"
        printf 'export ANNOVER_TEST_LS_LOG=%q\n' "$lsl"
    } >"$tmpenv"
    mv "$tmpenv" "$envfile"
    trap - INT TERM
    log "label-studio $LS_VERSION up at http://127.0.0.1:$real_port (pid $pid, dir $dir)"
    echo "$envfile"
}

read_env_file() {
    local envfile="$1"
    [ -f "$envfile" ] || die "no env file $envfile (was the server started?)"
    ANNOVER_TEST_LS_PID="$(sed -n "s/^export ANNOVER_TEST_LS_PID=//p" "$envfile")"
    ANNOVER_TEST_LS_DIR="$(sed -n "s/^export ANNOVER_TEST_LS_DIR=//p" "$envfile")"
    # values were written with printf %q; undo that quoting safely
    ANNOVER_TEST_LS_DIR="$(eval "printf '%s' $ANNOVER_TEST_LS_DIR")"
}

do_stop() {
    local envfile
    envfile="$(env_file_arg "${1:-}")"
    if [ ! -f "$envfile" ]; then
        log "no env file $envfile: nothing to stop"
        return 0
    fi
    read_env_file "$envfile"
    local pid="$ANNOVER_TEST_LS_PID" dir="$ANNOVER_TEST_LS_DIR"
    case "$pid" in ''|*[!0-9]*) die "bad ANNOVER_TEST_LS_PID in $envfile" ;; esac
    if is_our_server "$pid" "$dir"; then
        kill_server "$pid" "$dir"
        log "stopped label-studio pid $pid"
    else
        log "pid $pid is not a label-studio started from $dir (already stopped?)"
    fi
    remove_run_dir "$dir"
    rm -f "$envfile"
}

usage() { sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | grep -v '^set -euo' | sed 's/^# \{0,1\}//'; }

cmd="${1:-}"
[ $# -gt 0 ] && shift
case "$cmd" in
    install) with_lock do_install ;;
    prepare) do_prepare ;;
    start) do_start "$@" ;;
    stop) do_stop "$@" ;;
    env) cat "$(env_file_arg "${1:-}")" ;;
    -h|--help|help) usage ;;
    *) usage >&2; exit 2 ;;
esac

# shellcheck shell=bash
# shellcheck disable=SC2034 # STACK_* variables are read by the sourcing scripts
# Local stack for mercado: PostgreSQL + moto (local AWS APIs, in memory, or kept
# in a state file across restarts with --durable: scripts/lib/moto_durable.py).
#
# Sourced by scripts/dev and scripts/test, never executed. Usage:
#
#   source scripts/lib/stack.sh
#   stack_traps                 # stop what we start on EXIT/INT/TERM/HUP
#   stack_install_tools         # moto (venv), checks cargo
#   stack_postgres              # reuse 127.0.0.1:5432 or start a private cluster
#   stack_database mercado_dev  # create if missing, export DATABASE_URL
#   stack_moto 4566             # reuse a running moto on 4566 or start one
#   stack_moto 4566 --durable DIR   # same, but a started one keeps its data in DIR
#   ...
#   stack_stop                  # idempotent; also run by the traps
#
# Exported variables:
#   MERCADO_STATE_DIR     state dir (default ~/.cache/mercado): venv, logs, pg,
#                         durable moto state (scripts/dev: dev-aws/)
#   CARGO_TARGET_DIR      default ~/.cache/mercado-target (builds survive clones)
#   MERCADO_PG_ADMIN_URL  postgres://…/postgres of the server in use
#   DATABASE_URL          set by stack_database
#   AWS_ENDPOINT_URL AWS_REGION AWS_DEFAULT_REGION AWS_ACCESS_KEY_ID
#   AWS_SECRET_ACCESS_KEY MERCADO_QUEUE_URL MERCADO_IMAGE_QUEUE_URL   set by stack_moto
#
# Shell variables for callers (not exported):
#   STACK_ROOT            repository root
#   STACK_MOTO_BIN        moto_server used (in-memory moto)
#   STACK_MOTO_PYTHON     python of the venv with moto $STACK_MOTO_VERSION, which
#                         runs moto_durable.py (--durable)
#   STACK_MOTO_STARTED    1 if stack_moto started moto and its state is empty:
#                         in-memory, or durable with no state file restored
#   STACK_PG_STARTED      1 if stack_postgres started the private cluster
#   STACK_PG_BASE_URL     postgres://user@host:port (no database)
#
# Inputs: MERCADO_PG_URL (default postgres://postgres@127.0.0.1:5432),
#         MERCADO_PG_PRIVATE_PORT (default 55432).

set -euo pipefail

STACK_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
export MERCADO_STATE_DIR="${MERCADO_STATE_DIR:-$HOME/.cache/mercado}"
export CARGO_TARGET_DIR="${CARGO_TARGET_DIR:-$HOME/.cache/mercado-target}"

STACK_MOTO_VERSION="5.2.5"
STACK_MOTO_BIN="${STACK_MOTO_BIN:-}"
STACK_MOTO_PYTHON="${STACK_MOTO_PYTHON:-}"
STACK_MOTO_STARTED=0
STACK_PG_STARTED=0
STACK_PG_BASE_URL=""

# Private state of this file.
_STACK_MOTO_PID=""
_STACK_MOTO_PIDFILE=""
_STACK_MOTO_PORT=""
_STACK_MOTO_STATE="" # state file of the durable moto this shell started
_STACK_PG_DATA=""
_STACK_PG_BIN=""
_STACK_PG_OSUSER=""
_STACK_PIDS=()
_STACK_APT_UPDATED=0

stack_log() { printf '[stack] %s\n' "$*" >&2; }
stack_die() {
    printf '[stack] ERROR: %s\n' "$*" >&2
    exit 1
}

stack_is_root() { [[ "$(id -u)" -eq 0 ]]; }

# apt-get install, running `apt-get update` once first: on a fresh machine the
# package lists are empty and installs fail without it.
stack_apt_install() {
    stack_is_root || stack_die "need root to run: apt-get install -y $*  (install it yourself and re-run)"
    export DEBIAN_FRONTEND=noninteractive
    if [[ "$_STACK_APT_UPDATED" -eq 0 ]]; then
        stack_log "apt-get update"
        apt-get update -qq
        _STACK_APT_UPDATED=1
    fi
    stack_log "apt-get install -y $*"
    apt-get install -y -qq "$@" </dev/null
}

# Is PID alive? A zombie (exited child not yet reaped) counts as dead, so that
# waiting on our own children does not spin until the timeout.
_stack_alive() {
    local pid=$1 stat
    [[ -r "/proc/$pid/stat" ]] || return 1
    stat=$(<"/proc/$pid/stat") || return 1
    stat=${stat##*) }      # fields after "(comm) "; comm may contain spaces
    [[ "${stat%% *}" != "Z" ]]
}

# Send TERM to a process group (or the process alone if it leads none), wait up
# to $2 seconds, then KILL.
_stack_kill() {
    local pid=$1 timeout=${2:-10} i
    _stack_alive "$pid" || { wait "$pid" 2>/dev/null || true; return 0; }
    kill -TERM -- "-$pid" 2>/dev/null || kill -TERM "$pid" 2>/dev/null || true
    for ((i = 0; i < timeout * 10; i++)); do
        _stack_alive "$pid" || break
        sleep 0.1
    done
    if _stack_alive "$pid"; then
        stack_log "pid $pid ignored SIGTERM for ${timeout}s; sending SIGKILL"
        kill -KILL -- "-$pid" 2>/dev/null || kill -KILL "$pid" 2>/dev/null || true
    fi
    wait "$pid" 2>/dev/null || true # reap it if it is our child
}

# Remember a background process so stack_stop ends it (e.g. `mercado serve &`).
stack_track_pid() { _STACK_PIDS+=("$1"); }

# stack_run CMD...: run CMD to completion and return its status, but in its own
# process group, tracked, and waited for in the background. Why: bash runs a
# trap only after the foreground command ends, so a SIGTERM sent to the script
# during a 10-minute `cargo test` would otherwise wait for it; this way the
# trap fires at once and stack_stop ends CMD's whole group (cargo, rustc, test
# binaries). Ctrl-C reaches the script's trap, which does the same.
# CMD's stdin is /dev/null (bash does that for background commands).
stack_run() {
    local pid rc=0 p keep=()
    setsid "$@" &
    pid=$!
    stack_track_pid "$pid"
    wait "$pid" || rc=$?
    # Done: forget it, since PIDs get reused.
    for p in "${_STACK_PIDS[@]}"; do
        [[ "$p" == "$pid" ]] || keep+=("$p")
    done
    _STACK_PIDS=("${keep[@]}")
    return "$rc"
}

# Is something accepting TCP connections on 127.0.0.1:PORT?
stack_port_in_use() {
    (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Print a free TCP port on 127.0.0.1 (the kernel picks it; there is a small
# race until the caller binds it, acceptable for local tooling).
stack_free_port() {
    local port i
    if port=$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])' 2>/dev/null); then
        printf '%s\n' "$port"
        return 0
    fi
    for ((i = 0; i < 100; i++)); do
        port=$((20000 + RANDOM % 40000))
        if ! stack_port_in_use "$port"; then
            printf '%s\n' "$port"
            return 0
        fi
    done
    stack_die "no free TCP port found"
}

# ---------------------------------------------------------------------------
# Tools
# ---------------------------------------------------------------------------

stack_install_tools() {
    mkdir -p "$MERCADO_STATE_DIR"

    if ! command -v cargo >/dev/null 2>&1 && [[ -x "$HOME/.cargo/bin/cargo" ]]; then
        export PATH="$HOME/.cargo/bin:$PATH"
    fi
    command -v cargo >/dev/null 2>&1 || stack_die "cargo not found: install the Rust toolchain (rustup) first"

    _stack_ensure_moto
    stack_log "moto_server: $STACK_MOTO_BIN"
}

_stack_ensure_moto() {
    [[ -n "$STACK_MOTO_BIN" ]] && return 0
    # Always the venv's: a moto_server on PATH may be another version, and older ones cannot
    # run a state machine twice (the saga on Step Functions needs $STACK_MOTO_VERSION).
    _stack_moto_venv
    STACK_MOTO_BIN="$MERCADO_STATE_DIR/venv/bin/moto_server"
}

# The python that runs the durable moto (scripts/lib/moto_durable.py): the
# venv's, never a moto_server's on PATH, since its state file pickles moto's own
# objects and so needs moto's version to stay put. Sets STACK_MOTO_PYTHON (a
# global), so never call it in $(...).
_stack_ensure_moto_python() {
    [[ -n "$STACK_MOTO_PYTHON" ]] && return 0
    _stack_moto_venv
    STACK_MOTO_PYTHON="$MERCADO_STATE_DIR/venv/bin/python"
}

# Install moto[server]==$STACK_MOTO_VERSION into $MERCADO_STATE_DIR/venv unless
# it is there already.
_stack_moto_venv() {
    local venv="$MERCADO_STATE_DIR/venv" marker
    marker="$venv/.moto-$STACK_MOTO_VERSION"
    if [[ ! -x "$venv/bin/moto_server" || ! -e "$marker" ]]; then
        command -v python3 >/dev/null 2>&1 || stack_apt_install python3 python3-venv
        if [[ ! -x "$venv/bin/pip" ]]; then
            rm -rf "$venv"
            stack_log "creating venv $venv"
            # Debian's python3 lacks ensurepip until python3-venv is installed.
            if ! python3 -m venv "$venv" >/dev/null 2>&1; then
                rm -rf "$venv"
                stack_apt_install python3-venv
                python3 -m venv "$venv"
            fi
        fi
        stack_log "pip install moto[server]==$STACK_MOTO_VERSION into $venv"
        "$venv/bin/pip" install --quiet --disable-pip-version-check "moto[server]==$STACK_MOTO_VERSION"
        touch "$marker"
    fi
}

# ---------------------------------------------------------------------------
# PostgreSQL
# ---------------------------------------------------------------------------

# Newest /usr/lib/postgresql/N/bin that has the server tools, or empty.
_stack_pg_bindir() {
    local d best=""
    for d in /usr/lib/postgresql/*/bin; do
        [[ -x "$d/initdb" && -x "$d/pg_ctl" && -x "$d/psql" ]] || continue
        if [[ -z "$best" ]] || [[ "$(printf '%s\n%s\n' "$best" "$d" | sort -V | tail -n1)" == "$d" ]]; then
            best=$d
        fi
    done
    printf '%s' "$best"
}

# Locate psql and pg_isready (PATH, else the server's bin dir, else install
# Debian's postgresql). Sets globals, so never call it in $(...).
_STACK_PSQL=""
_STACK_PG_ISREADY=""
_stack_pg_clients() {
    [[ -n "$_STACK_PSQL" && -n "$_STACK_PG_ISREADY" ]] && return 0
    local dir
    _STACK_PSQL=$(command -v psql 2>/dev/null || true)
    _STACK_PG_ISREADY=$(command -v pg_isready 2>/dev/null || true)
    if [[ -z "$_STACK_PSQL" || -z "$_STACK_PG_ISREADY" ]]; then
        dir=$(_stack_pg_bindir)
        if [[ -z "$dir" ]]; then
            stack_apt_install postgresql
            dir=$(_stack_pg_bindir)
        fi
        [[ -n "$dir" ]] || stack_die "psql/pg_isready not found even after installing postgresql"
        _STACK_PSQL="$dir/psql"
        _STACK_PG_ISREADY="$dir/pg_isready"
    fi
}

stack_psql() {
    _stack_pg_clients
    # client_min_messages: hide NOTICEs such as "does not exist, skipping".
    PGCONNECT_TIMEOUT="${PGCONNECT_TIMEOUT:-5}" PGOPTIONS="${PGOPTIONS:-} -c client_min_messages=warning" \
        "$_STACK_PSQL" -X -v ON_ERROR_STOP=1 "$@"
}

# Does a server answer at URL (a full URL including the database)?
_stack_pg_answers() {
    local url=$1
    "$_STACK_PG_ISREADY" -q -t 3 -d "$url" >/dev/null 2>&1 || return 1
    # pg_isready only proves something listens; make sure we may log in.
    stack_psql -Atq -c 'select 1' "$url" >/dev/null 2>&1
}

# postgres://user@host:port/db?x=y -> postgres://user@host:port
_stack_pg_base() {
    local url=$1 scheme rest
    scheme=${url%%://*}
    rest=${url#*://}
    rest=${rest%%\?*}
    rest=${rest%%/*}
    printf '%s://%s' "$scheme" "$rest"
}

# Run a PostgreSQL server tool as the OS user owning the private cluster
# (postgres refuses to run as root). cd / so a cwd under /root (mode 700)
# does not produce "could not change directory" errors.
_stack_pg_as_owner() {
    if [[ "$_STACK_PG_OSUSER" == "$(id -un)" ]]; then
        (cd / && "$@")
    else
        (cd / && runuser -u "$_STACK_PG_OSUSER" -- "$@")
    fi
}

stack_postgres() {
    local url base port root data run log
    url=${MERCADO_PG_URL:-postgres://postgres@127.0.0.1:5432}
    base=$(_stack_pg_base "$url")
    _stack_pg_clients

    if _stack_pg_answers "$base/postgres"; then
        stack_log "PostgreSQL: reusing $base"
        STACK_PG_BASE_URL=$base
        export MERCADO_PG_ADMIN_URL="$base/postgres"
        return 0
    fi

    port=${MERCADO_PG_PRIVATE_PORT:-55432}
    base="postgres://postgres@127.0.0.1:$port"
    stack_log "PostgreSQL: nothing usable at $(_stack_pg_base "$url"); using private cluster on port $port"

    # Another run (e.g. scripts/dev next to scripts/test) may have started it
    # already: reuse it without taking ownership.
    if _stack_pg_answers "$base/postgres"; then
        stack_log "PostgreSQL: private cluster already running on $port; reusing it"
        STACK_PG_BASE_URL=$base
        export MERCADO_PG_ADMIN_URL="$base/postgres"
        return 0
    fi
    if stack_port_in_use "$port"; then
        stack_die "port $port is taken by something that is not a trust-auth PostgreSQL; set MERCADO_PG_PRIVATE_PORT"
    fi

    _STACK_PG_BIN=$(_stack_pg_bindir)
    if [[ -z "$_STACK_PG_BIN" ]]; then
        stack_apt_install postgresql
        _STACK_PG_BIN=$(_stack_pg_bindir)
        [[ -n "$_STACK_PG_BIN" ]] || stack_die "initdb/pg_ctl still missing after installing postgresql"
    fi

    _stack_pg_prepare_root
    root=$_STACK_PG_ROOT
    data="$root/data"
    run="$root/run"
    log="$root/postgres.log"

    if [[ ! -s "$data/PG_VERSION" ]]; then
        stack_log "initdb $data"
        _stack_pg_as_owner mkdir -p "$data" "$run"
        _stack_pg_as_owner "$_STACK_PG_BIN/initdb" -D "$data" -U postgres --auth=trust \
            --encoding=UTF8 --locale=C.UTF-8 >"$MERCADO_STATE_DIR/initdb.log" 2>&1 ||
            { cat "$MERCADO_STATE_DIR/initdb.log" >&2; stack_die "initdb failed"; }
        # Disposable dev/test cluster: durability off for speed; sockets in our
        # own dir (/var/run/postgresql may not exist or belong to the system one).
        _stack_pg_as_owner tee -a "$data/postgresql.conf" >/dev/null <<EOF

# --- added by mercado scripts/lib/stack.sh ---
listen_addresses = '127.0.0.1'
unix_socket_directories = '$run'
fsync = off
synchronous_commit = off
full_page_writes = off
max_connections = 200
EOF
    fi
    local have want
    have=$(<"$data/PG_VERSION")
    want=$(basename "$(dirname "$_STACK_PG_BIN")")
    if [[ "$have" != "$want" ]]; then
        stack_die "private cluster $data is PostgreSQL $have but the installed server is $want; remove $root and re-run"
    fi

    stack_log "starting private PostgreSQL $want on 127.0.0.1:$port (log: $log)"
    _stack_pg_as_owner mkdir -p "$run"
    # Record ownership before starting, so a signal during the start still
    # stops it.
    _STACK_PG_DATA=$data
    STACK_PG_STARTED=1
    if ! _stack_pg_as_owner "$_STACK_PG_BIN/pg_ctl" -D "$data" -l "$log" -w -t 60 \
        -o "-p $port" start >/dev/null; then
        tail -n 30 "$log" >&2 || true
        stack_die "private PostgreSQL failed to start"
    fi
    _stack_pg_answers "$base/postgres" || stack_die "private PostgreSQL started but does not accept $base"

    STACK_PG_BASE_URL=$base
    export MERCADO_PG_ADMIN_URL="$base/postgres"
}

# The command that restarts the private cluster this shell started (for the fault suite, which
# restarts PostgreSQL under load); empty when it reuses a server it did not start.
stack_pg_restart_command() {
    [[ "$STACK_PG_STARTED" -eq 1 && -n "$_STACK_PG_DATA" ]] || return 0
    local port=${STACK_PG_BASE_URL##*:} runner=""
    [[ "$_STACK_PG_OSUSER" == "$(id -un)" ]] || runner="runuser -u $_STACK_PG_OSUSER --"
    printf 'cd / && %s %q -D %q -m fast -w -t 60 -o %q restart >/dev/null' \
        "$runner" "$_STACK_PG_BIN/pg_ctl" "$_STACK_PG_DATA" "-p $port"
}

# Pick the OS user for the private cluster (_STACK_PG_OSUSER) and a directory
# it owns (_STACK_PG_ROOT), normally $MERCADO_STATE_DIR/pg. Sets globals, so
# never call it in $(...).
_STACK_PG_ROOT=""
_stack_pg_prepare_root() {
    local root="$MERCADO_STATE_DIR/pg" alt
    mkdir -p "$MERCADO_STATE_DIR"

    if ! stack_is_root; then
        _STACK_PG_OSUSER=$(id -un)
        mkdir -p "$root"
        chmod 700 "$root"
        _STACK_PG_ROOT=$root
        return 0
    fi

    # As root, run the server as `postgres` (Debian's package creates it), or a
    # system user of our own if that one does not exist.
    if id postgres >/dev/null 2>&1; then
        _STACK_PG_OSUSER=postgres
    else
        if ! id mercado-pg >/dev/null 2>&1; then
            stack_log "creating system user mercado-pg to run the private PostgreSQL"
            useradd --system --user-group --no-create-home --home-dir /nonexistent \
                --shell /usr/sbin/nologin mercado-pg
        fi
        _STACK_PG_OSUSER=mercado-pg
    fi

    # The default state dir is under /root (mode 700), which that user cannot
    # traverse. Rather than loosen /root, keep the cluster under /var/tmp and
    # leave a symlink at $MERCADO_STATE_DIR/pg pointing to it.
    if runuser -u "$_STACK_PG_OSUSER" -- test -x "$MERCADO_STATE_DIR" 2>/dev/null &&
        [[ ! -L "$root" ]]; then
        install -d -m 700 -o "$_STACK_PG_OSUSER" -g "$(id -gn "$_STACK_PG_OSUSER")" "$root"
        _STACK_PG_ROOT=$root
        return 0
    fi
    alt="/var/tmp/mercado-pg-$(printf '%s' "$MERCADO_STATE_DIR" | cksum | cut -d' ' -f1)"
    install -d -m 700 -o "$_STACK_PG_OSUSER" -g "$(id -gn "$_STACK_PG_OSUSER")" "$alt"
    if [[ -L "$root" || ! -e "$root" ]]; then
        ln -sfn "$alt" "$root"
    fi
    stack_log "PostgreSQL: $MERCADO_STATE_DIR is not reachable by $_STACK_PG_OSUSER; cluster lives in $alt"
    _STACK_PG_ROOT=$alt
}

# stack_database NAME: create database NAME if missing; export DATABASE_URL.
stack_database() {
    local name=$1
    [[ "$name" =~ ^[a-z_][a-z0-9_]*$ ]] || stack_die "database name must match [a-z_][a-z0-9_]*: $name"
    [[ -n "${MERCADO_PG_ADMIN_URL:-}" ]] || stack_die "call stack_postgres first"
    # psql does not interpolate :'var' in -c, hence the heredoc; \gexec runs
    # the generated CREATE only when the database is missing.
    stack_psql -q -v name="$name" "$MERCADO_PG_ADMIN_URL" <<'SQL' >/dev/null
SELECT format('CREATE DATABASE %I', :'name')
WHERE NOT EXISTS (SELECT 1 FROM pg_database WHERE datname = :'name')
\gexec
SQL
    export DATABASE_URL="$STACK_PG_BASE_URL/$name"
}

# stack_drop_database NAME: drop it, disconnecting any sessions.
stack_drop_database() {
    local name=$1
    [[ "$name" =~ ^[a-z_][a-z0-9_]*$ ]] || stack_die "database name must match [a-z_][a-z0-9_]*: $name"
    stack_psql -q -v name="$name" "$MERCADO_PG_ADMIN_URL" <<'SQL' >/dev/null
SELECT format('DROP DATABASE IF EXISTS %I WITH (FORCE)', :'name')
\gexec
SQL
}

# ---------------------------------------------------------------------------
# moto
# ---------------------------------------------------------------------------

# Does a moto server answer on PORT? Its dashboard lives at /moto-api/.
stack_moto_answers() {
    local body
    body=$(curl -fsS -m 2 "http://127.0.0.1:$1/moto-api/" 2>/dev/null) || return 1
    [[ "$body" == *"<title>Moto</title>"* ]]
}

# stack_moto PORT [--fresh] [--durable DIR]: reuse a moto already on PORT (unless
# --fresh), else start one. Exports the AWS variables and MERCADO_QUEUE_URL.
# With --durable, a moto started here is scripts/lib/moto_durable.py: it restores
# DIR/moto-state.pickle at start and saves it (periodically, and on the SIGTERM of
# stack_stop), so DynamoDB, S3, SQS, EventBridge and Cognito survive restarts.
# STACK_MOTO_STARTED=1 only when the moto started here has empty state.
stack_moto() {
    local port=${1:-} fresh=0 durable="" state="" log i deadline
    local -a cmd
    [[ "$port" =~ ^[0-9]+$ ]] || stack_die "stack_moto: bad port '$port'"
    shift
    while (($# > 0)); do
        case $1 in
            --fresh) fresh=1 ;;
            --durable)
                [[ -n "${2:-}" ]] || stack_die "stack_moto: --durable needs a directory"
                durable=$2
                shift
                ;;
            *) stack_die "stack_moto: unknown argument '$1'" ;;
        esac
        shift
    done

    if stack_moto_answers "$port"; then
        [[ "$fresh" -eq 0 ]] || stack_die "moto already runs on port $port but a fresh one was requested"
        if [[ -n "$_STACK_MOTO_PID" && "$_STACK_MOTO_PORT" == "$port" ]]; then
            stack_log "moto: already started by this run on 127.0.0.1:$port"
        else
            stack_log "moto: reusing the server on 127.0.0.1:$port (its data is kept)"
            if [[ -n "$durable" ]]; then
                stack_log "moto: not started here, so it saves to $durable only if it runs moto_durable.py with that state dir"
            fi
            STACK_MOTO_STARTED=0
        fi
    else
        if stack_port_in_use "$port"; then
            stack_die "port $port is in use by something that is not moto; free it or choose another port"
        fi
        mkdir -p "$MERCADO_STATE_DIR"
        if [[ -n "$durable" ]]; then
            _stack_ensure_moto_python
            mkdir -p "$durable"
            state="$(cd "$durable" && pwd)/moto-state.pickle"
            cmd=("$STACK_MOTO_PYTHON" "$STACK_ROOT/scripts/lib/moto_durable.py"
                -H 127.0.0.1 -p "$port" --state "$state")
        else
            _stack_ensure_moto
            cmd=("$STACK_MOTO_BIN" -H 127.0.0.1 -p "$port")
        fi
        log="$MERCADO_STATE_DIR/moto-$port.log"
        _STACK_MOTO_PIDFILE="$MERCADO_STATE_DIR/moto-$port.pid"
        rm -f "$_STACK_MOTO_PIDFILE"
        if [[ -n "$durable" ]]; then
            stack_log "moto: starting durable moto (state: $state) on 127.0.0.1:$port (log: $log)"
        else
            stack_log "moto: starting $STACK_MOTO_BIN on 127.0.0.1:$port (log: $log)"
        fi
        # Own session/process group, so stack_stop can end moto and anything it
        # forks with one kill, and a terminal's Ctrl-C reaches our trap first.
        # The inner shell writes the PID that survives exec (setsid forks when
        # the caller's background job already leads a process group); the
        # durable launcher is that PID too, so stack_stop's SIGTERM reaches it.
        # shellcheck disable=SC2016 # expanded by the inner bash
        # MOTO_PORT: where moto's Step Functions interpreter sends its SQS tasks (itself).
        MOTO_PORT=$port setsid bash -c 'echo $$ >"$1"; shift; exec "$@"' _ "$_STACK_MOTO_PIDFILE" \
            "${cmd[@]}" >"$log" 2>&1 </dev/null &
        for ((i = 0; i < 50; i++)); do
            [[ -s "$_STACK_MOTO_PIDFILE" ]] && break
            sleep 0.1
        done
        _STACK_MOTO_PID=$(cat "$_STACK_MOTO_PIDFILE" 2>/dev/null || true)
        [[ -n "$_STACK_MOTO_PID" ]] || stack_die "moto did not start (log: $log)"
        STACK_MOTO_STARTED=1
        _STACK_MOTO_PORT=$port
        _STACK_MOTO_STATE=$state

        # The durable launcher restores its state before it binds the port.
        deadline=$((SECONDS + 30))
        while ((SECONDS < deadline)); do
            stack_moto_answers "$port" && break
            if ! _stack_alive "$_STACK_MOTO_PID"; then
                tail -n 30 "$log" >&2 || true
                stack_die "moto exited during startup"
            fi
            sleep 0.1
        done
        if ! stack_moto_answers "$port"; then
            tail -n 30 "$log" >&2 || true
            stack_die "moto did not answer on port $port within 30 s"
        fi
        if [[ -n "$durable" ]]; then
            # Its log says whether the whole state file was restored; anything
            # less (no file, unreadable, a service failed) counts as empty.
            if grep -q '^moto_durable: restored state from ' "$log"; then
                STACK_MOTO_STARTED=0
                stack_log "moto: state restored from $state (delete $durable to start clean)"
            else
                grep '^moto_durable: ' "$log" | grep -v ' serving on ' | sed 's/^/[stack]   /' >&2 || true
                stack_log "moto: durable moto starts with empty state"
            fi
        fi
    fi

    # Run Step Functions executions (the saga with MERCADO_SAGA_ENGINE=stepfunctions) instead
    # of answering them with canned results.
    curl -fsS -m 5 -X POST "http://127.0.0.1:$port/moto-api/config" \
        -d '{"stepfunctions": {"execute_state_machine": true}}' >/dev/null ||
        stack_die "moto on port $port refused to run Step Functions executions"

    # Everything the SDK sends must go to moto: drop per-service endpoint
    # overrides (they win over AWS_ENDPOINT_URL), the switch that makes the SDK
    # ignore AWS_ENDPOINT_URL, and any profile or session token of a real account.
    local v
    for v in $(compgen -e); do
        [[ "$v" == AWS_ENDPOINT_URL_* ]] && unset "$v"
    done
    unset AWS_IGNORE_CONFIGURED_ENDPOINT_URLS AWS_PROFILE AWS_SESSION_TOKEN
    export AWS_ENDPOINT_URL="http://127.0.0.1:$port"
    export AWS_REGION=us-east-1
    export AWS_DEFAULT_REGION=us-east-1
    export AWS_ACCESS_KEY_ID=test
    export AWS_SECRET_ACCESS_KEY=test
    # moto's account id is 123456789012; the queue name is the last segment.
    export MERCADO_QUEUE_URL="http://127.0.0.1:$port/123456789012/mercado-projector"
    export MERCADO_IMAGE_QUEUE_URL="http://127.0.0.1:$port/123456789012/mercado-image-events"
}

# ---------------------------------------------------------------------------
# Shutdown
# ---------------------------------------------------------------------------

# Does a NATS server with JetStream answer on 127.0.0.1:PORT? (Its INFO line says so.)
_stack_nats_js_answers() {
    local port=$1 info
    # shellcheck disable=SC2016 # expanded by the inner bash
    info=$(timeout 3 bash -c 'exec 3<>"/dev/tcp/127.0.0.1/$1" && IFS= read -r -t 2 line <&3 && printf "%s" "$line"' _ "$port" 2>/dev/null) || return 1
    [[ "$info" == INFO* && "$info" == *'"jetstream":true'* ]]
}

# Uses NATS with JetStream on 127.0.0.1:4222 when one answers, else starts a private one
# (Debian's nats-server, installed if missing) on a free port with its store in the state
# dir. Exports MERCADO_NATS_URL.
stack_nats() {
    local port=${MERCADO_NATS_PORT:-4222} log dir i
    if _stack_nats_js_answers "$port"; then
        stack_log "nats: reusing the JetStream server on 127.0.0.1:$port"
        export MERCADO_NATS_URL="nats://127.0.0.1:$port"
        return 0
    fi
    if ! command -v nats-server >/dev/null 2>&1 && [[ ! -x /usr/sbin/nats-server ]]; then
        stack_is_root || stack_die "nats-server is missing; as root run: apt-get install -y nats-server"
        stack_apt_install nats-server
    fi
    local bin
    bin=$(command -v nats-server 2>/dev/null || echo /usr/sbin/nats-server)
    port=$(stack_free_port)
    dir="$MERCADO_STATE_DIR/nats-$port"
    log="$MERCADO_STATE_DIR/nats-$port.log"
    mkdir -p "$dir"
    stack_log "nats: starting a private JetStream server on 127.0.0.1:$port (log: $log)"
    setsid "$bin" -a 127.0.0.1 -p "$port" -js -sd "$dir" >"$log" 2>&1 </dev/null &
    stack_track_pid "$!"
    for ((i = 0; i < 100; i++)); do
        _stack_nats_js_answers "$port" && break
        sleep 0.1
    done
    _stack_nats_js_answers "$port" || stack_die "nats-server did not answer on port $port (log: $log)"
    export MERCADO_NATS_URL="nats://127.0.0.1:$port"
}


# stack_web_client: install the web client's packages (npm ci, only when its lock changed since
# the last install) and build it into web-client/app/dist.
stack_web_client() {
    local app="$STACK_ROOT/web-client/app" stamp
    command -v npm >/dev/null 2>&1 || stack_die "npm not found: install Node.js 20 and npm"
    stamp="$app/node_modules/.mercado-lock"
    if [[ ! -f "$stamp" ]] || ! cmp -s "$app/package-lock.json" "$stamp"; then
        # Tests use Debian's Chromium: never download a browser.
        PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 npm ci --prefix "$app" --no-audit --no-fund
        cp "$app/package-lock.json" "$stamp"
    fi
    npm --prefix "$app" run --silent build
}

# stack_serve BIN DATABASE PORT: provision, migrate and start `BIN serve` on 127.0.0.1:PORT in
# the background against a fresh database DATABASE (the moto in use, the web client's build),
# tracked so stack_stop ends it; waits until /readyz answers. Logs to the state dir.
stack_serve() {
    local bin=$1 db=$2 port=$3 log i
    stack_drop_database "$db"
    stack_database "$db"
    log="$MERCADO_STATE_DIR/serve-$port.log"
    (
        export MERCADO_LISTEN_ADDR="127.0.0.1:$port"
        export MERCADO_DATA_DIR="$MERCADO_STATE_DIR/serve-$port"
        export MERCADO_SEARCH_DIR="$MERCADO_STATE_DIR/serve-$port/search"
        export MERCADO_WEB_ROOT="$STACK_ROOT/web-client/app/dist"
        "$bin" provision >/dev/null && "$bin" migrate >/dev/null || exit 1
        exec setsid "$bin" serve
    ) >"$log" 2>&1 </dev/null &
    stack_track_pid "$!"
    for ((i = 0; i < 300; i++)); do
        curl -fs -m 2 "http://127.0.0.1:$port/readyz" >/dev/null 2>&1 && return 0
        sleep 0.1
    done
    tail -n 30 "$log" >&2 || true
    stack_die "mercado did not become ready on port $port (log: $log)"
}

# Stop only what this shell started. Safe to call more than once.
stack_stop() {
    # A second Ctrl-C while cleaning up must not leave things half-stopped.
    trap '' INT TERM HUP
    local pid
    for pid in "${_STACK_PIDS[@]}"; do
        _stack_kill "$pid" 15
    done
    _STACK_PIDS=()

    if [[ -n "$_STACK_MOTO_PID" ]]; then
        if [[ -n "$_STACK_MOTO_STATE" ]]; then
            # On SIGTERM it writes its state file; give that time (many images).
            stack_log "stopping moto (pid $_STACK_MOTO_PID; it saves its state to $_STACK_MOTO_STATE)"
            _stack_kill "$_STACK_MOTO_PID" 60
        else
            stack_log "stopping moto (pid $_STACK_MOTO_PID)"
            _stack_kill "$_STACK_MOTO_PID" 10
        fi
        rm -f "$_STACK_MOTO_PIDFILE"
        _STACK_MOTO_PID=""
        _STACK_MOTO_PORT=""
        _STACK_MOTO_STATE=""
    fi

    if [[ "$STACK_PG_STARTED" -eq 1 && -n "$_STACK_PG_DATA" ]]; then
        stack_log "stopping private PostgreSQL ($_STACK_PG_DATA)"
        # fast = disconnect clients and shut down cleanly.
        _stack_pg_as_owner "$_STACK_PG_BIN/pg_ctl" -D "$_STACK_PG_DATA" -m fast -w -t 60 stop \
            >/dev/null 2>&1 || stack_log "pg_ctl stop failed (already stopped?)"
        STACK_PG_STARTED=0
        _STACK_PG_DATA=""
    fi
    if [[ "$_STACK_TRAPS" -eq 1 ]]; then
        _stack_signal_traps
    else
        trap - INT TERM HUP
    fi
}

# Install the traps that stop everything on exit or on a signal. INT/TERM/HUP
# just exit with the conventional status; the EXIT trap does the stopping.
# $1: optional extra command for the EXIT trap, run after stack_stop; the exit
# status is in $_stack_rc.
_STACK_TRAPS=0
_stack_signal_traps() {
    trap 'exit 130' INT
    trap 'exit 143' TERM
    trap 'exit 129' HUP
}
stack_traps() {
    local extra=${1:-}
    _STACK_TRAPS=1
    # shellcheck disable=SC2064,SC2154 # expand $extra now; _stack_rc is set in the trap
    trap "_stack_rc=\$?; stack_stop; ${extra:+$extra;} exit \$_stack_rc" EXIT
    _stack_signal_traps
}

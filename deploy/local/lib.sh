# shellcheck shell=bash
# Functions shared by run-all.sh and demo.sh: a private PostgreSQL, the two
# services, readiness waits and an orderly stop.
#
# Stopping. Every child (the builds, PostgreSQL, the services) runs in a
# session of its own (setsid), so a signal sent to the script's process
# group - Ctrl-C in a terminal, `kill -INT -PGID` from a script - reaches the
# script alone, which then stops the children in order: Recommender (the
# caller), AdProvider, PostgreSQL. INT, TERM and HUP all stop it the same
# way. A script started in the background by another script inherits SIGINT
# ignored, and bash cannot trap a signal ignored at entry: the script then
# restarts itself once with SIGINT back to its default (GNU env
# --default-signal), so that the trap works there too.
#
# Failing. A child that exits early is reported in one or two lines (its
# status and the line of its log that says why); a database the services
# cannot reach is reported within seconds with the driver's reason, read
# from the services' own retry log lines.

set -euo pipefail

SCRIPT="${SCRIPT:-$(basename "$0" .sh)}"

if [ -z "${BREAKWATER_SIGINT_RESET:-}" ] && [ -r "/proc/$$/status" ]; then
  sigign="$(awk '/^SigIgn:/ {print $2}' "/proc/$$/status")"
  if (((16#${sigign:-0} & 2) != 0)) && env --default-signal=INT true 2>/dev/null; then
    export BREAKWATER_SIGINT_RESET=1
    exec env --default-signal=INT bash "$0" "$@"
  fi
fi

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
RUN_DIR="${RUN_DIR:-$REPO_ROOT/.run}"
BIN_DIR="$RUN_DIR/bin"
LOG_DIR="$RUN_DIR/logs"
PG_DATA="$RUN_DIR/pgdata"
PG_PORT="${BREAKWATER_PG_PORT:-54329}"

export GOTOOLCHAIN=local
export RECOMMENDER_ADDR="${RECOMMENDER_ADDR:-127.0.0.1:8000}"
export ADPROVIDER_ADDR="${ADPROVIDER_ADDR:-127.0.0.1:8001}"
export RECOMMENDER_ADMIN_ADDR="${RECOMMENDER_ADMIN_ADDR:-127.0.0.1:9000}"
export ADPROVIDER_ADMIN_ADDR="${ADPROVIDER_ADMIN_ADDR:-127.0.0.1:9001}"

# ADPROVIDER_REPLICAS AdProvider processes share the database. Replica i
# (from 1) is called adprovider (the first) or adprovider-i, and listens on
# the first one's ports plus 10 × (i - 1): 8001, 8011, 8021; 9001, 9011,
# 9021. Recommender dials them all (ADPROVIDER_TARGET, a comma-separated
# list) and balances its calls over them.
ADPROVIDER_REPLICAS="${ADPROVIDER_REPLICAS:-1}"
[[ "$ADPROVIDER_REPLICAS" =~ ^[1-9]$ ]] || {
  printf '%s: ADPROVIDER_REPLICAS=%s: want a number from 1 to 9\n' "${SCRIPT:-run-all}" "$ADPROVIDER_REPLICAS" >&2
  exit 1
}
replica_name() { if [ "$1" -eq 1 ]; then echo adprovider; else echo "adprovider-$1"; fi; }
replica_addr() { echo "${1%:*}:$((${1##*:} + 10 * ($2 - 1)))"; } # BASE_ADDR I
ADPROVIDERS=() # the replicas' names, first to last
targets=()
for ((i = 1; i <= ADPROVIDER_REPLICAS; i++)); do
  ADPROVIDERS+=("$(replica_name "$i")")
  targets+=("$(replica_addr "$ADPROVIDER_ADDR" "$i")")
done
ADPROVIDER_TARGET_DEFAULT="$(IFS=,; echo "${targets[*]}")"
unset targets i
export ADPROVIDER_TARGET="${ADPROVIDER_TARGET:-$ADPROVIDER_TARGET_DEFAULT}"
export ADMIN_TOKEN="${ADMIN_TOKEN:-dev-admin-token}"
export BREAKER_CONFIG="${BREAKER_CONFIG:-$REPO_ROOT/deploy/breakers.json}"
[ -f "$BREAKER_CONFIG" ] || unset BREAKER_CONFIG

# Seconds a service may go on failing to reach its database before the
# script gives up on it (the services themselves retry for ever).
DB_GRACE="${BREAKWATER_DB_GRACE:-3}"

PG_OWN=""          # set when we started the private PostgreSQL ourselves
declare -A PIDS    # name -> pid of what runs: postgres, adprovider (adprovider-2...), recommender
declare -A LOG_AT  # name -> size of its log when started: what it logs since
declare -A BUILDS  # what -> pid of a build running in the background
STOPPING=""

# SETSID starts a command in a session (and process group) of its own; where
# there is no setsid (macOS), children share the script's group.
SETSID=()
if command -v setsid >/dev/null; then SETSID=(setsid); fi

say() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*"; }
die() {
  printf '%s: %s\n' "$SCRIPT" "$1" >&2
  shift
  local more
  for more in "$@"; do printf '  %s\n' "$more" >&2; done
  exit 1
}
rel() { echo "${1#"$REPO_ROOT"/}"; }

port_of() { echo "${1##*:}"; }

# port_free fails with a one-line error when something listens on the port.
port_free() {
  local port=$1 what=$2
  if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
    die "port $port ($what) is already in use: is breakwater already running? Stop it, or set ${3:-the address} to another port."
  fi
}

check_ports() {
  port_free "$(port_of "$RECOMMENDER_ADDR")" "Recommender gRPC" RECOMMENDER_ADDR
  port_free "$(port_of "$ADPROVIDER_ADDR")" "AdProvider gRPC" ADPROVIDER_ADDR
  port_free "$(port_of "$RECOMMENDER_ADMIN_ADDR")" "Recommender admin HTTP" RECOMMENDER_ADMIN_ADDR
  port_free "$(port_of "$ADPROVIDER_ADMIN_ADDR")" "AdProvider admin HTTP" ADPROVIDER_ADMIN_ADDR
  local i
  for ((i = 2; i <= ADPROVIDER_REPLICAS; i++)); do
    port_free "$(port_of "$(replica_addr "$ADPROVIDER_ADDR" "$i")")" "AdProvider replica $i gRPC" "ADPROVIDER_ADDR (replicas use its port + 10 × (i - 1))"
    port_free "$(port_of "$(replica_addr "$ADPROVIDER_ADMIN_ADDR" "$i")")" "AdProvider replica $i admin HTTP" "ADPROVIDER_ADMIN_ADDR (replicas use its port + 10 × (i - 1))"
  done
  if [ -z "${DATABASE_URL:-}" ]; then
    port_free "$PG_PORT" "private PostgreSQL" BREAKWATER_PG_PORT
  fi
}

# The private PostgreSQL is internal/pgtest's, run by its pglocal command
# (built with the services): one home in Go for finding the binaries, running
# them as the postgres user when root, initdb, the readiness wait and the
# stop, shared with the tests. pglocal prints "ready <url>" when the server
# takes connections and stops it with a fast shutdown on SIGTERM.
start_postgres() {
  if [ -n "${DATABASE_URL:-}" ] && [ -z "$PG_OWN" ]; then
    say "using DATABASE_URL (the password is not shown)"
    return
  fi
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  touch "$LOG_DIR/postgres.log"
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    say "initialising a private PostgreSQL in $(rel "$PG_DATA")"
  fi
  LOG_AT[postgres]=$(wc -c <"$LOG_DIR/postgres.log")
  rm -f "$RUN_DIR/pglocal.out"
  "${SETSID[@]}" "$BIN_DIR/pglocal" -data "$PG_DATA" -port "$PG_PORT" -database breakwater \
    -log "$LOG_DIR/postgres.log" >"$RUN_DIR/pglocal.out" 2>>"$LOG_DIR/postgres.log" </dev/null &
  PIDS[postgres]=$!
  PG_OWN=pglocal
  local i url=""
  for i in $(seq 1 600); do
    url="$(sed -n 's/^ready //p' "$RUN_DIR/pglocal.out" 2>/dev/null)" || true
    if [ -n "$url" ]; then break; fi
    kill -0 "${PIDS[postgres]}" 2>/dev/null || exited postgres
    sleep 0.1
  done
  [ -n "$url" ] || die "PostgreSQL did not become ready within a minute" "log: $(rel "$LOG_DIR")/postgres.log"
  export DATABASE_URL="$url"
  say "PostgreSQL up on 127.0.0.1:$PG_PORT (pid ${PIDS[postgres]})"
}

stop_postgres() {
  local pid="${PIDS[postgres]:-}"
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true # pglocal: fast shutdown, then exits
  wait_bounded "$pid" 35
  unset 'PIDS[postgres]'
  say "stopped PostgreSQL"
}

# crash_postgres stops the private server as a crash would (an immediate
# shutdown: no checkpoint, recovery at the next start); pglocal then exits.
crash_postgres() {
  local pm
  pm="$(head -n 1 "$PG_DATA/postmaster.pid" 2>/dev/null)" || true
  [ -n "$pm" ] && kill -QUIT "$pm" 2>/dev/null || true
  wait "${PIDS[postgres]}" 2>/dev/null || true
  unset 'PIDS[postgres]'
}

# wait_bounded PID SECONDS waits for a child, killing it if it takes longer,
# and returns its status. It polls: bash reaps its children as they end, so
# kill -0 fails once the child is gone. (A timer process would inherit the
# ignored TERM of an orderly stop and outlive its use.)
wait_bounded() {
  local pid=$1 deadline=$((SECONDS + $2)) rc=0
  while kill -0 "$pid" 2>/dev/null && ((SECONDS < deadline)); do sleep 0.05; done
  kill -KILL "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || rc=$?
  return "$rc"
}

# background_build WHAT ARGS... runs `go build ARGS` in the background, its
# output in $LOG_DIR/build-WHAT.log.
background_build() {
  local what=$1
  shift
  (cd "$REPO_ROOT" && exec "${SETSID[@]}" go build "$@") >"$LOG_DIR/build-$what.log" 2>&1 </dev/null &
  BUILDS[$what]=$!
}

# await_build WHAT waits for a background build, saying every 15 s that it
# is still going, and fails with its errors if it failed.
await_build() {
  local what=$1 pid="${BUILDS[$1]:-}" t0=$SECONDS next=15 rc=0
  [ -n "$pid" ] || return 0
  while kill -0 "$pid" 2>/dev/null; do
    if ((SECONDS - t0 >= next)); then
      say "  still building $what ($((SECONDS - t0)) s; the first build fetches and compiles its dependencies)"
      next=$((next + 15))
    fi
    sleep 0.2
  done
  wait "$pid" 2>/dev/null || rc=$?
  unset "BUILDS[$what]"
  if [ "$rc" -ne 0 ]; then
    die "building $what failed:" "$(grep -v '^#' "$LOG_DIR/build-$what.log" | head -n 3)" "log: $(rel "$LOG_DIR")/build-$what.log"
  fi
}

# build builds the two services, then starts building grpcurl in the
# background: the services start while it compiles (grpcurl pulls in large
# dependencies; the first build takes a minute or two).
build() {
  mkdir -p "$BIN_DIR" "$LOG_DIR"
  local t0=$SECONDS
  say "building the services, breakerctl and pglocal into $(rel "$BIN_DIR")"
  background_build services -o "$BIN_DIR/" ./services/adprovider/cmd/adprovider ./services/recommender/cmd/recommender ./cmd/breakerctl ./internal/pgtest/cmd/pglocal
  await_build services
  say "built them in $((SECONDS - t0)) s; building grpcurl in the background"
  background_build grpcurl -modfile=tools/go.mod -o "$BIN_DIR/" github.com/fullstorydev/grpcurl/cmd/grpcurl
}

# need_grpcurl waits for grpcurl's build, once.
need_grpcurl() {
  if [ -n "${BUILDS[grpcurl]:-}" ]; then
    say "waiting for grpcurl to finish building"
    await_build grpcurl
    say "grpcurl built"
  fi
}

grpcurl() { "$BIN_DIR/grpcurl" "$@"; }

# start_service NAME [VAR=VALUE...] starts the binary of NAME (adprovider-2
# runs adprovider) with the variables given on top of the environment.
start_service() {
  local name=$1
  shift
  touch "$LOG_DIR/$name.log"
  LOG_AT[$name]=$(wc -c <"$LOG_DIR/$name.log")
  "${SETSID[@]}" env "$@" "$BIN_DIR/${name%%-*}" >>"$LOG_DIR/$name.log" 2>&1 </dev/null &
  PIDS[$name]=$!
  say "started $name (pid ${PIDS[$name]}, log $(rel "$LOG_DIR")/$name.log)"
}

# stop_service NAME stops a service with SIGTERM (a graceful drain, bounded
# by its -shutdown-timeout of 10 s) and waits for it; after 20 s, SIGKILL.
stop_service() {
  local name=$1 pid="${PIDS[$1]:-}" rc=0
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  kill -CONT "$pid" 2>/dev/null || true # a stopped process (the demo's hang) acts on TERM only once resumed
  wait_bounded "$pid" 20 || rc=$?
  unset "PIDS[$name]"
  if [ "$rc" -eq 0 ] || [ "$rc" -eq 143 ]; then say "stopped $name"; else say "stopped $name (exit status $rc)"; fi
}

# since NAME prints what NAME logged since the script started it.
since() { tail -c +$((${LOG_AT[$1]:-0} + 1)) "$LOG_DIR/$1.log" 2>/dev/null || true; }

# cause NAME prints the one line of NAME's log that best says why it stopped:
# its last error, else its last line.
cause() {
  local log line
  log="$(since "$1")"
  line="$(grep -E 'level=ERROR|"level":"ERROR"|FATAL|PANIC|^panic:|^[a-z]+: ' <<<"$log" | tail -n 1 || true)"
  [ -n "$line" ] || line="$(tail -n 1 <<<"$log")"
  printf '%s' "${line:-(its log is empty)}" | cut -c1-300
}

# exited NAME reports a child that ended on its own and exits 1.
exited() {
  local name=$1 pid="${PIDS[$1]}" rc=0 how
  wait "$pid" 2>/dev/null || rc=$?
  unset "PIDS[$name]"
  if ((rc > 128)); then
    # Killed from outside: its log cannot say why, only where it was.
    how="killed by SIG$(kill -l $((rc - 128)) 2>/dev/null || echo $((rc - 128)))"
    die "$name exited on its own ($how); its last log line: $(since "$name" | tail -n 1 | cut -c1-200)" \
      "log: $(rel "$LOG_DIR")/$name.log"
  fi
  die "$name exited on its own (exit status $rc): $(cause "$name")" "log: $(rel "$LOG_DIR")/$name.log"
}

# db_reason NAME prints the driver's reason of NAME's latest failed attempt
# to reach its database, if it has retried more than DB_GRACE seconds.
db_reason() {
  local log first last err
  log="$(grep 'failed; retrying' <<<"$(since "$1")" || true)"
  [ -n "$log" ] || return 1
  first="$(head -n 1 <<<"$log" | sed -n 's/^time=\([^ ]*\).*/\1/p')"
  last="$(tail -n 1 <<<"$log")"
  [ -n "$first" ] || return 1
  if (($(date +%s) - $(date -d "$first" +%s 2>/dev/null || date +%s) < DB_GRACE)); then return 1; fi
  # err="create schema adprovider: failed to connect to `user=x database=y`:\n\t<host>: <reason>\n\t..."
  err="$(sed -n 's/.* err="\(.*\)"$/\1/p' <<<"$last")"
  err="${err%%\\n\\t*}"' '"${err##*\\t}"
  printf '%s' "${err:-$last}" | cut -c1-300
}

# http_status ADDR PATH prints the HTTP status code of a GET, without curl.
http_status() {
  local host=${1%:*} port=${1##*:} line
  [ -n "$host" ] || host=127.0.0.1
  { exec 5<>"/dev/tcp/$host/$port"; } 2>/dev/null || return 1
  printf 'GET %s HTTP/1.0\r\nHost: %s\r\n\r\n' "$2" "$1" >&5
  IFS=' ' read -r -t 2 _ line _ <&5 || true
  exec 5<&-
  echo "${line:-0}"
}

# wait_ready NAME ADMIN_ADDR waits until NAME's /readyz answers 200 (every
# service it serves is SERVING on grpc.health.v1). It fails at once when NAME
# exits, within DB_GRACE seconds when NAME cannot reach its database, and
# after a minute otherwise.
wait_ready() {
  local name=$1 addr=$2 i reason
  for i in $(seq 1 300); do
    if [ "$(http_status "$addr" /readyz)" = 200 ]; then
      say "$name is SERVING"
      return 0
    fi
    kill -0 "${PIDS[$name]}" 2>/dev/null || exited "$name"
    if reason="$(db_reason "$name")"; then
      die "$name cannot reach its database: $reason" \
        "check ${DB_SOURCE:-DATABASE_URL}; log: $(rel "$LOG_DIR")/$name.log"
    fi
    sleep 0.2
  done
  die "$name did not become SERVING within a minute: $(cause "$name")" "log: $(rel "$LOG_DIR")/$name.log"
}

start_all() {
  check_ports
  DB_SOURCE="DATABASE_URL"
  if [ -n "${DATABASE_URL:-}" ]; then DB_SOURCE="DATABASE_URL (yours)"; fi
  build
  start_postgres
  start_service adprovider
  start_service recommender
  wait_ready adprovider "$ADPROVIDER_ADMIN_ADDR"
  # The other replicas once the first has migrated the shared schema.
  local i
  for ((i = 2; i <= ADPROVIDER_REPLICAS; i++)); do start_replica "$i"; done
  for ((i = 2; i <= ADPROVIDER_REPLICAS; i++)); do
    wait_ready "$(replica_name "$i")" "$(replica_addr "$ADPROVIDER_ADMIN_ADDR" "$i")"
  done
  wait_ready recommender "$RECOMMENDER_ADMIN_ADDR"
}

# start_replica I starts AdProvider replica I on its own ports; its log is
# beside the first one's.
start_replica() {
  local name addr
  name="$(replica_name "$1")" addr="$(replica_addr "$ADPROVIDER_ADDR" "$1")"
  start_service "$name" "ADPROVIDER_ADDR=$addr" "ADPROVIDER_ADMIN_ADDR=$(replica_addr "$ADPROVIDER_ADMIN_ADDR" "$1")" >/dev/null
  say "started $name on $addr (pid ${PIDS[$name]})"
}

# on_signal SIG: the trap of INT, TERM and HUP. It stops everything in order
# and exits 0: stopping is what the signal asked for.
on_signal() {
  trap '' INT TERM HUP # a second Ctrl-C must not cut the orderly stop short
  echo
  say "$1: stopping"
  stop_all "$1"
  exit 0
}

# stop_all ends everything in order, the caller first, then what it calls,
# and prints a one-line summary. It runs once.
stop_all() {
  [ -z "$STOPPING" ] || return 0
  STOPPING=1
  trap '' INT TERM HUP
  local t0=$SECONDS what stopped=()
  for what in "${!BUILDS[@]}"; do
    kill -TERM -- "-${BUILDS[$what]}" 2>/dev/null || kill -TERM "${BUILDS[$what]}" 2>/dev/null || true
    wait "${BUILDS[$what]}" 2>/dev/null || true
    stopped+=("the $what build")
  done
  local i
  for what in recommender $(for ((i = ${#ADPROVIDERS[@]} - 1; i >= 0; i--)); do echo "${ADPROVIDERS[i]}"; done); do
    if [ -n "${PIDS[$what]:-}" ]; then stop_service "$what"; stopped+=("$what"); fi
  done
  if [ -n "${PIDS[postgres]:-}" ]; then stop_postgres; stopped+=(PostgreSQL); fi
  if ((${#stopped[@]} > 0)); then
    local list
    list="$(printf '%s, ' "${stopped[@]}")"
    say "$SCRIPT stopped (${list%, }) in $((SECONDS - t0)) s"
  elif [ -n "${1:-}" ]; then
    say "$SCRIPT stopped before anything was started"
  fi
}

# install_traps: INT (Ctrl-C), TERM and HUP stop everything in order; so
# does any other exit of the script.
install_traps() {
  trap 'on_signal SIGINT' INT
  trap 'on_signal SIGTERM' TERM
  trap 'on_signal SIGHUP' HUP
  trap 'stop_all' EXIT
}

# sample_asin prints the ASIN of a reviewed product, to make the printed
# examples answer with something interesting.
sample_asin() {
  grpcurl -plaintext -d '{"page_size": 1}' "$RECOMMENDER_ADDR" recommender.v1.RecommenderService/ListReviews 2>/dev/null |
    sed -n 's/.*"asin": "\([0-9A-Z]\{10\}\)".*/\1/p' | head -n 1
}

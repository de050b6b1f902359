# shellcheck shell=bash
# Functions shared by run-all.sh and demo.sh: a private PostgreSQL, the two
# services, health waits and an orderly stop. Everything they start is
# recorded in $RUN_DIR/pids so that stop_all can end it, in order.

set -euo pipefail

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
export ADPROVIDER_TARGET="${ADPROVIDER_TARGET:-$ADPROVIDER_ADDR}"
export ADMIN_TOKEN="${ADMIN_TOKEN:-dev-admin-token}"
export BREAKER_CONFIG="${BREAKER_CONFIG:-$REPO_ROOT/deploy/breakers.json}"
[ -f "$BREAKER_CONFIG" ] || unset BREAKER_CONFIG

PG_OWN=""        # set when we started PostgreSQL ourselves
declare -A PIDS  # name -> pid

say() { printf '%s %s\n' "$(date +%H:%M:%S)" "$*"; }
die() { printf 'run-all: %s\n' "$*" >&2; exit 1; }

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
  if [ -z "${DATABASE_URL:-}" ]; then
    port_free "$PG_PORT" "private PostgreSQL" BREAKWATER_PG_PORT
  fi
}

pg_bindir() {
  local d
  if [ -n "${PG_BINDIR:-}" ] && [ -x "$PG_BINDIR/postgres" ]; then echo "$PG_BINDIR"; return; fi
  if command -v pg_config >/dev/null && d="$(pg_config --bindir 2>/dev/null)" && [ -x "$d/postgres" ]; then echo "$d"; return; fi
  for d in /usr/lib/postgresql/*/bin /usr/local/pgsql/bin /opt/homebrew/opt/postgresql@*/bin /usr/local/opt/postgresql@*/bin; do
    if [ -x "$d/postgres" ] && [ -x "$d/initdb" ]; then echo "$d"; return; fi
  done
  if command -v postgres >/dev/null && command -v initdb >/dev/null; then dirname "$(command -v postgres)"; return; fi
  return 1
}

# as_pg runs a PostgreSQL server binary; as root, as the postgres user
# (initdb and postgres refuse to run as root).
as_pg() {
  if [ "$(id -u)" -eq 0 ]; then
    id postgres >/dev/null 2>&1 || die "running as root needs a 'postgres' user to run the database (apt-get install postgresql creates it)"
    runuser -u postgres -- "$@"
  else
    "$@"
  fi
}

start_postgres() {
  if [ -n "${DATABASE_URL:-}" ] && [ -z "$PG_OWN" ]; then
    say "using DATABASE_URL (the password is not shown)"
    return
  fi
  local bin
  bin="$(pg_bindir)" || die "no PostgreSQL server binaries found and DATABASE_URL is not set: install them (Debian/Ubuntu: apt-get install postgresql; macOS: brew install postgresql@15) or set DATABASE_URL=postgres://user:pass@host:5432/db"
  mkdir -p "$RUN_DIR" "$LOG_DIR"
  touch "$LOG_DIR/postgres.log"
  if [ "$(id -u)" -eq 0 ]; then chown postgres "$RUN_DIR" "$LOG_DIR" "$LOG_DIR/postgres.log"; fi
  if [ ! -f "$PG_DATA/PG_VERSION" ]; then
    say "initialising a private PostgreSQL in ${PG_DATA#"$REPO_ROOT"/}"
    rm -rf "$PG_DATA"
    as_pg "$bin/initdb" -D "$PG_DATA" -U postgres -A trust -E UTF8 --locale=C >"$LOG_DIR/initdb.log" 2>&1 ||
      die "initdb failed; see $LOG_DIR/initdb.log"
  fi
  rm -f "$PG_DATA/postmaster.pid" 2>/dev/null || true # a stale one from a killed run
  as_pg "$bin/postgres" -D "$PG_DATA" -p "$PG_PORT" -c listen_addresses=127.0.0.1 -c unix_socket_directories= \
    >>"$LOG_DIR/postgres.log" 2>&1 &
  PIDS[postgres]=$!
  PG_OWN="$bin"
  local i
  for i in $(seq 1 100); do
    if "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT"; then break; fi
    kill -0 "${PIDS[postgres]}" 2>/dev/null || die "PostgreSQL exited at start-up; see $LOG_DIR/postgres.log"
    sleep 0.1
  done
  "$bin/pg_isready" -q -h 127.0.0.1 -p "$PG_PORT" || die "PostgreSQL did not become ready; see $LOG_DIR/postgres.log"
  if ! "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -Atqc "SELECT 1 FROM pg_database WHERE datname = 'breakwater'" postgres | grep -q 1; then
    "$bin/psql" -h 127.0.0.1 -p "$PG_PORT" -U postgres -qc "CREATE DATABASE breakwater" postgres >/dev/null
  fi
  export DATABASE_URL="postgres://postgres@127.0.0.1:$PG_PORT/breakwater?sslmode=disable"
  say "PostgreSQL up on 127.0.0.1:$PG_PORT (pid ${PIDS[postgres]})"
}

stop_postgres() {
  local pid="${PIDS[postgres]:-}"
  [ -n "$pid" ] || return 0
  say "stopping PostgreSQL"
  # $pid is the shell that runs postgres (through runuser as root); pg_ctl
  # finds the postmaster itself. Fast shutdown: disconnect clients, then stop.
  as_pg "$PG_OWN/pg_ctl" -D "$PG_DATA" stop -m fast -w >/dev/null 2>&1 || kill -INT "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset 'PIDS[postgres]'
}

build() {
  mkdir -p "$BIN_DIR" "$LOG_DIR"
  say "building adprovider, recommender and grpcurl into ${BIN_DIR#"$REPO_ROOT"/}"
  (cd "$REPO_ROOT" &&
    go build -o "$BIN_DIR/" ./services/adprovider/cmd/adprovider ./services/recommender/cmd/recommender &&
    go build -modfile=tools/go.mod -o "$BIN_DIR/" github.com/fullstorydev/grpcurl/cmd/grpcurl) ||
    die "build failed"
}

start_service() {
  local name=$1
  "$BIN_DIR/$name" >>"$LOG_DIR/$name.log" 2>&1 &
  PIDS[$name]=$!
  say "started $name (pid ${PIDS[$name]}, log ${LOG_DIR#"$REPO_ROOT"/}/$name.log)"
}

stop_service() {
  local name=$1 pid="${PIDS[$1]:-}"
  [ -n "$pid" ] || return 0
  kill -TERM "$pid" 2>/dev/null || true
  wait "$pid" 2>/dev/null || true
  unset "PIDS[$name]"
  say "stopped $name"
}

grpcurl() { "$BIN_DIR/grpcurl" "$@"; }

# wait_serving ADDR SERVICE waits until grpc.health.v1 says SERVING.
wait_serving() {
  local addr=$1 svc=$2 name=$3 i
  for i in $(seq 1 300); do
    if grpcurl -plaintext -max-time 1 -d "{\"service\":\"$svc\"}" "$addr" grpc.health.v1.Health/Check 2>/dev/null | grep -q '"SERVING"'; then
      say "$name is SERVING"
      return 0
    fi
    kill -0 "${PIDS[$name]}" 2>/dev/null || die "$name exited at start-up; its log: $(tail -n 5 "$LOG_DIR/$name.log")"
    sleep 0.2
  done
  die "$name did not become SERVING within a minute; see $LOG_DIR/$name.log"
}

start_all() {
  check_ports
  build
  start_postgres
  start_service adprovider
  start_service recommender
  wait_serving "$ADPROVIDER_ADDR" adprovider.v1.AdProviderService adprovider
  wait_serving "$RECOMMENDER_ADDR" recommender.v1.RecommenderService recommender
}

# stop_all ends everything in order: the caller first, then what it calls.
stop_all() {
  trap - INT TERM EXIT
  stop_service recommender
  stop_service adprovider
  stop_postgres
}

# sample_asin prints the ASIN of a reviewed product, to make the printed
# examples answer with something interesting.
sample_asin() {
  grpcurl -plaintext -d '{"page_size": 1}' "$RECOMMENDER_ADDR" recommender.v1.RecommenderService/ListReviews 2>/dev/null |
    sed -n 's/.*"asin": "\([0-9A-Z]\{10\}\)".*/\1/p' | head -n 1
}

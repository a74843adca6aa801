#!/usr/bin/env bash
# A private PostgreSQL cluster on loopback for tests and `make up` with Postgres (no Docker).
#
#   deploy/postgres/postgres.sh install   apt-get install postgresql when no server binaries exist
#   deploy/postgres/postgres.sh start     install if needed, initdb once, start, wait until ready
#   deploy/postgres/postgres.sh stop
#   deploy/postgres/postgres.sh status    exit 0 when it accepts connections
#   deploy/postgres/postgres.sh url [DB]  print the SQLAlchemy URL (postgresql+asyncpg://...)
#   deploy/postgres/postgres.sh where     print the cluster's data directory
#
# The cluster lives in $CHURNWATCH_LOCAL_DIR/postgres (default .local/postgres, git-ignored),
# listens only on 127.0.0.1:$CHURNWATCH_PG_PORT (default 25432) and trusts loopback connections:
# it is a development and test database, never a production one.
# Run as root, the server runs as the 'postgres' user; when that user cannot enter the clone
# (under /root, or in a `mktemp -d` folder) the cluster lives in its home instead, in
# ~postgres/churnwatch/<hash of the clone's path> (printed by `postgres.sh where`).
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
repo="$(cd "$here/../.." && pwd)"
base="${CHURNWATCH_LOCAL_DIR:-$repo/.local}/postgres"
port="${CHURNWATCH_PG_PORT:-25432}"
user="churnwatch"

log() { printf '[postgres] %s\n' "$*" >&2; }

# Where the cluster lives (sets base and data): in the clone when the server's user can reach it.
locate() {
  if [[ "$(id -u)" == 0 ]] && id postgres >/dev/null 2>&1; then
    mkdir -p "$(dirname "$base")"
    if ! (cd / && runuser -u postgres -- test -x "$(dirname "$base")"); then
      local home key
      home="$(getent passwd postgres | cut -d: -f6)"
      key="$(printf '%s' "$base" | sha256sum | cut -c1-16)"
      base="$home/churnwatch/$key"
      [[ -d "$base" ]] || (cd / && runuser -u postgres -- mkdir -p "$base")
    fi
  fi
  data="$base/data"
}

bindir() {
  local dir
  dir="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -n 1 || true)"
  [[ -n "$dir" && -x "$dir/pg_ctl" ]] && echo "$dir"
}

install() {
  if bindir >/dev/null; then return 0; fi
  log "installing PostgreSQL from Debian packages"
  local sudo=""
  [[ "$(id -u)" != 0 ]] && sudo="sudo"
  $sudo apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq postgresql >/dev/null
  # Debian's package starts a cluster of its own on 5432; ours is separate and on its own port.
}

# PostgreSQL refuses to run as root: run its tools as the 'postgres' system user then.
as_pg() {
  if [[ "$(id -u)" == 0 ]]; then
    (cd / && runuser -u postgres -- "$@") # from /: its user may not be allowed into the clone
  else
    "$@"
  fi
}

ready() { as_pg "$(bindir)/pg_isready" -q -h 127.0.0.1 -p "$port" 2>/dev/null; }

start() {
  install
  locate
  local bin
  bin="$(bindir)"
  if ready; then
    log "already running on 127.0.0.1:$port"
    return 0
  fi
  mkdir -p "$base"
  [[ "$(id -u)" == 0 ]] && chown postgres:postgres "$base"
  if [[ ! -f "$data/PG_VERSION" ]]; then
    log "initdb $data"
    as_pg "$bin/initdb" -D "$data" -U "$user" --auth=trust -E UTF8 --locale=C.UTF-8 >/dev/null
  fi
  as_pg "$bin/pg_ctl" -D "$data" -l "$base/server.log" -w -t 60 \
    -o "-c listen_addresses=127.0.0.1 -p $port -k $base -c fsync=on -c max_connections=200" start >/dev/null
  log "ready on 127.0.0.1:$port (logs in $base/server.log)"
}

stop() {
  local bin
  bin="$(bindir)" || { log "not installed"; return 0; }
  locate
  if [[ -f "$data/postmaster.pid" ]]; then
    as_pg "$bin/pg_ctl" -D "$data" -m fast -w stop >/dev/null || true
  fi
  log "stopped"
}

createdb() {
  local db="$1"
  as_pg "$(bindir)/psql" -h 127.0.0.1 -p "$port" -U "$user" -d postgres -tAc \
    "SELECT 1 FROM pg_database WHERE datname='$db'" | grep -q 1 ||
    as_pg "$(bindir)/createdb" -h 127.0.0.1 -p "$port" -U "$user" "$db"
}

case "${1:-}" in
  install) install ;;
  start) start ;;
  stop) stop ;;
  status) if ready; then log "up on 127.0.0.1:$port"; else log "down"; exit 1; fi ;;
  createdb) createdb "${2:?database name}" ;;
  where) locate && echo "$data" ;;
  url) echo "postgresql+asyncpg://$user@127.0.0.1:$port/${2:-churnwatch}" ;;
  *) echo "usage: $0 install|start|stop|status|createdb DB|url [DB]|where" >&2; exit 2 ;;
esac

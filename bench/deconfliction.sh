#!/usr/bin/env bash
# The deconfliction benchmark, end to end, on SQLite and PostgreSQL side by
# side, and PostGIS on the same data. Never part of the test command.
#
#   bash bench/deconfliction.sh [SIZES]      (default 1000000,10000000)
#
# 1. A durable private PostgreSQL 15 (fsync and synchronous_commit on, as
#    Debian ships them; the settings of bench/postgresql-bench.conf) with
#    PostGIS 3 (Debian's packages, installed here when missing) on
#    127.0.0.1:54329, data under target/bench-data/pg, stopped on exit.
# 2. `cargo bench -p taskforce --bench deconfliction_http` builds (once, cached
#    in target/bench-data/events-N/) a database of N clustered events and the
#    same events as TSV, copies it to that PostgreSQL with `taskforce db copy`
#    (timed, once), then measures the engine, each server's start, and
#    POST /api/v1/events/check and POST /api/v1/events at 200 requests/s from
#    8 connections on SQLite and then on PostgreSQL, and writes results.json.
# 3. PostGIS on the same events (BENCH_POSTGIS=0 leaves it out), with the best
#    index of the reference baseline (one GiST over location and time
#    together), the same 2,000 query events, EXPLAIN ANALYZE for the
#    in-server execution time of each, and the ratio against the engine.
#    The conflict counts of both are printed side by side as a cross-check.
set -euo pipefail
cd "$(dirname "$0")/.."
SIZES=${1:-${BENCH_EVENTS:-1000000,10000000}}
ROOT=${TASKFORCE_BENCH_DIR:-$PWD/target/bench-data}
mkdir -p "$ROOT"
ROOT=$(cd "$ROOT" && pwd)

# --- the durable PostgreSQL ------------------------------------------------------
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo
PGBIN=/usr/lib/postgresql/15/bin
if ! [ -x "$PGBIN/postgres" ] || ! [ -e /usr/share/postgresql/15/extension/postgis.control ]; then
  echo "installing PostgreSQL 15 and PostGIS 3 (Debian packages) ..."
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends \
    postgresql-15 postgresql-15-postgis-3 postgresql-15-postgis-3-scripts >/dev/null
fi
PG=$ROOT/pg
PORT=54329
run_pg() { if [ "$(id -u)" = 0 ]; then su postgres -c "$*"; else bash -c "$*"; fi; }
if [ ! -d "$PG/data" ]; then
  mkdir -p "$PG"
  [ "$(id -u)" = 0 ] && chown postgres:postgres "$PG"
  run_pg "$PGBIN/initdb -D $PG/data -E UTF8 --locale=C.UTF-8 -U postgres --auth=trust" >/dev/null
  { cat bench/postgresql-bench.conf; cat <<CONF
listen_addresses = '127.0.0.1'
port = $PORT
unix_socket_directories = '$PG'
max_parallel_maintenance_workers = 1
CONF
  } >> "$PG/data/postgresql.conf"
fi
run_pg "$PGBIN/pg_ctl -D $PG/data -l $PG/server.log status" >/dev/null 2>&1 \
  || run_pg "$PGBIN/pg_ctl -D $PG/data -l $PG/server.log start -w" >/dev/null
trap 'run_pg "$PGBIN/pg_ctl -D $PG/data stop -m fast" >/dev/null 2>&1 || true' EXIT
export PGHOST=127.0.0.1 PGPORT=$PORT PGUSER=postgres


BENCH_PG=postgres://postgres@127.0.0.1:$PORT BENCH_EVENTS=$SIZES TASKFORCE_BENCH_DIR=$ROOT \
  cargo bench -p taskforce --bench deconfliction_http

# --- PostGIS -----------------------------------------------------------------
[ "${BENCH_POSTGIS:-1}" = 0 ] && exit 0
for N in ${SIZES//,/ }; do
  DIR=$ROOT/events-$N
  DB=events_$N
  if ! psql -X -qAt -d "$DB" -c "SELECT 1 FROM pg_indexes WHERE indexname = 'ev_geog_during_gist'" 2>/dev/null | grep -q 1; then
    echo "loading $N events into PostGIS ($DB) ..."
    psql -X -q -d postgres -c "DROP DATABASE IF EXISTS $DB" -c "CREATE DATABASE $DB"
    START=$(date +%s)
    psql -X -q -v ON_ERROR_STOP=1 -d "$DB" <<SQL
CREATE EXTENSION postgis;
CREATE EXTENSION btree_gist;
CREATE UNLOGGED TABLE stage (id bigint, agency int, radius_m real, lon float8, lat float8, w0 bigint, w1 bigint);
\copy stage FROM '$DIR/events.tsv'
CREATE TABLE events AS SELECT id, agency, radius_m,
  ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography AS geog,
  tstzrange(to_timestamp(w0), to_timestamp(w1)) AS during FROM stage;
TRUNCATE stage;
\copy stage FROM '$DIR/queries.tsv'
CREATE TABLE qev AS SELECT id, agency, radius_m,
  ST_SetSRID(ST_MakePoint(lon, lat), 4326)::geography AS geog,
  tstzrange(to_timestamp(w0), to_timestamp(w1)) AS during FROM stage;
DROP TABLE stage;
ALTER TABLE qev ADD PRIMARY KEY (id);
CREATE INDEX ev_geog_during_gist ON events USING gist (geog, during);
VACUUM ANALYZE events;
VACUUM ANALYZE qev;
SQL
    echo "  loaded and indexed in $(( $(date +%s) - START )) s"
  fi
  Q="FROM qev q JOIN events e
  ON ST_DWithin(e.geog, q.geog, q.radius_m + 1000, false)
 AND ST_DWithin(e.geog, q.geog, e.radius_m + q.radius_m, false)
 AND e.during && q.during
 AND e.agency <> q.agency"
  # Warm the cache once, then time each query in the server.
  psql -X -qAt -d "$DB" -c "SELECT count(*) $Q" > "$DIR/pg_hits.txt"
  for i in $(seq 1 2000); do
    echo "EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) SELECT e.id $Q WHERE q.id = $i;"
  done > "$DIR/pg_explain.sql"
  psql -X -q -d "$DB" -f "$DIR/pg_explain.sql" | awk '/Execution Time/ {print $3}' > "$DIR/pg_exec_ms.txt"
  python3 - "$DIR" <<'PY'
import json, statistics, sys
d = sys.argv[1]
ms = sorted(float(x) for x in open(f"{d}/pg_exec_ms.txt") if x.strip())
r = json.load(open(f"{d}/results.json"))
p = lambda q: ms[round((len(ms) - 1) * q)]
pg50, pg99 = p(0.5), p(0.99)
e50, e99 = r["engine_p50_us"] / 1000, r["engine_p99_us"] / 1000
print(f"== PostGIS on the same {r['events']} events, the same 2,000 query events ==")
print(f"PostGIS in-server execution (EXPLAIN ANALYZE, n={len(ms)}): median {pg50:.3f} ms, p99 {pg99:.3f} ms")
print(f"engine: median {e50*1000:.2f} µs, p99 {e99*1000:.2f} µs  ->  {pg50/e50:.0f}x faster at the median, {pg99/e99:.0f}x at p99")
hits = open(f"{d}/pg_hits.txt").read().strip()
print(f"conflicts over the 2,000 queries: PostGIS {hits}, engine {r.get('engine_hits')}")
PY
done

#!/usr/bin/env bash
# PostgreSQL anchor for the `subjects` bench: pg_trgm fuzzy person-name search
# on the same data (`../shared/reference/perf/gen_data.py`, `persons.tsv` and
# `qnames.tsv`), so the two can be shown side by side.
#
# ```text
# python3 ../shared/reference/perf/gen_data.py 0 5000000 DIR
# bash crates/core/benches/pg_names.sh DIR [EVERY]
# ```
# (never part of the test command). It starts a private PostgreSQL 15 (initdb in
# a fresh temporary folder, a free loopback port, trust auth, the unix socket in
# that folder; as root the server runs as the `postgres` user), removed again on
# every exit. Schema, indexes and queries are those of
# `../shared/reference/perf/` (03_names_schema.sql, 04_names_indexes.sql,
# q_name.sql, q_name_dob.sql): a GIN gin_trgm_ops index on full_name, a btree on
# dob, VACUUM ANALYZE, pg_trgm.similarity_threshold = 0.5.
#   name without date of birth: full_name % query ORDER BY sim DESC LIMIT 20
#   person with date of birth:  dob = q.dob AND similarity(full_name, query) >= 0.5
# EVERY=K asks every K-th query of each typo count (1 typo: qids 1-1000,
# 2 typos: 1001-2000), of both kinds. Reports: COPY and index build times, the
# on-disk sizes, then per (kind, typos) the median and p99 execution time, the
# recall (the target among the rows the query returns) and the false matches
# (other rows returned). Figures only: no name is ever printed.
#
# Timing: the server-side "Execution Time" of
# EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) <query>, one psql session for all the
# EXPLAINs (as the reference bench_pg_names.sh does): the executor alone, without
# parsing, planning and the client round trip. Recall and false matches come from
# a first pass that runs the real queries, verbatim, in one psql session; that
# pass also warms the caches before the timed pass.
# Percentiles as in the Rust benches: sorted[round((n - 1) * q)].
set -euo pipefail

usage() { echo "usage: bash $0 DIR [EVERY]   (DIR holds persons.tsv and qnames.tsv from gen_data.py)" >&2; exit 2; }
[ $# -ge 1 ] && [ $# -le 2 ] || usage
DIR=$(cd "$1" && pwd) || usage
EVERY=${2:-1}
[[ "$EVERY" =~ ^[1-9][0-9]*$ ]] || usage
for f in persons.tsv qnames.tsv; do
  [ -s "$DIR/$f" ] || { echo "no $DIR/$f (run gen_data.py 0 N DIR first)" >&2; exit 2; }
done

THRESHOLD=0.5
CONF_FILE=$(cd "$(dirname "$0")/../../.." && pwd)/bench/postgresql-bench.conf
PGBIN=/usr/lib/postgresql/15/bin
[ -x "$PGBIN/postgres" ] && [ -x "$PGBIN/initdb" ] && [ -x "$PGBIN/psql" ] \
  || { echo "PostgreSQL 15 is not installed ($PGBIN): apt-get install postgresql-15 postgresql-contrib" >&2; exit 1; }
EXT=$("$PGBIN/pg_config" --sharedir)/extension
LIB=$("$PGBIN/pg_config" --pkglibdir)
if [ ! -f "$EXT/pg_trgm.control" ] || [ ! -f "$LIB/pg_trgm.so" ]; then
  echo "pg_trgm is not installed ($EXT/pg_trgm.control, $LIB/pg_trgm.so): apt-get install postgresql-contrib" >&2
  exit 1
fi

# The server must not run as root: use the postgres system user (or make one).
if [ "$(id -u)" -eq 0 ]; then
  PGOS=postgres
  if ! id -u "$PGOS" >/dev/null 2>&1; then
    PGOS=taskforce-pg
    id -u "$PGOS" >/dev/null 2>&1 || useradd --system --no-create-home --shell /usr/sbin/nologin "$PGOS"
  fi
  as_pg() { (cd "$B" && runuser -u "$PGOS" -- "$@"); }
else
  as_pg() { (cd "$B" && "$@"); }
fi

B=$(mktemp -d "${TMPDIR:-/tmp}/pg_names.XXXXXX")
STARTED=0
CHILD=
cleanup() {
  set +e
  [ -n "$CHILD" ] && kill "$CHILD" 2>/dev/null
  if [ "$STARTED" -eq 1 ]; then
    as_pg "$PGBIN/pg_ctl" -D "$B/data" -m fast -w stop >/dev/null 2>&1
  fi
  rm -rf "$B"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM HUP
[ "$(id -u)" -eq 0 ] && chown "$PGOS:" "$B"
chmod 700 "$B"

as_pg "$PGBIN/initdb" -D "$B/data" -E UTF8 --locale=C.UTF-8 -U postgres --auth=trust >/dev/null
# As ../shared/reference/perf/setup_pg.sh, but no parallel workers at all.
{ cat "$CONF_FILE"; cat <<CONF
listen_addresses = '127.0.0.1'
unix_socket_directories = '$B'
max_parallel_maintenance_workers = 0
max_parallel_workers = 0
CONF
} >> "$B/data/postgresql.conf"

# A free loopback port: ask the kernel for one, retry if someone takes it first.
PORT=
for _ in 1 2 3 4 5; do
  p=$(python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])')
  STARTED=1
  if as_pg "$PGBIN/pg_ctl" -D "$B/data" -l "$B/server.log" -o "-p $p" -w -t 120 start >/dev/null; then
    PORT=$p; break
  fi
  STARTED=0
done
if [ -z "$PORT" ]; then
  echo "could not start PostgreSQL; its log:" >&2
  tail -n 20 "$B/server.log" >&2 || true
  exit 1
fi

# Terse errors: no CONTEXT line that could quote a data row.
PSQL=("$PGBIN/psql" -X -q -v ON_ERROR_STOP=1 -v VERBOSITY=terse -h "$B" -p "$PORT" -U postgres)
"${PSQL[@]}" -d postgres -c "CREATE DATABASE names"
PSQL+=(-d names)
"${PSQL[@]}" -c "ALTER DATABASE names SET pg_trgm.similarity_threshold = $THRESHOLD"
"${PSQL[@]}" <<'SQL'
CREATE EXTENSION pg_trgm;
CREATE TABLE persons (id int PRIMARY KEY, agency int NOT NULL, full_name text NOT NULL, dob date NOT NULL);
CREATE TABLE qnames (id int PRIMARY KEY, target_id int, query text, dob date, ntypos int);
SQL

secs_since() { awk -v a="$1" -v b="$EPOCHREALTIME" 'BEGIN { printf "%.1f", b - a }'; }
sql1() { "${PSQL[@]}" -At -c "$1"; }
# The long ones run in the background and are waited for, so that a signal
# stops the run at once (bash runs traps only between foreground commands).
pg() { "${PSQL[@]}" "$@" <&0 & CHILD=$!; wait "$CHILD"; CHILD=; }

echo "PostgreSQL $(sql1 "SHOW server_version") with pg_trgm $(sql1 "SELECT extversion FROM pg_extension WHERE extname = 'pg_trgm'"),"\
" similarity_threshold $(sql1 "SHOW pg_trgm.similarity_threshold"), shared_buffers $(sql1 "SHOW shared_buffers"),"\
" jit $(sql1 "SHOW jit"), parallel workers per gather $(sql1 "SHOW max_parallel_workers_per_gather")"

t=$EPOCHREALTIME
pg -c "COPY persons FROM STDIN" < "$DIR/persons.tsv"
t_persons=$(secs_since "$t")
t=$EPOCHREALTIME
pg -c "COPY qnames FROM STDIN" < "$DIR/qnames.tsv"
t_qnames=$(secs_since "$t")
NPERSONS=$(sql1 "SELECT count(*) FROM persons")
NQNAMES=$(sql1 "SELECT count(*) FROM qnames")
echo "COPY of $NPERSONS persons (primary key on id): $t_persons s; COPY of $NQNAMES query names: $t_qnames s"

t=$EPOCHREALTIME
pg -c "CREATE INDEX persons_name_trgm ON persons USING gin (full_name gin_trgm_ops)"
t_gin=$(secs_since "$t")
t=$EPOCHREALTIME
pg -c "CREATE INDEX persons_dob ON persons (dob)"
t_dob=$(secs_since "$t")
t=$EPOCHREALTIME
pg -c "VACUUM ANALYZE persons" -c "VACUUM ANALYZE qnames"
t_vac=$(secs_since "$t")
"${PSQL[@]}" -c "CHECKPOINT"
echo "index build: GIN gin_trgm_ops on full_name $t_gin s, btree on dob $t_dob s; VACUUM ANALYZE $t_vac s"
sql1 "SELECT 'on disk: table (heap) ' || round(pg_relation_size('persons') / 1048576.0, 1)
   || ' MB, GIN trigram index ' || round(pg_relation_size('persons_name_trgm') / 1048576.0, 1)
   || ' MB, btree dob ' || round(pg_relation_size('persons_dob') / 1048576.0, 1)
   || ' MB, primary key ' || round(pg_relation_size('persons_pkey') / 1048576.0, 1)
   || ' MB; total with TOAST and indexes ' || round(pg_total_relation_size('persons') / 1048576.0, 1) || ' MB'"

# The queries asked: within each typo count, every EVERY-th in file order (as the
# Rust bench's BENCH_UNDATED_EVERY). Only ids and typo counts are read here.
awk -F'\t' -v every="$EVERY" '{ if (++seen[$5] % every == 0) print $1 }' "$DIR/qnames.tsv" > "$B/qids"
sql1 "SELECT 'target similarity >= $THRESHOLD (the ceiling on recall), ' || ntypos || ' typo(s), queries asked: '
   || count(*) FILTER (WHERE similarity(p.full_name, q.query) >= $THRESHOLD) || '/' || count(*)
   FROM (SELECT *, row_number() OVER (PARTITION BY ntypos ORDER BY id) AS rn FROM qnames) q
   JOIN persons p ON p.id = q.target_id WHERE q.rn % $EVERY = 0 GROUP BY ntypos ORDER BY ntypos"

# The reference queries, verbatim but for the query id.
q_dob() { echo "SELECT p.id, similarity(p.full_name, q.query) AS sim FROM qnames q JOIN persons p ON p.dob = q.dob AND similarity(p.full_name, q.query) >= $THRESHOLD WHERE q.id = $1;"; }
q_name() { echo "SELECT p.id, similarity(p.full_name, q.query) AS sim FROM qnames q JOIN persons p ON p.full_name % q.query WHERE q.id = $1 ORDER BY sim DESC LIMIT 20;"; }
while read -r id; do
  for kind in dob name; do
    echo "\\echo '#' $kind $id"
    "q_$kind" "$id"
  done
done < "$B/qids" > "$B/real.sql"
while read -r id; do
  for kind in dob name; do
    echo "\\echo '#' $kind $id"
    echo "EXPLAIN (ANALYZE, TIMING OFF, COSTS OFF) $("q_$kind" "$id")"
  done
done < "$B/qids" > "$B/explain.sql"

t=$EPOCHREALTIME
pg -At -F $'\t' -f "$B/real.sql" > "$B/real.out"
t_real=$(secs_since "$t")
t=$EPOCHREALTIME
pg -At -f "$B/explain.sql" > "$B/explain.plans"
grep -E '^#|Execution Time' "$B/explain.plans" > "$B/explain.out"
t_explain=$(secs_since "$t")
echo "real queries pass (recall, warm-up): $t_real s; EXPLAIN ANALYZE pass (timing): $t_explain s"

python3 - "$DIR/qnames.tsv" "$B/qids" "$B/real.out" "$B/explain.out" <<'PY'
import math, sys

qnames, qids, real, explain = sys.argv[1:5]
target, typos = {}, {}
with open(qnames) as f:
    for line in f:
        c = line.rstrip("\n").split("\t")
        target[int(c[0])], typos[int(c[0])] = int(c[1]), int(c[4])  # never c[2], the name
asked = [int(l) for l in open(qids) if l.strip()]

def marked(path):
    """{(kind, qid): [lines after its '# kind qid' marker]}"""
    out, cur = {}, None
    for line in open(path):
        line = line.rstrip("\n")
        if line.startswith("#"):
            _, kind, qid = line.split()
            cur = (kind, int(qid))
            out[cur] = []
        elif line:
            out[cur].append(line)
    return out

rows, plans = marked(real), marked(explain)

def pct(v, q):
    return v[int(math.floor((len(v) - 1) * q + 0.5))]

def ms(x):
    return f"{x:.3f}" if x < 10 else f"{x:.1f}"

for kind, label in (("dob", "person with date of birth"), ("name", "name without date of birth")):
    for nt in (1, 2):
        times, found, false_matches, n = [], 0, 0, 0
        for q in asked:
            if typos[q] != nt:
                continue
            n += 1
            ids = [int(r.split("\t")[0]) for r in rows[(kind, q)]]
            found += target[q] in ids
            false_matches += sum(1 for i in ids if i != target[q])
            t = [l for l in plans[(kind, q)] if l.startswith("Execution Time:")]
            assert len(t) == 1, (kind, q)
            times.append(float(t[0].split()[2]))
        times.sort()
        head = f"pg_trgm {label}, {nt} typo{'' if nt == 1 else 's'}"
        print(f"{head:<45} n={n:<5} median {ms(pct(times, 0.5))} ms  p99 {ms(pct(times, 0.99))} ms  "
              f"recall {found}/{n} = {100 * found / n:.1f} %  "
              f"false matches {false_matches} ({false_matches / n:.2f} a query)")
PY

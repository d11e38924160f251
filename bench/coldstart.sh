#!/usr/bin/env bash
# How long the release server takes to rebuild its deconfliction index from
# the events table alone (no snapshot): removes DIR/taskforce.db.dxindex,
# starts `target/release/taskforce serve --demo --demo-skip-mfa` on DIR's
# database, prints the server's "index ready" log line (ms=...), the time
# until /healthz answers and the peak memory, then stops the server (which
# writes a fresh snapshot). Never part of the test command.
#
#   cargo build --release -p taskforce
#   bash bench/coldstart.sh target/bench-data/events-10000000
set -euo pipefail
d=${1:?usage: bench/coldstart.sh DIR (holding taskforce.db and taskforce.key)}
bin=$(dirname "$0")/../target/release/taskforce
rm -f "$d/taskforce.db.dxindex"
port=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
TASKFORCE_LOG=warn,taskforce::commands::serve=info "$bin" serve --demo --demo-skip-mfa \
  --listen "127.0.0.1:$port" --db "$d/taskforce.db" >/dev/null 2>"$d/coldstart.log" &
pid=$!
t0=$(date +%s.%N)
until curl -sf "http://127.0.0.1:$port/healthz" >/dev/null; do
  sleep 0.05
  if ! kill -0 "$pid" 2>/dev/null; then cat "$d/coldstart.log" >&2; exit 1; fi
done
t1=$(date +%s.%N)
grep "index ready" "$d/coldstart.log" || true
echo "answered after $(python3 -c "print(round($t1 - $t0, 2))") s; peak $(grep VmHWM "/proc/$pid/status")"
kill -TERM "$pid"
wait "$pid" || true

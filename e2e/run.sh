#!/usr/bin/env bash
# Browser tests: installs what is missing (Debian's chromium with apt,
# playwright-core and axe with `npm ci`), starts the debug binary on a free
# loopback port with a fresh demo database, runs `node --test` on every
# *.test.mjs here (or the files named as arguments), and stops the server by its pid. Prints node's closing
# lines (# pass N / # fail N). Screenshots land in e2e/screenshots/.
set -euo pipefail
cd "$(dirname "$0")"
SUDO=""; [ "$(id -u)" = 0 ] || SUDO=sudo

if ! [ -x /usr/bin/chromium ]; then
  echo "==> installing chromium (Debian package)" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends chromium >/dev/null
fi
if ! command -v node >/dev/null 2>&1; then
  echo "==> installing nodejs and npm (Debian packages)" >&2
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends nodejs npm >/dev/null
fi
if ! [ -d node_modules/playwright-core ] || ! [ -d node_modules/@axe-core/playwright ]; then
  echo "==> npm ci (playwright-core, @axe-core/playwright; no browser download)" >&2
  npm ci --no-audit --no-fund --loglevel=error
fi

BIN=${TASKFORCE_BIN:-../target/debug/taskforce}
if ! [ -x "$BIN" ]; then
  (cd .. && cargo build --locked -p taskforce)
fi

WORK=$(mktemp -d)
PORT=$(python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])')
export TASKFORCE_DEMO_PASSWORD=e2e-demo-password-1
"$BIN" serve --demo --db "$WORK/e2e.db" --listen "127.0.0.1:$PORT" >"$WORK/stdout.log" 2>"$WORK/server.log" &
PID=$!
cleanup() { kill "$PID" 2>/dev/null || true; wait "$PID" 2>/dev/null || true; rm -rf "$WORK"; }
trap cleanup EXIT
for _ in $(seq 1 200); do
  if python3 -c "import urllib.request,sys; urllib.request.urlopen('http://127.0.0.1:$PORT/healthz', timeout=2)" 2>/dev/null; then break; fi
  if ! kill -0 "$PID" 2>/dev/null; then echo "the server did not start:" >&2; cat "$WORK/server.log" >&2; exit 1; fi
  sleep 0.1
done
mkdir -p screenshots
mkdir -m 700 "$WORK/sessions"
export BASE_URL="http://127.0.0.1:$PORT" DEMO_PASSWORD="$TASKFORCE_DEMO_PASSWORD" E2E_SESSIONS="$WORK/sessions"
status=0
if [ "$#" -gt 0 ]; then files=("$@"); else files=(./*.test.mjs); fi
node --test --test-concurrency=1 "${files[@]}" || status=$?
if [ "$status" != 0 ]; then
  echo "---- server log (last 40 lines) ----" >&2
  tail -40 "$WORK/server.log" >&2
fi
exit "$status"

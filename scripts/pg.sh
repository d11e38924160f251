#!/usr/bin/env bash
# A private PostgreSQL for the tests, sourced by scripts/test: installs
# Debian's postgresql-15 when it is missing, makes a cluster in a temporary
# folder (as the `postgres` user when run as root: the server refuses to run
# as root), starts it on a free loopback port with trust authentication on
# loopback only, and exports TASKFORCE_TEST_PG_URL for the tests. `pg_stop`
# stops it and removes the folder; scripts/test calls it on exit.
#
# fsync is off: the tests prove what the store does, not the disk, and a
# cluster that lives for one run needs no crash safety. (The benchmarks
# start their own, durable, server.)

PGBIN=${PGBIN:-/usr/lib/postgresql/15/bin}

# Runs a command as the cluster's owner.
pg_run() {
  if [ "$(id -u)" = 0 ]; then su postgres -s /bin/bash -c "$*"; else bash -c "$*"; fi
}

# A loopback port nothing listens on.
pg_free_port() {
  local p
  for _ in $(seq 1 50); do
    p=$((20000 + RANDOM % 40000))
    if ! (exec 3<>"/dev/tcp/127.0.0.1/$p") 2>/dev/null; then echo "$p"; return 0; fi
  done
  echo "no free loopback port found" >&2; return 1
}

# A CA of this run's own, a server certificate it signed (for localhost and
# 127.0.0.1), and a second CA that signed nothing here: the TLS tests trust
# the first and must refuse the second.
pg_certs() {
  if ! command -v openssl >/dev/null 2>&1; then
    local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends openssl >/dev/null
  fi
  local d=$PG_DIR ec=(-newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes)
  for ca in ca other-ca; do
    openssl req -x509 "${ec[@]}" -days 2 -subj "/CN=Taskforce test $ca" -keyout "$d/$ca.key" -out "$d/$ca.pem" \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign 2>/dev/null
  done
  openssl req "${ec[@]}" -subj "/CN=localhost" -keyout "$d/server.key" -out "$d/server.csr" 2>/dev/null
  printf 'subjectAltName=DNS:localhost,IP:127.0.0.1\nextendedKeyUsage=serverAuth\n' > "$d/server.ext"
  openssl x509 -req -in "$d/server.csr" -CA "$d/ca.pem" -CAkey "$d/ca.key" -CAcreateserial -days 2 \
    -extfile "$d/server.ext" -out "$d/server.crt" 2>/dev/null
  chmod 600 "$d/server.key"
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$d/server.key" "$d/server.crt"; fi
  export TASKFORCE_TEST_PG_CA="$d/ca.pem" TASKFORCE_TEST_PG_OTHER_CA="$d/other-ca.pem"
}

pg_start() {
  local sudo=""; [ "$(id -u)" = 0 ] || sudo=sudo
  if ! [ -x "$PGBIN/postgres" ]; then
    echo "==> installing postgresql-15 (Debian package)" >&2
    $sudo apt-get update -qq
    DEBIAN_FRONTEND=noninteractive $sudo apt-get install -y -qq --no-install-recommends postgresql-15 >/dev/null
  fi
  PG_DIR=$(mktemp -d)
  if [ "$(id -u)" = 0 ]; then chown postgres:postgres "$PG_DIR"; fi
  PG_PORT=$(pg_free_port)
  pg_certs
  pg_run "'$PGBIN/initdb' -D '$PG_DIR/data' -E UTF8 --locale=C.UTF-8 -U postgres --auth-local=trust --auth-host=scram-sha-256" >/dev/null
  { echo "host all postgres 127.0.0.1/32 trust"; cat "$PG_DIR/data/pg_hba.conf"; } > "$PG_DIR/hba" && cat "$PG_DIR/hba" > "$PG_DIR/data/pg_hba.conf"
  cat >> "$PG_DIR/data/postgresql.conf" <<CONF
listen_addresses = '127.0.0.1'
port = $PG_PORT
unix_socket_directories = '$PG_DIR'
fsync = off
max_connections = 300
ssl = on
ssl_cert_file = '$PG_DIR/server.crt'
ssl_key_file = '$PG_DIR/server.key'
CONF
  pg_run "'$PGBIN/pg_ctl' -D '$PG_DIR/data' -l '$PG_DIR/server.log' start -w" >/dev/null
  # A password for this run only (the tests also try a wrong one).
  local pw; pw=$(od -An -N12 -tx1 /dev/urandom | tr -d ' \n')
  pg_run "'$PGBIN/psql' -q -h '$PG_DIR' -p $PG_PORT -U postgres -c \"ALTER ROLE postgres PASSWORD '$pw'\"" >/dev/null
  # Plain TCP for the bulk of the tests; the TLS tests ask for verify-full themselves.
  export TASKFORCE_TEST_PG_URL="postgres://postgres:$pw@127.0.0.1:$PG_PORT/postgres?sslmode=disable"
  echo "==> a private PostgreSQL 15 on 127.0.0.1:$PG_PORT" >&2
}

pg_stop() {
  if [ -n "${PG_DIR:-}" ] && [ -d "$PG_DIR/data" ]; then
    pg_run "'$PGBIN/pg_ctl' -D '$PG_DIR/data' stop -m fast" >/dev/null 2>&1 || true
    rm -rf "$PG_DIR"
  fi
}

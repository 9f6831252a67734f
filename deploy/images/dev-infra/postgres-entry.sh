#!/bin/sh
# PostgreSQL 15 for the dev overlay, as the image's non-root user. On an empty
# volume: initdb with POSTGRES_PASSWORD (scram-sha-256, also from the pod
# network) and the `ferretdb` database; then the server in the foreground.
#   PGDATA                      data directory (on the volume)
#   POSTGRES_PASSWORD           the `postgres` role's password (required)
#   POSTGRES_PORT               default 5432
#   POSTGRES_LISTEN_ADDRESSES   default * (a pod has its own network)
set -eu
: "${PGDATA:?set PGDATA}" "${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}"
bin=/usr/lib/postgresql/15/bin
if [ ! -s "$PGDATA/PG_VERSION" ]; then
  rm -rf "$PGDATA"  # left by an interrupted first start
  mkdir -p "$PGDATA"
  chmod 700 "$PGDATA"
  pwfile=$(mktemp)
  printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
  "$bin/initdb" -D "$PGDATA" -U postgres -A scram-sha-256 --pwfile="$pwfile" \
    -E UTF8 --locale=C.UTF-8 >/tmp/initdb.log 2>&1 || { cat /tmp/initdb.log >&2; exit 1; }
  rm -f "$pwfile"
  printf 'host all all 0.0.0.0/0 scram-sha-256\nhost all all ::/0 scram-sha-256\n' >> "$PGDATA/pg_hba.conf"
  echo "CREATE DATABASE ferretdb;" | "$bin/postgres" --single -D "$PGDATA" -c unix_socket_directories= postgres >/dev/null
  echo "postgres-entry: initialised $PGDATA with database ferretdb" >&2
fi
exec "$bin/postgres" -D "$PGDATA" -c "listen_addresses=${POSTGRES_LISTEN_ADDRESSES:-*}" \
  -c "port=${POSTGRES_PORT:-5432}" -c unix_socket_directories=/tmp -c logging_collector=off

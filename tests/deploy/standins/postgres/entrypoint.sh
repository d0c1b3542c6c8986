#!/bin/bash
# The official image's contract: initialise an empty PGDATA from POSTGRES_* once, then run the server as postgres.
set -euo pipefail

as_postgres=(setpriv --reuid postgres --regid postgres --init-groups)

initialise() {
    : "${POSTGRES_PASSWORD:?POSTGRES_PASSWORD is required to initialise an empty $PGDATA}"
    local user=${POSTGRES_USER:-postgres}
    local db=${POSTGRES_DB:-$user}
    local pwfile
    pwfile=$(mktemp)
    printf '%s\n' "$POSTGRES_PASSWORD" > "$pwfile"
    chown postgres "$pwfile"
    "${as_postgres[@]}" initdb --username "$user" --pwfile "$pwfile" --auth-local trust --auth-host scram-sha-256
    rm -f "$pwfile"
    echo "host all all all scram-sha-256" >> "$PGDATA/pg_hba.conf"
    echo "listen_addresses = '*'" >> "$PGDATA/postgresql.conf"
    if [ "$db" != postgres ]; then
        echo "CREATE DATABASE \"$db\";" | "${as_postgres[@]}" postgres --single -D "$PGDATA" postgres >/dev/null
    fi
}

if [ "$1" = postgres ]; then
    mkdir -p "$PGDATA" /var/run/postgresql
    chown postgres:postgres "$PGDATA" /var/run/postgresql
    chmod 700 "$PGDATA"
    if [ ! -s "$PGDATA/PG_VERSION" ]; then
        initialise
    fi
    exec "${as_postgres[@]}" "$@"
fi
exec "$@"

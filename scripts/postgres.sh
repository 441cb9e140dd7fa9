#!/usr/bin/env bash
# A throwaway PostgreSQL cluster on 127.0.0.1 for tests and the local cluster. Sourced, not run.
#   pg_throwaway_start DIR [PORT]   initdb (if needed) and start; prints the port
#   pg_throwaway_stop DIR           stop it
#   pg_for_tests                    unless HEARTH_TEST_POSTGRES is set: a throwaway cluster in a temporary
#                                   directory, removed on exit, and HEARTH_TEST_POSTGRES pointing at it
# initdb refuses to run as root, so as root the cluster belongs to the postgres user.
set -euo pipefail

_pg_bin() {
    local bin
    bin="$(ls -d /usr/lib/postgresql/*/bin 2>/dev/null | sort -V | tail -1)"
    if [ -z "$bin" ]; then
        echo "error: PostgreSQL server binaries not found (apt-get install postgresql)" >&2
        return 1
    fi
    echo "$bin"
}

_pg_as_owner() {
    # From /, which the postgres user can always enter (the caller's directory may be private to root).
    if [ "$(id -u)" -eq 0 ]; then
        (cd / && runuser -u postgres -- "$@")
    else
        "$@"
    fi
}

_pg_free_port() {
    python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1]); s.close()'
}

pg_throwaway_start() {
    local dir="$1" port="${2:-}" bin
    bin="$(_pg_bin)"
    port="${port:-$(_pg_free_port)}"
    mkdir -p "$dir"
    if [ "$(id -u)" -eq 0 ]; then
        chown postgres:postgres "$dir"
    fi
    chmod 700 "$dir"
    if [ ! -f "$dir/PG_VERSION" ]; then
        _pg_as_owner "$bin/initdb" -D "$dir" --auth=trust --username=postgres --encoding=UTF8 --locale=C >/dev/null
    fi
    _pg_as_owner "$bin/pg_ctl" -D "$dir" -l "$dir/server.log" -w -t 60 \
        -o "-p $port -k $dir -c listen_addresses=127.0.0.1 -c max_connections=200" start >/dev/null
    echo "$port"
}

pg_for_tests() {
    if [ -n "${HEARTH_TEST_POSTGRES:-}" ]; then
        return 0
    fi
    _PG_TEST_DIR="$(mktemp -d /tmp/hearth-test-pg.XXXXXX)"
    trap 'pg_throwaway_stop "$_PG_TEST_DIR"; rm -rf "$_PG_TEST_DIR"' EXIT
    local port
    port="$(pg_throwaway_start "$_PG_TEST_DIR")"
    export HEARTH_TEST_POSTGRES="Host=127.0.0.1;Port=$port;Username=postgres;Database=postgres"
    echo "PostgreSQL for tests on 127.0.0.1:$port"
}

pg_throwaway_stop() {
    local dir="$1" bin
    bin="$(_pg_bin)"
    if [ -f "$dir/postmaster.pid" ]; then
        _pg_as_owner "$bin/pg_ctl" -D "$dir" -m fast -w stop >/dev/null || true
    fi
}

#!/usr/bin/env bash
# A Hearth cluster on this machine: PostgreSQL, a standalone embedded Kafka broker, three silos and nginx as
# the load balancer, all on 127.0.0.1. State and logs live in .run/cluster/.
#
#   deploy/local-cluster.sh start           install what is missing, build, start everything, print where it is
#   deploy/local-cluster.sh stop            stop everything (silos first, gracefully)
#   deploy/local-cluster.sh status          what runs, each silo's health, the membership table
#   deploy/local-cluster.sh kill silo-2     crash a silo (SIGKILL), to watch the others take over
#   deploy/local-cluster.sh start-silo silo-2   (re)start one silo
#
# Environment: HEARTH_SILOS (3), HEARTH_LB_PORT (8080), HEARTH_SILO_BASE_PORT (5081), HEARTH_PG_PORT (55433),
# HEARTH_PARTITIONS (12).
set -euo pipefail
ROOT="$(cd "$(dirname "$0")/.." && pwd)"
cd "$ROOT"
source scripts/prerequisites.sh
source scripts/postgres.sh
use_silo_runtime

STATE="$ROOT/.run/cluster"
SILOS="${HEARTH_SILOS:-3}"
LB_PORT="${HEARTH_LB_PORT:-8080}"
BASE_PORT="${HEARTH_SILO_BASE_PORT:-5081}"
PG_PORT="${HEARTH_PG_PORT:-55433}"
PARTITIONS="${HEARTH_PARTITIONS:-12}"
SILO_DLL="$ROOT/artifacts/bin/Silo/release/Hearth.Silo.dll"
DATABASE="Host=127.0.0.1;Port=$PG_PORT;Username=postgres;Database=hearth"

alive() { [ -f "$1" ] && kill -0 "$(cat "$1")" 2>/dev/null; }

wait_gone() {
    local pidfile="$1" seconds="${2:-60}"
    for _ in $(seq 1 $((seconds * 5))); do
        alive "$pidfile" || { rm -f "$pidfile"; return 0; }
        sleep 0.2
    done
    echo "warning: $(basename "$pidfile" .pid) did not stop within ${seconds}s" >&2
    return 1
}

start_silo() {
    local name="$1" index="${1##*-}"
    local port=$((BASE_PORT + index - 1))
    if alive "$STATE/$name.pid"; then
        echo "$name is already running"
        return 0
    fi
    # Every silo on 127.0.0.1: each its own HTTP, Orleans silo and gateway ports, one PostgreSQL for membership and state.
    # Workstation GC: the silos share this machine's cores, and with the silo's own server GC (a collector thread per
    # core in every process) their collections stalled each other for seconds (./bench.sh cluster, three silos on
    # two cores: 30,800 against 25,900 readings/s, medians of six runs each, and Orleans warned of a stalled runtime
    # once in those six runs against 18 times). A silo alone on its machine keeps server GC (43,700 against 39,700).
    DOTNET_gcServer=0 nohup dotnet "$SILO_DLL" \
        --Urls="http://127.0.0.1:$port" \
        --Silo:Name="$name" \
        --Orleans:SiloPort=$((11110 + index)) \
        --Orleans:GatewayPort=$((30000 + index)) \
        --Orleans:AdvertisedAddress=127.0.0.1 \
        --Kafka:BootstrapServers="$(cat "$STATE/kafka-bootstrap")" \
        --Kafka:ConsumerProperties:fetch.wait.max.ms=10 \
        --Storage:Provider=postgres \
        --Storage:ConnectionString="$DATABASE" \
        --Orleans:Dashboard=true \
        --Auth:ApiKeys:local:Hash="$(api_key_hash "$(cat "$STATE/api-key")")" \
        --Auth:ApiKeys:local:Permissions=control \
        >>"$STATE/$name.log" 2>&1 &
    echo $! >"$STATE/$name.pid"
}

render_nginx() {
    local upstreams="" i
    for i in $(seq 1 "$SILOS"); do
        upstreams+="server 127.0.0.1:$((BASE_PORT + i - 1)) max_fails=1 fail_timeout=3s; "
    done
    mkdir -p "$STATE/nginx/logs" "$STATE/nginx/temp"
    chown -R www-data "$STATE/nginx/temp" 2>/dev/null || true
    sed -e "s|@LB_PORT@|$LB_PORT|" -e "s|@UPSTREAMS@|$upstreams|" -e "s|@USER@|$(id -u -n)|" \
        "$ROOT/deploy/nginx/hearth.conf.template" >"$STATE/nginx/nginx.conf"
    if [ "$(id -u)" -eq 0 ]; then
        sed -i "s|^user root;|user www-data;|" "$STATE/nginx/nginx.conf"
    fi
}

cmd_start() {
    ensure_dotnet
    ensure_packages "${HEARTH_BASE_PACKAGES[@]}" postgresql nginx curl python3
    if alive "$STATE/kafka.pid"; then
        echo "The local cluster is already running (deploy/local-cluster.sh status)."
        return 0
    fi
    echo "Building..."
    build_product
    mkdir -p "$STATE"

    echo "Starting PostgreSQL on 127.0.0.1:$PG_PORT..."
    pg_throwaway_start "$STATE/pg" "$PG_PORT" >/dev/null
    # The embedded broker starts empty, so the cluster's state starts empty too.
    psql -q -h 127.0.0.1 -p "$PG_PORT" -U postgres -c "DROP DATABASE IF EXISTS hearth WITH (FORCE)" -c "CREATE DATABASE hearth" >/dev/null

    echo "Starting the embedded Kafka broker..."
    rm -f "$STATE/kafka-bootstrap"
    nohup dotnet "$SILO_DLL" embedded-kafka \
        --EmbeddedKafka:BootstrapFile="$STATE/kafka-bootstrap" --Topics:Partitions="$PARTITIONS" \
        >"$STATE/kafka.log" 2>&1 &
    echo $! >"$STATE/kafka.pid"
    for _ in $(seq 1 150); do [ -s "$STATE/kafka-bootstrap" ] && break; sleep 0.2; done
    [ -s "$STATE/kafka-bootstrap" ] || { echo "error: the broker did not start; see $STATE/kafka.log" >&2; exit 1; }

    # One control key for every silo of this cluster (they are given its hash), new with every start.
    (umask 077 && printf '%s\n' "$(new_api_key)" >"$STATE/api-key")

    echo "Starting $SILOS silos..."
    for i in $(seq 1 "$SILOS"); do
        start_silo "silo-$i"
    done

    echo "Starting nginx on 127.0.0.1:$LB_PORT..."
    render_nginx
    nginx -p "$STATE/nginx" -c "$STATE/nginx/nginx.conf"

    for i in $(seq 1 "$SILOS"); do
        wait_ready $((BASE_PORT + i - 1)) "$STATE/silo-$i.log"
    done
    cmd_status
    cat <<INFO

  Dashboard          http://127.0.0.1:$LB_PORT/dashboard   (log in with the key below)
  API key (control)  $(cat "$STATE/api-key")   (in $STATE/api-key; HEARTH_API_KEY for the client)
  Load balancer      http://127.0.0.1:$LB_PORT/health/ready
  Kafka (embedded)   $(cat "$STATE/kafka-bootstrap")
  PostgreSQL         psql -h 127.0.0.1 -p $PG_PORT -U postgres hearth
  Logs               $STATE/*.log

  Simulate a fleet   dotnet artifacts/bin/Client/release/Hearth.Client.dll simulate --bootstrap $(cat "$STATE/kafka-bootstrap")
  Crash a silo       deploy/local-cluster.sh kill silo-2
  Stop everything    deploy/local-cluster.sh stop
INFO
}

cmd_stop() {
    if [ -f "$STATE/nginx/nginx.pid" ]; then
        nginx -p "$STATE/nginx" -c "$STATE/nginx/nginx.conf" -s quit 2>/dev/null || true
    fi
    for pidfile in "$STATE"/silo-*.pid; do
        [ -e "$pidfile" ] || continue
        if alive "$pidfile"; then kill -TERM "$(cat "$pidfile")"; fi
    done
    for pidfile in "$STATE"/silo-*.pid; do
        [ -e "$pidfile" ] || continue
        wait_gone "$pidfile" 60 || true
    done
    if alive "$STATE/kafka.pid"; then
        kill -TERM "$(cat "$STATE/kafka.pid")"
        wait_gone "$STATE/kafka.pid" 30 || true
    fi
    rm -f "$STATE/kafka.pid"
    pg_throwaway_stop "$STATE/pg"
    echo "The local cluster is stopped."
}

cmd_status() {
    printf '%-12s %-8s %s\n' "component" "state" "detail"
    printf '%-12s %-8s %s\n' "postgres" "$([ -f "$STATE/pg/postmaster.pid" ] && echo up || echo down)" "127.0.0.1:$PG_PORT"
    printf '%-12s %-8s %s\n' "kafka" "$(alive "$STATE/kafka.pid" && echo up || echo down)" "$(cat "$STATE/kafka-bootstrap" 2>/dev/null || true)"
    printf '%-12s %-8s %s\n' "nginx" "$([ -f "$STATE/nginx/nginx.pid" ] && kill -0 "$(cat "$STATE/nginx/nginx.pid")" 2>/dev/null && echo up || echo down)" "http://127.0.0.1:$LB_PORT"
    for i in $(seq 1 "$SILOS"); do
        local port=$((BASE_PORT + i - 1)) health
        health="$(curl -s -o /dev/null -w '%{http_code}' "http://127.0.0.1:$port/health/ready" 2>/dev/null || true)"
        printf '%-12s %-8s %s\n' "silo-$i" "$(alive "$STATE/silo-$i.pid" && echo up || echo down)" "http://127.0.0.1:$port (ready: $health)"
    done
    if [ -f "$STATE/pg/postmaster.pid" ]; then
        echo
        psql -h 127.0.0.1 -p "$PG_PORT" -U postgres -d hearth -c \
            "SELECT silo_name AS silo, CASE status WHEN 2 THEN 'joining' WHEN 3 THEN 'active' WHEN 4 THEN 'shutting-down' WHEN 5 THEN 'stopping' WHEN 6 THEN 'dead' ELSE status::text END AS status, address || ':' || port AS orleans, i_am_alive_time::time(0) AS i_am_alive FROM orleans_cluster_member ORDER BY silo_name, start_time" 2>/dev/null || true
    fi
}

cmd_kill() {
    local name="${1:?which silo? e.g. silo-2}"
    alive "$STATE/$name.pid" || { echo "$name is not running" >&2; exit 1; }
    kill -KILL "$(cat "$STATE/$name.pid")"
    rm -f "$STATE/$name.pid"
    echo "$name killed (SIGKILL). Orleans declares it dead within seconds and moves its partitions and grains to the others."
}

case "${1:-}" in
    start) cmd_start ;;
    stop) cmd_stop ;;
    status) cmd_status ;;
    kill) cmd_kill "${2:-}" ;;
    start-silo) start_silo "${2:?which silo? e.g. silo-2}"; echo "${2} starting; see $STATE/${2}.log" ;;
    *) sed -n '2,14p' "$0"; exit 2 ;;
esac

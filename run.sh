#!/usr/bin/env bash
# Runs Hearth on its embedded defaults: one silo with an embedded Kafka broker and SQLite state, and a
# simulated fleet of 1,000 thermostats with heaters. Ctrl-C stops everything (the silo saves its state).
set -euo pipefail
cd "$(dirname "$0")"
source scripts/prerequisites.sh

ensure_dotnet
ensure_packages "${HEARTH_BASE_PACKAGES[@]}" curl

HTTP_PORT="${HEARTH_HTTP_PORT:-5080}"
THERMOSTATS="${HEARTH_THERMOSTATS:-1000}"
RATE="${HEARTH_RATE:-1000}"
STATE=".run"
mkdir -p "$STATE"
# The embedded broker and the simulated fleet are new on every run (heaters off, rooms at random
# temperatures), so the controllers start fresh too: a controller that remembers "heater on" from a
# previous run would not command a heater that the new fleet has off.
rm -f "$STATE/kafka-bootstrap" "$STATE"/hearth.db*
# A new control key on every run: the silo is given its hash only; the key is printed below and kept in
# $STATE/api-key (readable by this user alone) for the client's HTTP verbs (HEARTH_API_KEY).
API_KEY="$(new_api_key)"
(umask 077 && printf '%s\n' "$API_KEY" >"$STATE/api-key")

echo "Building..."
build_product
BIN="artifacts/bin"
SILO="$BIN/Silo/release/Hearth.Silo.dll"
CLIENT="$BIN/Client/release/Hearth.Client.dll"

silo_pid=""
client_pid=""
stop() {
    trap - INT TERM EXIT
    # Background jobs of a script ignore SIGINT, so the client is told with SIGTERM (it stops gracefully).
    if [ -n "$client_pid" ] && kill -0 "$client_pid" 2>/dev/null; then
        kill -TERM "$client_pid" 2>/dev/null || true
        wait "$client_pid" 2>/dev/null || true
    fi
    if [ -n "$silo_pid" ] && kill -0 "$silo_pid" 2>/dev/null; then
        echo "Stopping the silo (it writes its state first)..."
        kill -TERM "$silo_pid" && wait "$silo_pid" 2>/dev/null || true
    fi
}
trap stop INT TERM EXIT

use_silo_runtime
dotnet "$SILO" \
    --Urls="http://127.0.0.1:$HTTP_PORT" \
    --EmbeddedKafka:BootstrapFile="$STATE/kafka-bootstrap" \
    --Storage:ConnectionString="Data Source=$STATE/hearth.db" \
    --Orleans:Dashboard=true \
    --Auth:ApiKeys:run:Hash="$(api_key_hash "$API_KEY")" \
    --Auth:ApiKeys:run:Permissions=control \
    >"$STATE/silo.log" 2>&1 &
silo_pid=$!

echo "Starting the silo..."
wait_ready "$HTTP_PORT" "$STATE/silo.log" "$silo_pid"
[ -s "$STATE/kafka-bootstrap" ] || { echo "error: the silo did not write its Kafka address; see $STATE/silo.log" >&2; exit 1; }
BOOTSTRAP="$(cat "$STATE/kafka-bootstrap")"

cat <<INFO

  Hearth is running: one silo, embedded Kafka, SQLite state, $THERMOSTATS simulated thermostats.

  Dashboard          http://127.0.0.1:$HTTP_PORT/dashboard   (log in with the API key below)
  API key (control)  $API_KEY   (new on every run; also in $STATE/api-key)
  Orleans Dashboard  http://127.0.0.1:$HTTP_PORT/orleans/
  HTTP API           curl -H "X-Api-Key: \$(cat $STATE/api-key)" http://127.0.0.1:$HTTP_PORT/api/thermostats/t-7
  Metrics            http://127.0.0.1:$HTTP_PORT/metrics   (with the key too)
  Silo log           $STATE/silo.log
  Grain state        $STATE/hearth.db (SQLite)
  Kafka (embedded)   $BOOTSTRAP   topics thermostat-readings, thermostat-settings, heater-commands, thermostat-deadletter

  Watch commands     dotnet $CLIENT watch --bootstrap $BOOTSTRAP
  A thermostat       HEARTH_API_KEY=\$(cat $STATE/api-key) dotnet $CLIENT status t-7 --api http://127.0.0.1:$HTTP_PORT
  Change a setpoint  HEARTH_API_KEY=\$(cat $STATE/api-key) dotnet $CLIENT set t-7 --temperature 23 --up-delta 0.5 --down-delta 0.5 --api http://127.0.0.1:$HTTP_PORT
  Raw Kafka          kcat -C -b $BOOTSTRAP -t heater-commands -o end

  The fleet's progress follows (share of thermostats inside their band). Ctrl-C stops everything.

INFO

dotnet "$CLIENT" simulate --bootstrap "$BOOTSTRAP" --thermostats "$THERMOSTATS" --rate "$RATE" &
client_pid=$!
wait "$client_pid" || true

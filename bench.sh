#!/usr/bin/env bash
# The benchmark. Two forms:
#   ./bench.sh [readings thermostats partitions latency-rate latency-seconds]
#       1,000,000 readings for 10,000 thermostats through one silo (grains, SQLite, checkpoints) next to a
#       raw consume-and-produce passthrough and in-memory controllers, on one embedded broker with the same
#       input: readings/s, reading-to-command latency p50/p99, and the silo/in-memory ratio.
#   ./bench.sh cluster [readings thermostats partitions]
#       the same input through 1 and then 3 silo processes sharing a broker and a PostgreSQL database.
#   ./bench.sh placement [thermostats readings/s partitions]
#       3 silo processes under load, then a 4th joins: the share of deliveries crossing silos, per placement.
#   ./bench.sh memory [grains partitions]
#       resident memory per active controller, at 100,000 controllers on one silo process.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/prerequisites.sh
source scripts/postgres.sh

ensure_dotnet
ensure_packages "${HEARTH_BASE_PACKAGES[@]}"
# Compiled ahead of time (ReadyToRun), as deploy/Dockerfile ships the silo: a new process starts on precompiled code
# instead of compiling each method as it first runs. The silo executable too, beside the benchmark's folder
# (artifacts/bin/Silo/ready-to-run): the cluster, placement and memory benchmarks run silos as processes.
publish() {
    dotnet publish "$1" -c Release -r linux-x64 --self-contained false -p:PublishReadyToRun=true \
        -o "artifacts/bin/$2/ready-to-run" -nologo -clp:ErrorsOnly -v quiet
}
publish Silo/Silo.csproj Silo
publish Bench/Bench.csproj Bench

if [ "${1:-}" = "cluster" ] || [ "${1:-}" = "placement" ]; then
    ensure_packages postgresql python3
    pg_for_tests
fi

use_silo_runtime
dotnet artifacts/bin/Bench/ready-to-run/Hearth.Bench.dll "$@"

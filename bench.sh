#!/usr/bin/env bash
# The benchmark: 1,000,000 readings for 10,000 thermostats through one silo (grains, SQLite, checkpoints)
# next to a raw consume-and-produce passthrough and in-memory controllers, on one embedded broker with
# the same input. Prints readings/s, reading-to-command latency p50/p99 and the silo/in-memory ratio.
# Arguments (optional): readings thermostats partitions latency-rate latency-seconds
set -euo pipefail
cd "$(dirname "$0")"
source scripts/prerequisites.sh

ensure_dotnet
ensure_packages "${HEARTH_BASE_PACKAGES[@]}"
dotnet build Bench/Bench.csproj -c Release -nologo -clp:ErrorsOnly -v quiet
exec dotnet artifacts/bin/Bench/release/Hearth.Bench.dll "$@"

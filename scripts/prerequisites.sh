#!/usr/bin/env bash
# Installs what Hearth needs from Debian's packages, if it is missing. Idempotent; sourced by run.sh,
# test.sh and deploy scripts. Usage: ensure_packages pkg...
set -euo pipefail

ensure_packages() {
    local missing=()
    for package in "$@"; do
        if ! dpkg-query -W -f='${Status}' "$package" 2>/dev/null | grep -q "install ok installed"; then
            missing+=("$package")
        fi
    done
    if [ ${#missing[@]} -eq 0 ]; then
        return 0
    fi
    echo "Installing ${missing[*]} from Debian's packages..."
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1; then
            sudo="sudo"
        else
            echo "error: need root (or sudo) to install: ${missing[*]}" >&2
            return 1
        fi
    fi
    export DEBIAN_FRONTEND=noninteractive
    $sudo apt-get update -qq
    $sudo apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
}

ensure_dotnet() {
    if ! command -v dotnet >/dev/null 2>&1; then
        echo "error: the .NET SDK 10 is required (dotnet on PATH); see https://learn.microsoft.com/dotnet/core/install/linux-debian" >&2
        return 1
    fi
    export DOTNET_CLI_TELEMETRY_OPTOUT=1 DOTNET_NOLOGO=1 DOTNET_SKIP_FIRST_TIME_EXPERIENCE=1
}

# Builds the silo and the client (what run.sh and the deploy scripts run), not the tests and benchmarks.
build_product() {
    local project
    for project in Silo/Silo.csproj Client/Client.csproj; do
        dotnet build "$project" -c Release -nologo -clp:ErrorsOnly -v quiet
    done
}

# The .NET runtime settings for silo processes started from here on (the container image sets the same):
# optimized JIT as soon as a method is hot instead of after start-up quiets down, which a silo starting
# into a backlog never does (README, Benchmark). An environment variable: the runtime reads it nowhere else.
use_silo_runtime() {
    export DOTNET_TC_CallCountingDelayMs=0
}

# A new API key (what `Hearth.Silo new-api-key` makes: "hearth_" and 32 random bytes, base64url) on standard output.
new_api_key() {
    printf 'hearth_%s' "$(head -c 32 /dev/urandom | base64 -w0 | tr '+/' '-_' | tr -d '=')"
}

# The hash a silo is given for a key (Auth:ApiKeys:<name>:Hash): SHA-256 of the key, lower-case hex.
api_key_hash() {
    printf '%s' "$1" | sha256sum | cut -d' ' -f1
}

# Waits up to a minute until a silo answers /health/ready. Usage: wait_ready PORT LOG [PID]
# With PID, gives up at once (printing the log) if that process has stopped.
wait_ready() {
    local port="$1" log="$2" pid="${3:-}"
    for _ in $(seq 1 300); do
        if [ -n "$pid" ] && ! kill -0 "$pid" 2>/dev/null; then
            echo "error: the silo stopped; its log ($log):" >&2
            cat "$log" >&2
            return 1
        fi
        if curl -fs "http://127.0.0.1:$port/health/ready" >/dev/null 2>&1; then
            return 0
        fi
        sleep 0.2
    done
    echo "error: the silo on port $port did not become ready; see $log" >&2
    return 1
}

# kcat is used by tests and docs (the product's own Kafka client, librdkafka 2.16, comes in its NuGet package).
HEARTH_BASE_PACKAGES=(kcat ca-certificates)

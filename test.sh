#!/usr/bin/env bash
# Runs every test. Installs what the tests need first (Debian packages), so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/prerequisites.sh

ensure_dotnet
ensure_packages "${HEARTH_BASE_PACKAGES[@]}"

dotnet build Orleans.Streaming.sln -c Release -nologo -clp:ErrorsOnly
dotnet test Orleans.Streaming.sln -c Release --no-build -nologo \
    --logger "console;verbosity=normal" \
    --results-directory artifacts/test-results "$@"

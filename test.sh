#!/usr/bin/env bash
# Runs every test. Installs what the tests need first (Debian packages), so it works on a fresh machine.
set -euo pipefail
cd "$(dirname "$0")"
source scripts/prerequisites.sh

source scripts/postgres.sh

ensure_dotnet
# postgresql for the cluster tests, nginx and chromium (driven by Playwright) for the dashboard test.
ensure_packages "${HEARTH_BASE_PACKAGES[@]}" postgresql python3 nginx chromium

# A throwaway PostgreSQL on 127.0.0.1 for the PostgreSQL and cluster tests; each test makes its own database.
pg_for_tests

dotnet build Orleans.Streaming.sln -c Release -nologo -clp:ErrorsOnly
rm -f artifacts/test-results/measurements.txt
dotnet test Orleans.Streaming.sln -c Release --no-build -nologo \
    --logger "console;verbosity=normal" \
    --results-directory artifacts/test-results "$@"

if [ -f artifacts/test-results/measurements.txt ]; then
    echo
    echo "Measured by the tests (artifacts/test-results/measurements.txt):"
    cat artifacts/test-results/measurements.txt
fi

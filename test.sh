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
PGDIR="$(mktemp -d /tmp/hearth-test-pg.XXXXXX)"
cleanup() {
    pg_throwaway_stop "$PGDIR"
    rm -rf "$PGDIR"
}
trap cleanup EXIT
PGPORT="$(pg_throwaway_start "$PGDIR")"
export HEARTH_TEST_POSTGRES="Host=127.0.0.1;Port=$PGPORT;Username=postgres;Database=postgres"
echo "PostgreSQL for tests on 127.0.0.1:$PGPORT"

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

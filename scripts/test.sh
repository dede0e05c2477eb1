#!/usr/bin/env bash
# Runs the whole test suite: installs and starts what the tests need (Azurite), runs `dotnet test`,
# stops what it started by PID, and ends with one line: `N passed, N failed`.
# Fixtures (real model + photos) come from $MOBILENET_FIXTURES; when unset, ../shared/fixtures is used if present.
set -uo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
source scripts/lib/azurite.sh
source scripts/lib/deploy-checks.sh

if [[ -z "${MOBILENET_FIXTURES:-}" && -d "$REPO_ROOT/../shared/fixtures" ]]; then
  export MOBILENET_FIXTURES="$(cd "$REPO_ROOT/../shared/fixtures" && pwd)"
fi
[[ -n "${MOBILENET_FIXTURES:-}" ]] || echo "note: MOBILENET_FIXTURES is not set: tests that need the real model and photos will be skipped" >&2

mkdir -p "$RUN_DIR"
results="$RUN_DIR/test-results"
rm -rf "$results"; mkdir -p "$results"

# Tests get their own in-memory Azurite on ports apart from the dev cluster's (10000-10002).
TEST_BLOB_PORT="${MOBILENET_TEST_BLOB_PORT:-10100}"
pidfile="$RUN_DIR/azurite-test.pid"
trap 'azurite_stop "$pidfile"' EXIT
if ! azurite_start "$TEST_BLOB_PORT" --in-memory "$pidfile" "$RUN_DIR/azurite-test.log"; then
  echo "0 passed, 1 failed"; exit 1
fi
export MOBILENET_TEST_STORAGE="$(azurite_connection_string "$TEST_BLOB_PORT")"
deploy_validator_install || echo "warning: the manifest validator's npm packages did not install: schema checks will be skipped" >&2

dotnet test MobileNet.Orleans.sln --nologo -v quiet --logger "trx" --logger "console;verbosity=normal" --results-directory "$results" "$@"
rc=$?

passed=0; failed=0
for f in "$results"/*.trx; do
  [[ -f "$f" ]] || continue
  c=$(grep -o '<Counters [^>]*>' "$f" | head -1)
  p=$(sed -n 's/.* passed="\([0-9]*\)".*/\1/p' <<<"$c"); q=$(sed -n 's/.* failed="\([0-9]*\)".*/\1/p' <<<"$c")
  e=$(sed -n 's/.* error="\([0-9]*\)".*/\1/p' <<<"$c")
  passed=$(( passed + ${p:-0} )); failed=$(( failed + ${q:-0} + ${e:-0} ))
done
# A build failure or crashed test host leaves no failed test to count: count it as one.
if [[ $rc -ne 0 && $failed -eq 0 ]]; then failed=1; fi
azurite_stop "$pidfile"

# linux-x64 and linux-arm64 publishes of the silo and the client, as the container images build them
# (MOBILENET_SKIP_PUBLISH_CHECKS=1 leaves them out of a quick local run).
if [[ "${MOBILENET_SKIP_PUBLISH_CHECKS:-0}" != "1" ]]; then
  echo "publish checks (linux-x64, linux-arm64):" >&2
  deploy_publish_checks "$RUN_DIR/publish-checks"
  passed=$(( passed + PUBLISH_PASSED )); failed=$(( failed + PUBLISH_FAILED ))
fi
echo "$passed passed, $failed failed"
[[ $failed -eq 0 ]]

#!/usr/bin/env bash
# Runs every reliability scenario of issue 4 (tests/MobileNet.Orleans.Reliability.Tests) at the issue's sizes against
# real silo processes and Azurite, then regenerates the figures table in docs/RELIABILITY.md.
#
#   scripts/reliability.sh [--images N] [--seed S] [--kill-at F] [--filter EXPR] [--no-doc]
#
#   --images N    generated images per scenario (default 3000, the issue's size; CI runs 300)
#   --seed S      seed of the generated images (default 1)
#   --kill-at F   fraction of the job done when a fault is injected (default 0.3)
#   --filter EXPR dotnet test filter (default: every scenario, Category=Reliability)
#   --no-doc      leave docs/RELIABILITY.md alone (figures still go to .run/reliability/)
#
# Scenarios 4 and 5 start Azurites of their own that persist to .run/reliability/; the others share one in-memory
# Azurite this script starts on MOBILENET_RELIABILITY_BLOB_PORT (default 10200, queue +1, table +2). Everything it
# starts is stopped by PID. Needs the .NET SDK, npm (Azurite) and python3 (the table).
set -uo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
source scripts/lib/azurite.sh

images=3000 seed=1 kill_at=0.3 filter="Category=Reliability" doc=1
usage() { sed -n '2,16p' "$0" | sed 's/^# \{0,1\}//' >&2; exit 2; }
while [[ $# -gt 0 ]]; do
  case "$1" in
    --images) [[ "${2:-}" =~ ^[0-9]+$ && "$2" -ge 20 ]] || { echo "error: --images needs a whole number >= 20" >&2; exit 2; }; images=$2; shift 2 ;;
    --seed) [[ "${2:-}" =~ ^[0-9]+$ ]] || { echo "error: --seed needs a whole number" >&2; exit 2; }; seed=$2; shift 2 ;;
    --kill-at) [[ "${2:-}" =~ ^0\.[0-9]+$ ]] || { echo "error: --kill-at needs a fraction like 0.3" >&2; exit 2; }; kill_at=$2; shift 2 ;;
    --filter) [[ -n "${2:-}" ]] || usage; filter=$2; shift 2 ;;
    --no-doc) doc=0; shift ;;
    -h|--help) usage ;;
    *) echo "error: unknown argument '$1'" >&2; usage ;;
  esac
done

out="$RUN_DIR/reliability"
mkdir -p "$out"
stamp=$(date -u +%Y%m%d-%H%M%S)
results="$out/run-$stamp.jsonl"
command_line="scripts/reliability.sh --images $images --seed $seed --kill-at $kill_at"
[[ "$filter" != "Category=Reliability" ]] && command_line+=" --filter '$filter'"

blob_port="${MOBILENET_RELIABILITY_BLOB_PORT:-10200}"
pidfile="$out/azurite-shared.pid"
trap 'azurite_stop "$pidfile"' EXIT
azurite_start "$blob_port" --in-memory "$pidfile" "$out/azurite-shared.log" || exit 1

echo "building the scenarios ..." >&2
if ! dotnet build tests/MobileNet.Orleans.Reliability.Tests --nologo -v quiet >"$out/build.log" 2>&1; then
  grep -E " error " "$out/build.log" | sort -u | head -20 >&2; echo "error: build failed; see $out/build.log" >&2; exit 1
fi

echo "running: $command_line (figures: $results)" >&2
MOBILENET_TEST_STORAGE="$(azurite_connection_string "$blob_port")" \
MOBILENET_RELIABILITY_IMAGES="$images" MOBILENET_RELIABILITY_SEED="$seed" MOBILENET_RELIABILITY_KILL_AT="$kill_at" \
MOBILENET_RELIABILITY_FULL=1 MOBILENET_RELIABILITY_RESULTS="$results" MOBILENET_RELIABILITY_COMMAND="$command_line" \
  dotnet test tests/MobileNet.Orleans.Reliability.Tests --no-build --nologo --filter "$filter" \
    --logger "console;verbosity=normal" --results-directory "$out/test-results-$stamp" 2>&1 | tee "$out/run-$stamp.log"
rc=${PIPESTATUS[0]}
azurite_stop "$pidfile"

if [[ ! -s "$results" ]]; then
  echo "error: no figures were recorded (see $out/run-$stamp.log)" >&2; exit 1
fi
if [[ $doc -eq 1 ]]; then
  python3 scripts/lib/reliability_table.py "$results" docs/RELIABILITY.md "$command_line" "$rc" || exit 1
  echo "docs/RELIABILITY.md updated from $results" >&2
fi
exit "$rc"

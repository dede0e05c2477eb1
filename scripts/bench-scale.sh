#!/usr/bin/env bash
# Scale benchmarks of the control plane (docs/BENCHMARKS.md, "Scale").
#
#   scripts/bench-scale.sh control [--images 10000,100000,1000000] [--workers 200] [--segment-size N]
#       The real coordinator (its state on Azurite) and >= 200 simulated workers in one process that lease, renew
#       and complete at full speed; one line per job: leases/s, completions/s, state bytes per lease and per second,
#       status latency, CPU and memory of the process.
#   scripts/bench-scale.sh e2e [--images 100000,1000000] [--model model.onnx]
#       Manifest jobs of absent blobs (every row a fast not-found: it measures the control plane) on 2 real silos,
#       then `mobilenet results`; prints time per image, rows, and peak RSS of each silo and of `results`.
#
# Ports: MOBILENET_CLUSTER_BLOB_PORT (Azurite, default 10410), MOBILENET_CLUSTER_SILO_PORT_BASE (14110),
# MOBILENET_CLUSTER_GATEWAY_PORT_BASE (33000), MOBILENET_CLUSTER_HTTP_PORT_BASE (21080). Stops what it starts.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
source scripts/lib/azurite.sh

usage() { sed -n '2,15p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2; }
mode=${1:-}; shift || true
images="" workers=200 model="" segment_args=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --images) images=$2; shift 2 ;;
    --workers) workers=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --segment-size) segment_args=(--segment-size "$2"); shift 2 ;;
    *) usage ;;
  esac
done
[[ "$workers" =~ ^[0-9]+$ && "$workers" -ge 1 ]] || { echo "error: --workers must be a positive number" >&2; exit 2; }

export MOBILENET_CLUSTER_BLOB_PORT=${MOBILENET_CLUSTER_BLOB_PORT:-10410} MOBILENET_CLUSTER_SILO_PORT_BASE=${MOBILENET_CLUSTER_SILO_PORT_BASE:-14110} \
  MOBILENET_CLUSTER_GATEWAY_PORT_BASE=${MOBILENET_CLUSTER_GATEWAY_PORT_BASE:-33000} MOBILENET_CLUSTER_HTTP_PORT_BASE=${MOBILENET_CLUSTER_HTTP_PORT_BASE:-21080}
work="$REPO_ROOT/.run/bench-scale"
mkdir -p "$work"

case "$mode" in
  control)
    images=${images:-10000,100000,1000000}
    [[ "$images" =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "error: --images takes counts separated by commas" >&2; exit 2; }
    dotnet build src/ScaleBench -c Release --nologo -v quiet >"$work/build.log" 2>&1 || { cat "$work/build.log" >&2; exit 1; }
    pidfile="$work/azurite.pid"
    trap 'azurite_stop "$pidfile"' EXIT
    azurite_start "$MOBILENET_CLUSTER_BLOB_PORT" --in-memory "$pidfile" "$work/azurite.log"
    echo "control plane: $workers simulated workers, Azurite pid $(cat "$pidfile") on 127.0.0.1:$MOBILENET_CLUSTER_BLOB_PORT, $(nproc) cores" >&2
    dotnet src/ScaleBench/bin/Release/net10.0/linux-x64/mobilenet-scale-bench.dll \
      --storage "$(azurite_connection_string "$MOBILENET_CLUSTER_BLOB_PORT")" --images "$images" --workers "$workers" "${segment_args[@]}" \
      --silo-port $(( MOBILENET_CLUSTER_SILO_PORT_BASE + 90 )) --gateway-port $(( MOBILENET_CLUSTER_GATEWAY_PORT_BASE + 90 ))
    ;;
  e2e)
    images=${images:-100000,1000000}
    [[ "$images" =~ ^[0-9]+(,[0-9]+)*$ ]] || { echo "error: --images takes counts separated by commas" >&2; exit 2; }
    export MOBILENET_CLUSTER_DIR="$work/cluster"
    unset MOBILENET_CLUSTER_ID MOBILENET_STORAGE
    trap 'scripts/cluster.sh down >/dev/null 2>&1 || true' EXIT
    rm -rf "$MOBILENET_CLUSTER_DIR/azurite"
    # The silos refuse sources outside their storage scope: let them read the benchmark's manifests' container.
    export MOBILENET_CLUSTER_READ_SCOPE="${MOBILENET_CLUSTER_READ_SCOPE:-scale-src}"
    scripts/cluster.sh up 2
    mn() { scripts/mobilenet "$@"; }
    if [[ -z "$model" ]]; then
      if [[ -n "${MOBILENET_FIXTURES:-}" && -f "$MOBILENET_FIXTURES/models/mobilenetv2-12-int8.onnx" ]]; then
        model="$MOBILENET_FIXTURES/models/mobilenetv2-12-int8.onnx"
      else
        model="$work/generated/mobilenet-v2.onnx"
        [[ -f "$model" ]] || mn models build --arch mobilenet-v2 --output "$model" >&2
      fi
    fi
    mn models upload scale --file "$model" >&2
    silo_pids=$(for f in "$MOBILENET_CLUSTER_DIR"/silo-*.pid; do cat "$f"; done)
    hwm() { sed -n 's/^VmHWM:[[:space:]]*\([0-9]*\) kB/\1/p' "/proc/$1/status" 2>/dev/null || echo 0; }
    printf '%-9s %9s %12s %9s %14s %s\n' images seconds ms/1k-images rows results-MB "silo peak RSS MB (each)"
    for n in ${images//,/ }; do
      dir="$work/manifest-$n"; mkdir -p "$dir"
      [[ -f "$dir/names-$n.txt" ]] || awk -v n="$n" 'BEGIN { for (i = 0; i < n; i++) printf "absent/%09d.jpg\n", i }' >"$dir/names-$n.txt"
      mn upload "$dir" --to scale-src --all >/dev/null
      t0=$(date +%s.%N)
      # Tested in the `if`: under set -e a failing assignment would end the script before it could say why.
      if ! job=$(mn submit --source scale-src --manifest "names-$n.txt" --model scale --wait 2>"$work/submit-$n.err" | tail -1) || [[ -z "$job" ]]; then
        echo "error: submit failed:" >&2; cat "$work/submit-$n.err" >&2; exit 1
      fi
      t1=$(date +%s.%N)
      state=$(mn status "$job" --json | sed -n 's/.*"state":"\([A-Za-z]*\)".*/\1/p')
      [[ "$state" == Completed ]] || { echo "error: job $job ended $state" >&2; exit 1; }
      /usr/bin/time -f '%M' -o "$work/results-$n.rss" scripts/mobilenet results "$job" -o "$work/results-$n.jsonl" 2>"$work/results-$n.err" \
        || { cat "$work/results-$n.err" >&2; exit 1; }
      rows=$(wc -l <"$work/results-$n.jsonl")
      unique=$(sed -n 's/^{"image":"\([^"]*\)".*/\1/p' "$work/results-$n.jsonl" | sort -u | wc -l)
      [[ "$rows" -eq "$n" && "$unique" -eq "$n" ]] || { echo "error: job $job: $rows rows, $unique distinct images, expected $n" >&2; exit 1; }
      rss_results=$(( $(tail -1 "$work/results-$n.rss") / 1024 ))
      silos=""; for p in $silo_pids; do silos+="$(( $(hwm "$p") / 1024 )) "; done
      awk -v n="$n" -v t0="$t0" -v t1="$t1" -v rows="$rows" -v r="$rss_results" -v s="$silos" \
        'BEGIN { printf "%-9d %9.1f %12.2f %9d %14d %s\n", n, t1 - t0, (t1 - t0) * 1000000 / n, rows, r, s }'
      rm -f "$work/results-$n.jsonl"
    done
    ;;
  *) usage ;;
esac

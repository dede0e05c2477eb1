#!/usr/bin/env bash
# End-to-end benchmark: a 1,000-image labeling job on a 1-silo local cluster (Azurite, real silo process) against
# single-process `mobilenet classify` over the same images, measured in the same run, rounds interleaved.
#
#   scripts/bench-e2e.sh [--images N] [--rounds R] [--model model.onnx] [--photos DIR]
#
# Model: --model, else the Model Zoo MobileNetV2 int8 from $MOBILENET_FIXTURES, else a generated MobileNetV2.
# Images: --photos, else N generated 320x240 JPEGs. Runs its own cluster on ports apart from the dev cluster
# (Azurite 10750-10752, silo 11251, gateway 30151, http 18251; BENCH_*_PORT* override) under .run/bench-e2e,
# and stops it at the end.
# Prints one line per round and the medians (images/s) and their ratio, for docs/BENCHMARKS.md.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

images=1000 rounds=3 model="" photos=""
while [[ $# -gt 0 ]]; do
  case "$1" in
    --images) images=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --photos) photos=$2; shift 2 ;;
    *) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done

export MOBILENET_CLUSTER_DIR="$REPO_ROOT/.run/bench-e2e/cluster"
export MOBILENET_CLUSTER_BLOB_PORT=${BENCH_BLOB_PORT:-10750} MOBILENET_CLUSTER_SILO_PORT_BASE=${BENCH_SILO_PORT_BASE:-11250} \
  MOBILENET_CLUSTER_GATEWAY_PORT_BASE=${BENCH_GATEWAY_PORT_BASE:-30150} MOBILENET_CLUSTER_HTTP_PORT_BASE=${BENCH_HTTP_PORT_BASE:-18250}
unset MOBILENET_CLUSTER_ID MOBILENET_STORAGE
work="$REPO_ROOT/.run/bench-e2e"
mkdir -p "$work"
mn() { scripts/mobilenet "$@"; }
trap 'scripts/cluster.sh down >/dev/null 2>&1 || true' EXIT

scripts/cluster.sh up 1

if [[ -z "$model" ]]; then
  if [[ -n "${MOBILENET_FIXTURES:-}" && -f "$MOBILENET_FIXTURES/models/mobilenetv2-12-int8.onnx" ]]; then
    model="$MOBILENET_FIXTURES/models/mobilenetv2-12-int8.onnx"
  else
    model="$work/generated/mobilenet-v2.onnx"
    [[ -f "$model" ]] || mn models build --arch mobilenet-v2 --output "$model" >&2
  fi
fi
if [[ -z "$photos" ]]; then
  photos="$work/images-$images"
  [[ -d "$photos" ]] || mn samples "$photos" --count "$images" >&2
fi
count=$(find "$photos" -maxdepth 1 -type f \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' \) | wc -l)

mn models upload bench --file "$model" >&2
mn upload "$photos" --to bench-images/set >&2
# Warm-up: the silo downloads, verifies and loads the model once; classify's first run warms the page cache.
mkdir -p "$work/manifest"
find "$photos" -maxdepth 1 -type f -printf 'set/%f\n' | sort | head -16 >"$work/manifest/warmup.txt"
mn upload "$work/manifest" --to bench-images --all >/dev/null
mn submit --source bench-images --manifest warmup.txt --model bench --wait >/dev/null 2>&1
mn classify "$photos" --model "$model" --format csv -o "$work/classify.csv" >/dev/null 2>&1

seconds() { date +%s.%N; }
calc() { awk "BEGIN { printf \"%.6f\", $1 }"; }
cluster_rates=() classify_rates=()
for r in $(seq 1 "$rounds"); do
  t0=$(seconds)
  mn classify "$photos" --model "$model" --format csv -o "$work/classify.csv" >/dev/null 2>&1
  t1=$(seconds)
  classify_s=$(calc "$t1 - $t0")
  t0=$(seconds)
  job=$(mn submit --source bench-images/set --model bench --wait 2>/dev/null | tail -1)
  t1=$(seconds)
  wall_s=$(calc "$t1 - $t0")
  json=$(mn status "$job" --json)
  state=$(sed -n 's/.*"state":"\([A-Za-z]*\)".*/\1/p' <<<"$json")
  labeled=$(sed -n 's/.*"labeled":\([0-9]*\),"errors".*/\1/p' <<<"$json" | head -1)
  [[ "$state" == Completed ]] || { echo "error: job $job ended $state" >&2; exit 1; }
  classify_rate=$(calc "$count / $classify_s")
  cluster_rate=$(calc "$count / $wall_s")
  classify_rates+=("$classify_rate") cluster_rates+=("$cluster_rate")
  printf 'round %d: classify %d images in %.1f s (%.1f images/s); cluster job %s: %s labeled, submit-to-done %.1f s (%.1f images/s)\n' \
    "$r" "$count" "$classify_s" "$classify_rate" "$job" "$labeled" "$wall_s" "$cluster_rate"
done
median() { printf '%s\n' "$@" | sort -g | awk '{a[NR]=$1} END {print (NR%2 ? a[(NR+1)/2] : (a[NR/2]+a[NR/2+1])/2)}'; }
mc=$(median "${classify_rates[@]}"); mj=$(median "${cluster_rates[@]}")
printf 'median of %d rounds, %d images, model %s, %d cores: classify %.1f images/s, 1-silo cluster %.1f images/s, cluster/classify %.2f\n' \
  "$rounds" "$count" "$(basename "$model")" "$(nproc)" "$mc" "$mj" "$(calc "$mj / $mc")"

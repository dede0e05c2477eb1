#!/usr/bin/env bash
# Labels one folder with `mobilenet classify` and with the peer pipeline users compare it with: a Node.js script of
# this project's own (scripts/peer/peer-classify.mjs) on the npm packages sharp (libvips, shrink-on-load) and
# onnxruntime-node, installed under .run/bench-peer. `classify` is the CLI published as the client image ships it
# (ReadyToRun), under .run/bench-peer/cli. Whole processes (start, model load, decode, inference, output),
# the same model, batch size and threads, rounds interleaved (the order alternates); prints every round, the medians
# (images/s), peak RSS, and the ratio classify/peer, for docs/BENCHMARKS.md.
#
#   scripts/bench-peer.sh [DIR] [--rounds 5] [--batch 8] [--threads N] [--min-images 60] [--model m.onnx --labels classes.txt]
#
# DIR: default $MOBILENET_FIXTURES/photos/large. Model: default the Model Zoo MobileNetV2 int8 from $MOBILENET_FIXTURES.
# A folder of fewer than --min-images images is staged as that many links to its files (copy-1/..., copy-2/...), so
# that process start and model load do not dominate; both pipelines read the same staged folder.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

dir="" rounds=5 batch=8 threads="$(nproc)" model="" labels="" min_images=60
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --batch) batch=$2; shift 2 ;;
    --threads) threads=$2; shift 2 ;;
    --model) model=$2; shift 2 ;;
    --labels) labels=$2; shift 2 ;;
    --min-images) min_images=$2; shift 2 ;;
    -h|--help) sed -n '2,10p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "error: unknown option $1" >&2; exit 2 ;;
    *) dir=$1; shift ;;
  esac
done

fixtures="${MOBILENET_FIXTURES:-$REPO_ROOT/../shared/fixtures}"
dir="${dir:-$fixtures/photos/large}"
model="${model:-$fixtures/models/mobilenetv2-12-int8.onnx}"
labels="${labels:-$(dirname "$model")/imagenet_classes.txt}"
[[ -d "$dir" ]] || { echo "error: no such folder: $dir" >&2; exit 2; }
[[ -f "$model" ]] || { echo "error: no model at $model (give --model, or set MOBILENET_FIXTURES)" >&2; exit 2; }
[[ -f "$labels" ]] || { echo "error: no labels at $labels (give --labels)" >&2; exit 2; }
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "error: --rounds must be a positive number" >&2; exit 2; }

work="$REPO_ROOT/.run/bench-peer"
mkdir -p "$work"
if [[ ! -d "$work/node_modules/sharp" || ! -d "$work/node_modules/onnxruntime-node" ]] || ! cmp -s scripts/peer/package.json "$work/package.json"; then
  echo "installing sharp and onnxruntime-node under $work ..." >&2
  cp scripts/peer/package.json "$work/package.json"
  (cd "$work" && npm install --no-audit --no-fund --loglevel=error >&2)
fi
cp scripts/peer/peer-classify.mjs scripts/peer/cli-options.mjs "$work/"

# The CLI as the client image ships it: published, ReadyToRun.
case "$(uname -m)" in aarch64|arm64) rid=linux-arm64 ;; *) rid=linux-x64 ;; esac
CLI_DLL="$work/cli/mobilenet.dll"
if [[ ! -f "$CLI_DLL" || -n "$(find src Directory.Build.props Directory.Packages.props \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' \) -newer "$CLI_DLL" -print -quit)" ]]; then
  echo "publishing the CLI (Release, $rid, ReadyToRun) ..." >&2
  rm -rf "$work/cli"
  dotnet publish src/Client -c Release -r "$rid" --self-contained false -p:UseAppHost=false -o "$work/cli" --nologo -v quiet >&2
fi

images() { find "$1" \( -type f -o -type l \) \( -iname '*.jpg' -o -iname '*.jpeg' -o -iname '*.png' -o -iname '*.bmp' -o -iname '*.gif' -o -iname '*.tif' -o -iname '*.tiff' -o -iname '*.webp' \); }
count=$(images "$dir" | wc -l)
[[ $count -gt 0 ]] || { echo "error: no images in $dir" >&2; exit 2; }
if (( count < min_images )); then
  copies=$(( (min_images + count - 1) / count ))
  staged="$work/images"; rm -rf "$staged"; mkdir -p "$staged"
  source_dir="$(cd "$dir" && pwd)"
  for ((i = 1; i <= copies; i++)); do
    mkdir -p "$staged/copy-$i"
    images "$source_dir" | while read -r f; do ln -s "$f" "$staged/copy-$i/$(basename "$f")"; done
  done
  echo "staged $copies links to each of the $count images of $dir under $staged" >&2
  dir="$staged"; count=$(images "$dir" | wc -l)
fi
export UV_THREADPOOL_SIZE="$threads"
echo "folder: $dir ($count images); model: $model; batch $batch; threads $threads; $rounds rounds" >&2

# run NAME OUT COMMAND...: whole-process wall time and peak RSS; checks one output row per image.
run() {
  local name=$1 out=$2; shift 2
  local start end rss
  start=$(date +%s.%N)
  /usr/bin/time -f '%M' -o "$work/$name.rss" "$@" > "$out" 2> "$work/$name.err" || { echo "error: $name failed:" >&2; tail -5 "$work/$name.err" >&2; exit 1; }
  end=$(date +%s.%N)
  local rows; rows=$(grep -vc '^image,' "$out" || true)
  [[ $rows -eq $count ]] || { echo "error: $name wrote $rows rows for $count images" >&2; exit 1; }
  rss=$(tail -1 "$work/$name.rss")
  awk -v n="$count" -v s="$start" -v e="$end" -v r="$rss" 'BEGIN { printf "%.2f %.0f\n", n / (e - s), r / 1024 }'
}

classify_rates=() peer_rates=() classify_rss=0 peer_rss=0
for ((round = 1; round <= rounds; round++)); do
  order=(classify peer); (( round % 2 == 0 )) && order=(peer classify)
  for who in "${order[@]}"; do
    if [[ $who == classify ]]; then
      read -r rate rss < <(run classify "$work/classify.csv" dotnet "$CLI_DLL" classify "$dir" --model "$model" --labels "$labels" --batch "$batch" --threads "$threads")
      classify_rates+=("$rate"); (( rss > classify_rss )) && classify_rss=$rss
    else
      read -r rate rss < <(run peer "$work/peer.csv" node "$work/peer-classify.mjs" --model "$model" --labels "$labels" --batch "$batch" --threads "$threads" "$dir")
      peer_rates+=("$rate"); (( rss > peer_rss )) && peer_rss=$rss
    fi
  done
  echo "round $round/$rounds: classify ${classify_rates[-1]} images/s, peer ${peer_rates[-1]} images/s"
done

median() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END { print (NR % 2) ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
c=$(median "${classify_rates[@]}") p=$(median "${peer_rates[@]}")
echo "classify (mobilenet, Skia): median $c images/s, peak RSS ${classify_rss} MB"
echo "peer (sharp + onnxruntime-node): median $p images/s, peak RSS ${peer_rss} MB"
awk -v c="$c" -v p="$p" 'BEGIN { printf "ratio classify/peer: %.2f\n", c / p }'

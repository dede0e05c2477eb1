#!/usr/bin/env bash
# The decoding benchmarks of docs/BENCHMARKS.md in one run, for each folder: `mobilenet bench --decoder both` (Skia and
# ImageSharp preprocessing side by side, inference, pipeline) and scripts/bench-peer.sh (whole-process `classify`
# against the sharp + onnxruntime-node peer); then one summary line per folder.
#
#   scripts/bench-decode.sh [--rounds 5] [--min-images 60] [DIR ...]
#
# Default folders: $MOBILENET_FIXTURES/photos/large, $MOBILENET_FIXTURES/photos/imagenet-sample-200 (staged as 1,400
# images, the size of the issue's ImageNet-size comparison, so that process start weighs as it does there), and
# .run/camera-photos: 24 camera-sized JPEGs (8-15 MP, baseline 4:2:0 and every fourth progressive) that
# scripts/peer/make-camera-photos.mjs makes from the 200 sample photos when the folder is missing. --min-images is
# passed to bench-peer.sh for the folders given on the command line.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

rounds=5 min_images=60 dirs=() min_for=()
while [[ $# -gt 0 ]]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --min-images) min_images=$2; shift 2 ;;
    -h|--help) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "error: unknown option $1" >&2; exit 2 ;;
    *) dirs+=("$1"); min_for+=("$min_images"); shift ;;
  esac
done
[[ "$rounds" =~ ^[1-9][0-9]*$ ]] || { echo "error: --rounds must be a positive number" >&2; exit 2; }

fixtures="${MOBILENET_FIXTURES:-$REPO_ROOT/../shared/fixtures}"
model="$fixtures/models/mobilenetv2-12-int8.onnx"
[[ -f "$model" ]] || { echo "error: no model at $model (set MOBILENET_FIXTURES)" >&2; exit 2; }
if [[ ${#dirs[@]} -eq 0 ]]; then
  dirs=("$fixtures/photos/large" "$fixtures/photos/imagenet-sample-200" "$REPO_ROOT/.run/camera-photos")
  min_for=(60 1300 60)
  if [[ ! -d "$REPO_ROOT/.run/camera-photos" ]]; then
    # bench-peer.sh installs sharp; one round on the large folder does it, and its figures are not used.
    [[ -d "$REPO_ROOT/.run/bench-peer/node_modules/sharp" ]] || scripts/bench-peer.sh "$fixtures/photos/large" --rounds 1 >/dev/null
    cp scripts/peer/make-camera-photos.mjs scripts/peer/cli-options.mjs "$REPO_ROOT/.run/bench-peer/"
    node "$REPO_ROOT/.run/bench-peer/make-camera-photos.mjs" "$fixtures/photos/imagenet-sample-200" "$REPO_ROOT/.run/camera-photos" --count 24 >&2
  fi
fi

CLI_DLL="src/Client/bin/Release/net10.0/linux-x64/mobilenet.dll"
if [[ ! -f "$CLI_DLL" || -n "$(find src -name '*.cs' -newer "$CLI_DLL" -print -quit)" ]]; then
  echo "building the CLI (Release) ..." >&2
  dotnet build src/Client -c Release --nologo -v quiet >&2
fi

summary=()
for i in "${!dirs[@]}"; do
  dir=${dirs[$i]}
  [[ -d "$dir" ]] || { echo "error: no such folder: $dir" >&2; exit 2; }
  echo "== $dir: mobilenet bench --decoder both --rounds $rounds --seconds 3"
  bench=$(dotnet "$CLI_DLL" bench --model "$model" --images "$dir" --decoder both --rounds "$rounds" --seconds 3 2>&1 | grep -E '^(measure|preprocess|inference|pipeline|ratio)')
  echo "$bench"
  echo "== $dir: scripts/bench-peer.sh --rounds $rounds --min-images ${min_for[$i]}"
  peer=$(scripts/bench-peer.sh "$dir" --rounds "$rounds" --min-images "${min_for[$i]}" 2>&1 | grep -E '^(folder|round|classify|peer|ratio)')
  echo "$peer"
  skia=$(awk '$1 == "preprocess" && $2 == "skia" { print $6 }' <<<"$bench")
  imagesharp=$(awk '$1 == "preprocess" && $2 == "imagesharp" { print $6 }' <<<"$bench")
  decode_ratio=$(awk '/^ratio preprocess/ { print $NF }' <<<"$bench")
  peer_ratio=$(awk '/^ratio classify\/peer/ { print $NF }' <<<"$peer")
  rss=$(awk '/^classify \(mobilenet/ { print $(NF - 1) }' <<<"$peer")
  summary+=("$(basename "$dir"): preprocess Skia $skia vs ImageSharp $imagesharp ms/image (${decode_ratio}x); classify/peer ${peer_ratio}x; classify peak RSS ${rss} MB")
done
echo "== summary"
printf '%s\n' "${summary[@]}"

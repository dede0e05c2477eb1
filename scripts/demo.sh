#!/usr/bin/env bash
# The whole thing in one command: a 2-silo local cluster, a labeling job over your photos, one results file.
#
#   scripts/demo.sh [PHOTOS_DIR] [--model PATH [--labels PATH]] [--keep]
#
# PHOTOS_DIR  folder of images (default: 64 generated sample images; a real model's labels for them mean little)
# --model     an ONNX classification model (default: the ONNX Model Zoo MobileNetV2 int8, downloaded once into
#             .run/cache and verified by SHA-256; offline, a generated MobileNet whose labels mean nothing)
# --labels    class names for --model (default: imagenet_classes.txt or labels.txt beside it)
# --keep      leave the cluster running afterwards (stop it with scripts/cluster.sh down)
#
# Needs only the .NET SDK and Node.js (for Azurite). Results: .run/demo/results-<job>.csv
# MOBILENET_DEMO_OFFLINE=1 skips the download (the generated model is used unless --model is given).
# MOBILENET_DEMO_MODEL_URL / MOBILENET_DEMO_LABELS_URL fetch them from a mirror; the model's SHA-256 is still checked.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

# ONNX Model Zoo MobileNetV2 1.0 int8 (Apache-2.0), pinned by SHA-256; ImageNet class names in the same order.
ZOO_MODEL_URL="${MOBILENET_DEMO_MODEL_URL:-https://github.com/onnx/models/raw/main/validated/vision/classification/mobilenet/model/mobilenetv2-12-int8.onnx}"
ZOO_MODEL_SHA256="cc028fe6cae7bc11a4ff53cfc9b79c920e8be65ce33a904ec3e2a8f66d77f95f"
ZOO_LABELS_URL="${MOBILENET_DEMO_LABELS_URL:-https://raw.githubusercontent.com/pytorch/hub/master/imagenet_classes.txt}"
CACHE_DIR="$REPO_ROOT/.run/cache/models"
DEMO_DIR="$REPO_ROOT/.run/demo"
MODEL_NAME="demo-mobilenet"

photos="" model="" labels="" keep=0
while [[ $# -gt 0 ]]; do
  case "$1" in
    --model) model=${2:?--model needs a path}; shift 2 ;;
    --labels) labels=${2:?--labels needs a path}; shift 2 ;;
    --keep) keep=1; shift ;;
    -h|--help) sed -n "2,16p" "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'; exit 0 ;;
    -*) echo "error: unknown option '$1' (see scripts/demo.sh --help)" >&2; exit 2 ;;
    *) [[ -z "$photos" ]] || { echo "error: give one photos folder" >&2; exit 2; }; photos=$1; shift ;;
  esac
done
[[ -z "$photos" || -d "$photos" ]] || { echo "error: photos folder '$photos' does not exist" >&2; exit 2; }
[[ -z "$model" || -f "$model" ]] || { echo "error: model file '$model' does not exist" >&2; exit 2; }
[[ -z "$labels" || -f "$labels" ]] || { echo "error: labels file '$labels' does not exist" >&2; exit 2; }
command -v dotnet >/dev/null || { echo "error: the .NET SDK (dotnet) is required" >&2; exit 2; }
mkdir -p "$DEMO_DIR" "$CACHE_DIR"
step() { echo; echo "==> $*" >&2; }
mn() { scripts/mobilenet "$@"; }

# download URL FILE: curl, wget, or Node's fetch (Node.js is needed for Azurite anyway).
download() {
  local url=$1 out=$2
  if command -v curl >/dev/null; then curl -fsSL --retry 2 --connect-timeout 10 -o "$out" "$url"
  elif command -v wget >/dev/null; then wget -q -T 10 -O "$out" "$url"
  else node -e 'fetch(process.argv[1]).then(r=>{if(!r.ok)throw new Error(r.status);return r.arrayBuffer()}).then(b=>require("fs").writeFileSync(process.argv[2],Buffer.from(b))).catch(e=>{console.error(e.message);process.exit(1)})' "$url" "$out"
  fi
}

# Resolves the model: the given one, the cached/downloaded Model Zoo one, or (offline) a generated one.
resolve_model() {
  if [[ -n "$model" ]]; then return 0; fi
  local got zoo="$CACHE_DIR/mobilenetv2-12-int8.onnx" zoo_labels="$CACHE_DIR/imagenet_classes.txt"
  if [[ "${MOBILENET_DEMO_OFFLINE:-0}" != 1 ]] && { [[ ! -f "$zoo" ]] || [[ "$(sha256sum "$zoo" | cut -d' ' -f1)" != "$ZOO_MODEL_SHA256" ]]; }; then
    step "downloading the ONNX Model Zoo MobileNetV2 int8 (3.5 MB, once) ..."
    if download "$ZOO_MODEL_URL" "$zoo.part"; then
      got="$(sha256sum "$zoo.part" | cut -d' ' -f1)"
      if [[ "$got" == "$ZOO_MODEL_SHA256" ]]; then
        mv "$zoo.part" "$zoo"
      else
        echo "the downloaded file's SHA-256 is $got, not the pinned $ZOO_MODEL_SHA256: discarded" >&2
        rm -f "$zoo.part"
      fi
    else
      rm -f "$zoo.part"
    fi
  fi
  if [[ "${MOBILENET_DEMO_OFFLINE:-0}" != 1 && -f "$zoo" && ! -f "$zoo_labels" ]]; then
    if download "$ZOO_LABELS_URL" "$zoo_labels.part" && [[ "$(grep -c '' "$zoo_labels.part")" == 1000 && "$(head -1 "$zoo_labels.part")" == tench ]]; then
      mv "$zoo_labels.part" "$zoo_labels"
    else
      rm -f "$zoo_labels.part"
    fi
  fi
  if [[ -f "$zoo" && -f "$zoo_labels" && "$(sha256sum "$zoo" | cut -d' ' -f1)" == "$ZOO_MODEL_SHA256" ]]; then
    model=$zoo labels=$zoo_labels
    echo "model: ONNX Model Zoo mobilenetv2-12-int8.onnx (sha256 $ZOO_MODEL_SHA256 verified)" >&2
    return 0
  fi
  model="$DEMO_DIR/generated/mobilenet-v2.onnx"
  echo >&2
  echo "WARNING: no Model Zoo model (offline, or the download failed). Using a GENERATED MobileNetV2 with random," >&2
  echo "         untrained weights: the pipeline runs for real, but its labels MEAN NOTHING." >&2
  echo "         For real labels: scripts/demo.sh --model <mobilenet.onnx> [--labels <classes.txt>]" >&2
  if [[ ! -f "$model" ]]; then
    mkdir -p "$(dirname "$model")"
    mn models build --arch mobilenet-v2 --output "$model" >&2
  fi
}

started_cluster=0
cleanup() {
  local rc=$?
  if [[ $started_cluster == 1 && $keep == 0 ]]; then
    step "stopping the cluster"
    scripts/cluster.sh down || true
  fi
  exit $rc
}
trap cleanup EXIT

if scripts/cluster.sh status 2>/dev/null | grep -q "^silo .* alive"; then
  step "using the running local cluster (scripts/cluster.sh status)"
else
  step "starting a local cluster: Azurite + 2 silos (first run builds and installs Azurite: a few minutes)"
  started_cluster=1
  scripts/cluster.sh up 2
fi

resolve_model

if [[ -z "$photos" ]]; then
  photos="$DEMO_DIR/samples"
  if [[ ! -d "$photos" ]]; then
    step "no photos folder given: generating 64 sample images in $photos"
    mn samples "$photos" --count 64 >&2
  fi
  echo "note: these are synthetic images; pass a folder of photos for meaningful labels" >&2
fi

run_id="run-$(date -u +%Y%m%d-%H%M%S)"
step "uploading the model as '$MODEL_NAME'"
if [[ -n "$labels" ]]; then mn models upload "$MODEL_NAME" --file "$model" --labels "$labels"; else mn models upload "$MODEL_NAME" --file "$model"; fi
step "uploading images from $photos to demo-photos/$run_id"
mn upload "$photos" --to "demo-photos/$run_id"

step "submitting the job and watching it"
set +e
job=$(mn submit --source "demo-photos/$run_id" --model "$MODEL_NAME" --shard-size 16 --wait | tail -1)
submit_rc=$?
set -e
[[ -n "$job" ]] || { echo "error: submit did not return a job id" >&2; exit 1; }

results="$DEMO_DIR/results-$job.csv"
step "writing results to $results"
mn results "$job" --format csv -o "$results"
step "job status"
mn status "$job"
step "first rows of $results"
head -n 6 "$results" | cut -c1-160
echo
echo "$(( $(wc -l <"$results") - 1 )) rows in $results" >&2
exit $submit_rc

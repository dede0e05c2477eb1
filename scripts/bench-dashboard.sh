#!/usr/bin/env bash
# Issue 13 benchmarks, one cluster, alternating runs (the machine is shared: medians and ratios, never one run):
#   1. CPU-seconds per 1,000 images as the silo reports it (status --json) vs the silo process's own CPU time from
#      /proc/<pid>/stat (what ps shows: utime + stime) over the same job;
#   2. `mobilenet estimate --images N` (a short calibration job) vs the measured duration of an N-image job;
#   3. job duration with the dashboard open (PAGES pages polling the job page's JSON every 2 s, as the page does, and
#      fetching its thumbnails) vs closed: medians of each side and the median of the per-round ratios;
#   4. what the open pages cost by themselves: the idle silo's CPU over IDLE seconds with the pages open vs closed
#      (no job noise), as CPU-seconds per hour of open pages.
#
#   scripts/bench-dashboard.sh [--images 2000] [--rounds 3] [--pages 3] [--idle 60]
# One silo (so ps of one process covers the whole job). Prints a markdown table; figures go to docs/BENCHMARKS.md.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"

images=2000 rounds=3 pages=3 idle=60
while [[ $# -gt 0 ]]; do
  case "$1" in
    --images) images=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --pages) pages=$2; shift 2 ;;
    --idle) idle=$2; shift 2 ;;
    *) sed -n '2,12p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2; exit 2 ;;
  esac
done

work="$REPO_ROOT/.run/bench-dashboard"
export MOBILENET_CLUSTER_DIR="${MOBILENET_CLUSTER_DIR:-$work/cluster}"
export MOBILENET_CLUSTER_BLOB_PORT=${MOBILENET_CLUSTER_BLOB_PORT:-10760} MOBILENET_CLUSTER_SILO_PORT_BASE=${MOBILENET_CLUSTER_SILO_PORT_BASE:-11260} \
  MOBILENET_CLUSTER_GATEWAY_PORT_BASE=${MOBILENET_CLUSTER_GATEWAY_PORT_BASE:-30160} MOBILENET_CLUSTER_HTTP_PORT_BASE=${MOBILENET_CLUSTER_HTTP_PORT_BASE:-18260}
unset MOBILENET_CLUSTER_ID MOBILENET_STORAGE
mkdir -p "$work"
mn() { scripts/mobilenet "$@"; }
poller_pids=()
stop_pollers() { local p; for p in "${poller_pids[@]}"; do pkill -P "$p" 2>/dev/null || true; kill "$p" 2>/dev/null || true; done; poller_pids=(); }
trap 'stop_pollers; scripts/cluster.sh down >/dev/null 2>&1 || true' EXIT

scripts/cluster.sh up 1
http_port=$(( MOBILENET_CLUSTER_HTTP_PORT_BASE + 1 ))
token=$(cat "$MOBILENET_CLUSTER_DIR/dashboard-token")
silo_pid=$(cat "$MOBILENET_CLUSTER_DIR/silo-1.pid")

model="${MOBILENET_FIXTURES:-$REPO_ROOT/../shared/fixtures}/models/mobilenetv2-12-int8.onnx"
if [[ ! -f "$model" ]]; then
  model="$work/generated/mobilenet-v2.onnx"
  [[ -f "$model" ]] || mn models build --arch mobilenet-v2 --output "$model" >&2
fi
photos="$work/images-$images"
[[ -d "$photos" ]] || mn samples "$photos" --count "$images" >&2
mn models upload bench --file "$model" >&2
mn upload "$photos" --to bench-images/dash >&2
# Warm-up: the model is downloaded and loaded once, as on a silo that has run a job before.
mn submit --source bench-images/dash --model bench --wait >/dev/null 2>&1 || true

ticks=$(getconf CLK_TCK)
proc_cpu() { awk -v t="$ticks" '{ printf "%.3f", ($14 + $15) / t }' "/proc/$1/stat"; }
calc() { awk "BEGIN { printf \"%.4f\", $1 }"; }
json() { python3 -c "import json,sys; d=json.load(sys.stdin); print($1)"; }

# One "open page": what app.js asks for while visible, over one kept-alive HTTPS connection as a browser holds
# it: the job JSON every 2 s and each thumbnail once. One small process per page, started once (its own CPU is not
# the silo's; a real browser runs elsewhere).
poll_page() {
  python3 - "$1" "$http_port" "$token" <<'PY'
import http.client, json, ssl, sys, time
job, port, token = sys.argv[1], int(sys.argv[2]), sys.argv[3]
context = ssl._create_unverified_context()
headers = {"Authorization": "Bearer " + token, "Accept": "application/json"}
seen, connection = set(), None
while True:
    try:
        connection = connection or http.client.HTTPSConnection("127.0.0.1", port, context=context, timeout=30)
        connection.request("GET", f"/dashboard/api/jobs/{job}", headers=headers)
        body = json.loads(connection.getresponse().read() or b"{}")
        for thumbnail in body.get("thumbnails", []):
            if thumbnail["url"] not in seen:
                connection.request("GET", thumbnail["url"], headers=headers)
                connection.getresponse().read()
                seen.add(thumbnail["url"])
    except (OSError, ValueError, http.client.HTTPException):
        connection = None
    time.sleep(2)
PY
}

# run MODE -> "duration_s cpu_reported_per_1000 cpu_ps_per_1000"
run_job() {
  local mode=$1 job cpu0 cpu1 status
  cpu0=$(proc_cpu "$silo_pid")
  job=$(mn submit --source bench-images/dash --model bench 2>/dev/null | tail -1)
  if [[ "$mode" == open ]]; then
    # Own output away from the caller's: a poller holding stdout would keep $(run_job) waiting forever.
    for _ in $(seq 1 "$pages"); do poll_page "$job" >/dev/null 2>&1 </dev/null & poller_pids+=($!); done
  fi
  while true; do
    status=$(mn status "$job" --json 2>/dev/null) || { sleep 1; continue; }
    state=$(printf '%s' "$status" | json "d['state']")
    [[ "$state" == Completed || "$state" == Failed || "$state" == Cancelled ]] && break
    sleep 0.5
  done
  cpu1=$(proc_cpu "$silo_pid")
  stop_pollers
  # The silo reports its last usage right before the last shard completes: the status is whole now.
  status=$(mn status "$job" --json 2>/dev/null)
  local duration reported processed
  duration=$(printf '%s' "$status" | json "(__import__('datetime').datetime.fromisoformat(d['endedAt']) - __import__('datetime').datetime.fromisoformat(d['submittedAt'])).total_seconds()")
  reported=$(printf '%s' "$status" | json "d['efficiency']['cpuSecondsPer1000Images']")
  processed=$(printf '%s' "$status" | json "d['labeled'] + d['errors']")
  echo "$duration $reported $(calc "($cpu1 - $cpu0) * 1000 / $processed")"
}

median() { sort -g | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else printf "%.4f\n", (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

echo "estimate: calibration job on the same images ..." >&2
estimate=$(mn estimate --model bench --images "$images" --source bench-images/dash --json 2>/dev/null | tail -1)
expected=$(printf '%s' "$estimate" | json "d['expectedSeconds']")
echo "estimate: $estimate" >&2

closed=() open=() rows=() ratios=()
for r in $(seq 1 "$rounds"); do
  # Alternate which goes first so drift in the machine's load does not favour one side.
  if (( r % 2 )); then order="closed open"; else order="open closed"; fi
  for mode in $order; do
    read -r d rep ps <<<"$(run_job "$mode")"
    rows+=("| $r | $mode | $d | $rep | $ps | $(calc "($rep - $ps) / $ps * 100") |")
    if [[ $mode == closed ]]; then closed+=("$d"); else open+=("$d"); fi
    echo "round $r $mode: ${d} s, CPU-s/1000 reported $rep, ps $ps" >&2
  done
  ratios+=("$(calc "${open[-1]} / ${closed[-1]}")")
done

# The pages' own cost, without a job's noise: the idle silo's CPU with the pages polling the last job vs without.
last_job=$(mn jobs --json 2>/dev/null | json "d[0]['jobId']")
idle_cpu() {
  local cpu0 cpu1
  if [[ "$1" == open ]]; then
    for _ in $(seq 1 "$pages"); do poll_page "$last_job" >/dev/null 2>&1 </dev/null & poller_pids+=($!); done
  fi
  cpu0=$(proc_cpu "$silo_pid"); sleep "$idle"; cpu1=$(proc_cpu "$silo_pid")
  stop_pollers
  calc "$cpu1 - $cpu0"
}
idle_closed=$(idle_cpu closed); idle_open=$(idle_cpu open)
echo "idle ${idle} s: silo CPU ${idle_closed} s closed, ${idle_open} s with $pages pages open" >&2

closed_median=$(printf '%s\n' "${closed[@]}" | median)
open_median=$(printf '%s\n' "${open[@]}" | median)
all=("${closed[@]}" "${open[@]}")
all_median=$(printf '%s\n' "${all[@]}" | median)
echo
echo "$images images, 1 silo ($(nproc) cores), $rounds rounds alternating, dashboard open = $pages pages polling"
echo
echo "| round | dashboard | job duration (s) | CPU-s/1,000 reported | CPU-s/1,000 from /proc (ps) | difference (%) |"
echo "|---|---|---|---|---|---|"
printf '%s\n' "${rows[@]}"
echo
echo "| figure | value |"
echo "|---|---|"
echo "| median duration, dashboard closed | $closed_median s |"
echo "| median duration, dashboard open | $open_median s |"
echo "| open / closed (of the medians) | $(calc "$open_median / $closed_median") |"
echo "| open / closed, per round (${ratios[*]}), median | $(printf '%s\n' "${ratios[@]}" | median) |"
echo "| idle silo CPU over $idle s, pages closed / open | $idle_closed s / $idle_open s |"
echo "| CPU of $pages open pages per hour (share of the silo's $(nproc) cores) | $(calc "($idle_open - $idle_closed) * 3600 / $idle") s ($(calc "($idle_open - $idle_closed) / ($idle * $(nproc)) * 100") %) |"
echo "| estimate (expected) | $expected s |"
echo "| estimate / median of all runs | $(calc "$expected / $all_median") |"
echo "| calibration | $(printf '%s' "$estimate" | json "f\"{d['calibrationImages']} images in {d['calibrationSeconds']} s, {d['imagesPerSecondPerNode']} images/s per node, start-up {d['startupSeconds']} s\"") |"

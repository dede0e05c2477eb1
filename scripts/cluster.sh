#!/usr/bin/env bash
# A local MobileNet.Orleans cluster: Azurite (persistent, under .run/cluster/azurite) and N silo processes.
#
#   scripts/cluster.sh up [N]        build if needed, start Azurite and N silos (default 2), wait until the cluster answers
#   scripts/cluster.sh add           start one more silo
#   scripts/cluster.sh kill I        SIGKILL silo I (a crash)
#   scripts/cluster.sh stop I        SIGTERM silo I and wait for it to drain and exit (scale-in)
#   scripts/cluster.sh start I       start silo I again (same ports)
#   scripts/cluster.sh status        silos and Azurite with PIDs, alive or dead
#   scripts/cluster.sh down          stop everything this script started, by PID (data is kept)
#   scripts/cluster.sh azurite-stop  stop Azurite only (storage outage); azurite-start brings it back on the same data
#   scripts/cluster.sh logs I        tail silo I's log
#
# Each `up` uses a fresh ClusterId (written to .run/cluster/cluster-id); scripts/mobilenet runs the CLI against it.
# TLS: `up` creates a local CA once (.run/cluster/certs/ca, its key never leaves that folder) and issues a silo
# certificate and one client certificate per role (certs/admin, certs/submitter, certs/reader); silos use mutual TLS
# and role checks, and scripts/mobilenet connects through the gateways with certs/admin (MOBILENET_CLUSTER_ROLE picks
# another). Clients need no storage key for job commands; the gateways are listed in .run/cluster/gateways.
# Ports: Azurite 10000-10002, silo I: silo port 11110+I, gateway 29999+I, health/metrics 18079+I (silo 1 = the
# Orleans defaults 11111/30000). Override with MOBILENET_CLUSTER_BLOB_PORT, MOBILENET_CLUSTER_SILO_PORT_BASE,
# MOBILENET_CLUSTER_GATEWAY_PORT_BASE, MOBILENET_CLUSTER_HTTP_PORT_BASE, and the folder with MOBILENET_CLUSTER_DIR.
# Dashboard: https://127.0.0.1:<http port>/dashboard/ on every silo (HTTPS with the silo certificate); sign in with the
# operator token in .run/cluster/dashboard-token (created once) or a client certificate; Orleans' dashboard on the
# admin port (http port + 100, MOBILENET_CLUSTER_ADMIN_PORT_BASE) at /orleans/, admin only.
# Storage scope (where jobs may read images and write results; comma-separated container[/prefix] or pattern-*
# entries): MOBILENET_CLUSTER_READ_SCOPE (default mobilenet-images,demo-photos,bench-images,photos) and
# MOBILENET_CLUSTER_WRITE_SCOPE (default mobilenet-results); a submit outside them exits 2.
set -euo pipefail
REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$REPO_ROOT"
source scripts/lib/azurite.sh

CLUSTER_DIR="${MOBILENET_CLUSTER_DIR:-$RUN_DIR/cluster}"
CONFIGURATION="${MOBILENET_CONFIGURATION:-Release}"
BLOB_PORT="${MOBILENET_CLUSTER_BLOB_PORT:-10000}"
SILO_PORT_BASE="${MOBILENET_CLUSTER_SILO_PORT_BASE:-11110}"
GATEWAY_PORT_BASE="${MOBILENET_CLUSTER_GATEWAY_PORT_BASE:-29999}"
HTTP_PORT_BASE="${MOBILENET_CLUSTER_HTTP_PORT_BASE:-18079}"
ADMIN_PORT_BASE="${MOBILENET_CLUSTER_ADMIN_PORT_BASE:-$(( HTTP_PORT_BASE + 100 ))}"
NODE_PRICE="${MOBILENET_CLUSTER_NODE_PRICE:-}"
# Short membership timeouts so a killed silo is declared dead within seconds (production keeps Orleans' defaults).
PROBE_TIMEOUT="${MOBILENET_CLUSTER_PROBE_TIMEOUT:-00:00:02}"
MISSED_PROBES="${MOBILENET_CLUSTER_MISSED_PROBES:-2}"
DEATH_VOTES="${MOBILENET_CLUSTER_DEATH_VOTES:-1}"
# After `kill` of every silo nobody declares them dead: silos started next wait until their heartbeats in the table
# are older than IAMALIVE_PERIOD x IAMALIVE_MISSED (Orleans' default 30 s x 3).
IAMALIVE_PERIOD="${MOBILENET_CLUSTER_IAMALIVE_PERIOD:-00:00:05}"
IAMALIVE_MISSED="${MOBILENET_CLUSTER_IAMALIVE_MISSED:-2}"
DRAIN_TIMEOUT="${MOBILENET_CLUSTER_DRAIN_TIMEOUT:-00:00:20}"
WORKER_SLOTS="${MOBILENET_CLUSTER_WORKER_SLOTS:-}"
READ_SCOPE="${MOBILENET_CLUSTER_READ_SCOPE:-mobilenet-images,demo-photos,bench-images,photos}"
WRITE_SCOPE="${MOBILENET_CLUSTER_WRITE_SCOPE:-mobilenet-results}"

SILO_DLL="src/Silo/bin/$CONFIGURATION/net10.0/linux-x64/mobilenet-silo.dll"
CLI_DLL="src/Client/bin/$CONFIGURATION/net10.0/linux-x64/mobilenet.dll"
AZURITE_PIDFILE="$CLUSTER_DIR/azurite.pid"
CERTS_DIR="$CLUSTER_DIR/certs"

die() { echo "error: $*" >&2; exit 2; }
alive() { [[ -f "$1" ]] && kill -0 "$(cat "$1")" 2>/dev/null; }
port_open() { (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null; }
storage() { azurite_connection_string "$BLOB_PORT"; }
cluster_id() { [[ -f "$CLUSTER_DIR/cluster-id" ]] || die "no cluster: run 'scripts/cluster.sh up' first"; cat "$CLUSTER_DIR/cluster-id"; }
silo_indices() { local f; for f in "$CLUSTER_DIR"/silo-*.pid; do [[ -e "$f" ]] || continue; f=${f##*/silo-}; echo "${f%.pid}"; done | sort -n; }
check_index() { [[ "${1:-}" =~ ^[0-9]+$ && "$1" -ge 1 ]] || die "give a silo number (1, 2, ...); 'scripts/cluster.sh status' lists them"; }

# Builds the silo and the CLI unless their outputs are newer than every source file.
build_if_needed() {
  if [[ -f "$SILO_DLL" && -f "$CLI_DLL" ]] && \
     [[ -z "$(find src Directory.Build.props Directory.Packages.props \( -name '*.cs' -o -name '*.csproj' -o -name '*.props' -o -name '*.json' \) -not -path '*/bin/*' -not -path '*/obj/*' -newer "$SILO_DLL" -print -quit)" ]] && \
     [[ -z "$(find src \( -name '*.cs' -o -name '*.csproj' \) -not -path '*/bin/*' -not -path '*/obj/*' -newer "$CLI_DLL" -print -quit)" ]]; then
    return 0
  fi
  echo "building silo and CLI ($CONFIGURATION) ..." >&2
  local log="$CLUSTER_DIR/build.log"
  if ! { dotnet build src/Silo -c "$CONFIGURATION" --nologo -v quiet && dotnet build src/Client -c "$CONFIGURATION" --nologo -v quiet; } >"$log" 2>&1; then
    grep -E " error " "$log" | sort -u | head -20 >&2 || true
    echo "error: build failed; see $log" >&2; exit 1
  fi
  touch "$SILO_DLL" "$CLI_DLL"
}

cli() { dotnet "$CLI_DLL" "$@"; }

# A CA (created once, kept across `up`s), a silo certificate and one client certificate per role.
make_certs() {
  if [[ ! -f "$CERTS_DIR/ca/ca.crt" ]]; then
    cli certs ca --out "$CERTS_DIR/ca" --name "MobileNet local CA $(date -u +%Y%m%d)" --days 365 || exit 1
  fi
  cli certs issue --ca "$CERTS_DIR/ca" --out "$CERTS_DIR/silo" --name local-silo --role silo --host 127.0.0.1 --host localhost --days 30 || exit 1
  local role
  for role in admin submitter reader; do
    cli certs issue --ca "$CERTS_DIR/ca" --out "$CERTS_DIR/$role" --name "local-$role" --role "$role" --days 30 || exit 1
  done
  echo "certificates: CA $CERTS_DIR/ca, silo $CERTS_DIR/silo, clients $CERTS_DIR/{admin,submitter,reader}" >&2
}

# The dashboard's operator token (admin role), created once; silos get it through the environment, never a command line.
make_dashboard_token() {
  local file="$CLUSTER_DIR/dashboard-token"
  if [[ ! -s "$file" ]]; then
    (umask 077; head -c 24 /dev/urandom | od -An -tx1 | tr -d ' \n' >"$file")
  fi
}

# The gateways of the silos this script started, for clients (scripts/mobilenet reads the file).
write_gateways() {
  local i list=()
  for i in $(silo_indices); do list+=("127.0.0.1:$(( GATEWAY_PORT_BASE + i ))"); done
  (IFS=,; echo "${list[*]}") >"$CLUSTER_DIR/gateways"
}

start_azurite() {
  if alive "$AZURITE_PIDFILE"; then return 0; fi
  if port_open "$BLOB_PORT"; then
    die "port $BLOB_PORT is taken by a process this script did not start (another Azurite?); stop it or set MOBILENET_CLUSTER_BLOB_PORT"
  fi
  azurite_start "$BLOB_PORT" "$CLUSTER_DIR/azurite" "$AZURITE_PIDFILE" "$CLUSTER_DIR/azurite.log" || exit 1
  echo "azurite: pid $(cat "$AZURITE_PIDFILE"), blob 127.0.0.1:$BLOB_PORT, data $CLUSTER_DIR/azurite" >&2
}

# start_silo I: starts silo I in its own session (so Ctrl-C on this script does not reach it).
start_silo() {
  local i=$1 pidfile="$CLUSTER_DIR/silo-$1.pid"
  if alive "$pidfile"; then echo "silo $i already running (pid $(cat "$pidfile"))" >&2; return 0; fi
  local silo_port=$(( SILO_PORT_BASE + i )) gateway_port=$(( GATEWAY_PORT_BASE + i )) http_port=$(( HTTP_PORT_BASE + i )) admin_port=$(( ADMIN_PORT_BASE + i ))
  local port
  for port in "$silo_port" "$gateway_port" "$http_port" "$admin_port"; do
    port_open "$port" && die "port $port for silo $i is in use; stop what holds it or change MOBILENET_CLUSTER_*_PORT_BASE"
  done
  mkdir -p "$CLUSTER_DIR/silo-$i/cache"
  local slots=()
  [[ -n "$WORKER_SLOTS" ]] && slots=("Worker__Slots=$WORKER_SLOTS")
  [[ -n "$NODE_PRICE" ]] && slots+=("Dashboard__NodePricePerHour=$NODE_PRICE")
  # StorageScope__Read__0=..., StorageScope__Read__1=...: the silo binds them as a list.
  local scope=() entry n
  n=0; IFS=',' read -ra entries <<<"$READ_SCOPE"; for entry in "${entries[@]}"; do [[ -n "$entry" ]] && scope+=("StorageScope__Read__$((n++))=$entry"); done
  n=0; IFS=',' read -ra entries <<<"$WRITE_SCOPE"; for entry in "${entries[@]}"; do [[ -n "$entry" ]] && scope+=("StorageScope__Write__$((n++))=$entry"); done
  env MOBILENET_STORAGE="$(storage)" \
    Silo__ClusterId="$(cluster_id)" Silo__ServiceId=mobilenet Silo__Name="silo-$i" \
    Silo__SiloPort="$silo_port" Silo__GatewayPort="$gateway_port" Silo__HttpPort="$http_port" \
    Silo__AdvertisedIp=127.0.0.1 Worker__DrainTimeout="$DRAIN_TIMEOUT" \
    Silo__ProbeTimeout="$PROBE_TIMEOUT" Silo__NumMissedProbesLimit="$MISSED_PROBES" Silo__NumVotesForDeathDeclaration="$DEATH_VOTES" \
    Membership__IAmAliveTablePublishTimeout="$IAMALIVE_PERIOD" Membership__NumMissedTableIAmAliveLimit="$IAMALIVE_MISSED" \
    Worker__CacheDirectory="$CLUSTER_DIR/silo-$i/cache" "${slots[@]}" "${scope[@]}" \
    Tls__CertificateDirectory="$CERTS_DIR/silo" \
    Dashboard__OperatorToken="$(cat "$CLUSTER_DIR/dashboard-token")" Dashboard__AdminPort="$admin_port" \
    DOTNET_gcServer=0 \
    setsid dotnet "$SILO_DLL" >>"$CLUSTER_DIR/silo-$i.log" 2>&1 </dev/null &
  echo $! >"$pidfile"
  echo "silo $i: pid $!, silo port $silo_port, gateway $gateway_port, dashboard https://127.0.0.1:$http_port/dashboard/, Orleans dashboard https://127.0.0.1:$admin_port/orleans/, log $CLUSTER_DIR/silo-$i.log" >&2
}

# wait_silo I: until silo I's gateway accepts connections (it opens once the silo is active in the cluster).
wait_silo() {
  local i=$1 pidfile="$CLUSTER_DIR/silo-$1.pid" gateway_port=$(( GATEWAY_PORT_BASE + $1 ))
  for _ in $(seq 1 300); do
    port_open "$gateway_port" && return 0
    if ! alive "$pidfile"; then
      echo "error: silo $i exited during start; last lines of $CLUSTER_DIR/silo-$i.log:" >&2
      tail -20 "$CLUSTER_DIR/silo-$i.log" >&2; return 1
    fi
    sleep 0.2
  done
  echo "error: silo $i did not open its gateway (127.0.0.1:$gateway_port) within 60 s; see $CLUSTER_DIR/silo-$i.log" >&2
  return 1
}

# The cluster answers a client request (not just open ports).
wait_cluster() {
  local out
  for _ in $(seq 1 30); do
    if out=$(env -u MOBILENET_STORAGE MOBILENET_CLUSTER_ID="$(cluster_id)" MOBILENET_GATEWAY="$(cat "$CLUSTER_DIR/gateways")" dotnet "$CLI_DLL" jobs --tls-dir "$CERTS_DIR/admin" 2>&1); then return 0; fi
    sleep 1
  done
  echo "error: the cluster does not answer 'mobilenet jobs': $out" >&2
  return 1
}

stop_pid() { # stop_pid PIDFILE SIGNAL WAIT_SECONDS: signal, wait, then SIGKILL
  local pidfile=$1 signal=$2 wait=$3 pid
  [[ -f "$pidfile" ]] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "-$signal" "$pid" 2>/dev/null || true
    for _ in $(seq 1 $(( wait * 10 ))); do kill -0 "$pid" 2>/dev/null || return 0; sleep 0.1; done
    echo "warning: pid $pid did not exit within ${wait}s of SIG$signal; sending SIGKILL" >&2
    kill -9 "$pid" 2>/dev/null || true
  fi
}

drain_seconds() { local h m s; IFS=: read -r h m s <<<"$DRAIN_TIMEOUT"; echo $(( 10#$h * 3600 + 10#$m * 60 + 10#${s%%.*} + 10 )); }

cmd=${1:-}; shift || true
case "$cmd" in
  up)
    n=${1:-2}
    [[ "$n" =~ ^[0-9]+$ && "$n" -ge 1 && "$n" -le 20 ]] || die "up N: N must be 1..20 silos"
    mkdir -p "$CLUSTER_DIR"
    for i in $(silo_indices); do alive "$CLUSTER_DIR/silo-$i.pid" && die "a cluster is already running (silo $i, pid $(cat "$CLUSTER_DIR/silo-$i.pid")); run 'scripts/cluster.sh down' first"; done
    rm -f "$CLUSTER_DIR"/silo-*.pid
    build_if_needed
    make_certs
    make_dashboard_token
    start_azurite
    echo "local-$(date -u +%Y%m%d-%H%M%S)-$RANDOM" >"$CLUSTER_DIR/cluster-id"
    echo "cluster id: $(cluster_id)" >&2
    for i in $(seq 1 "$n"); do start_silo "$i"; done
    write_gateways
    for i in $(seq 1 "$n"); do wait_silo "$i" || exit 1; done
    wait_cluster || exit 1
    echo "cluster up: $n silo(s); run the CLI with scripts/mobilenet (e.g. scripts/mobilenet jobs)" >&2
    echo "dashboard: https://127.0.0.1:$(( HTTP_PORT_BASE + 1 ))/dashboard/ (token: $CLUSTER_DIR/dashboard-token)" >&2
    ;;
  add)
    cluster_id >/dev/null
    alive "$AZURITE_PIDFILE" || die "Azurite is not running; run 'scripts/cluster.sh up' or 'azurite-start'"
    build_if_needed
    last=$(silo_indices | tail -1); i=$(( ${last:-0} + 1 ))
    start_silo "$i"; write_gateways
    wait_silo "$i" || exit 1
    echo "silo $i joined" >&2
    ;;
  start)
    check_index "${1:-}"; cluster_id >/dev/null
    start_silo "$1"; write_gateways; wait_silo "$1" || exit 1
    ;;
  kill)
    check_index "${1:-}"; pidfile="$CLUSTER_DIR/silo-$1.pid"
    alive "$pidfile" || die "silo $1 is not running"
    kill -9 "$(cat "$pidfile")"; echo "silo $1 (pid $(cat "$pidfile")): SIGKILL" >&2
    for _ in $(seq 1 50); do alive "$pidfile" || break; sleep 0.1; done
    ;;
  stop)
    check_index "${1:-}"; pidfile="$CLUSTER_DIR/silo-$1.pid"
    alive "$pidfile" || die "silo $1 is not running"
    echo "silo $1 (pid $(cat "$pidfile")): SIGTERM, waiting for it to drain and exit ..." >&2
    stop_pid "$pidfile" TERM "$(drain_seconds)"; echo "silo $1 stopped" >&2
    ;;
  status)
    [[ -f "$CLUSTER_DIR/cluster-id" ]] && echo "cluster id: $(cat "$CLUSTER_DIR/cluster-id")"
    if alive "$AZURITE_PIDFILE"; then echo "azurite  pid $(cat "$AZURITE_PIDFILE")  alive  127.0.0.1:$BLOB_PORT"
    elif [[ -f "$AZURITE_PIDFILE" ]]; then echo "azurite  pid $(cat "$AZURITE_PIDFILE")  dead"
    else echo "azurite  -  stopped"; fi
    for i in $(silo_indices); do
      pid=$(cat "$CLUSTER_DIR/silo-$i.pid")
      if kill -0 "$pid" 2>/dev/null; then state=alive; else state=dead; fi
      echo "silo $i   pid $pid  $state  gateway 127.0.0.1:$(( GATEWAY_PORT_BASE + i ))  log $CLUSTER_DIR/silo-$i.log"
    done
    ;;
  logs)
    check_index "${1:-}"; tail -n 50 -f "$CLUSTER_DIR/silo-$1.log"
    ;;
  down)
    for i in $(silo_indices); do alive "$CLUSTER_DIR/silo-$i.pid" && kill -TERM "$(cat "$CLUSTER_DIR/silo-$i.pid")" 2>/dev/null || true; done
    for i in $(silo_indices); do stop_pid "$CLUSTER_DIR/silo-$i.pid" TERM "$(drain_seconds)"; rm -f "$CLUSTER_DIR/silo-$i.pid"; done
    azurite_stop "$AZURITE_PIDFILE"
    echo "cluster down (data kept in $CLUSTER_DIR/azurite)" >&2
    ;;
  azurite-stop)
    alive "$AZURITE_PIDFILE" || die "Azurite is not running"
    azurite_stop "$AZURITE_PIDFILE"; echo "azurite stopped" >&2
    ;;
  azurite-start)
    mkdir -p "$CLUSTER_DIR"; start_azurite
    ;;
  storage)
    # The connection string for this cluster's Azurite (the public development account), for scripts.
    storage; echo
    ;;
  *)
    sed -n '2,24p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//' >&2
    [[ -z "$cmd" ]] && exit 2
    die "unknown command '$cmd'"
    ;;
esac

# Sourced helpers: install and run Azurite (npm azurite, pinned) for dev, tests and CI.
# Everything lives under the repo's ignored .run/ folder; processes are tracked by PID.

AZURITE_VERSION="3.37.0"
REPO_ROOT="${REPO_ROOT:-$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)}"
RUN_DIR="$REPO_ROOT/.run"
TOOLS_DIR="$RUN_DIR/tools"
# Azurite's published development account; it is public and only valid against a local emulator.
AZURITE_ACCOUNT="devstoreaccount1"
AZURITE_KEY="Eby8vdM02xNOcqFlqUwJPLlmEtlCDXJ1OUzFT50uSRZ6IFsuFq2UVErCz4I6tq/K1SZFPTOtr/KBHBeksoGMGw=="

azurite_install() {
  local bin="$TOOLS_DIR/node_modules/.bin/azurite"
  if [[ -x "$bin" ]] && grep -q "\"version\": \"$AZURITE_VERSION\"" "$TOOLS_DIR/node_modules/azurite/package.json" 2>/dev/null; then
    return 0
  fi
  command -v npm >/dev/null || { echo "error: npm (Node.js) is required to install Azurite" >&2; return 2; }
  mkdir -p "$TOOLS_DIR"
  echo "installing azurite $AZURITE_VERSION into $TOOLS_DIR ..." >&2
  npm install --prefix "$TOOLS_DIR" --no-audit --no-fund --silent "azurite@$AZURITE_VERSION" >&2
}

# azurite_connection_string BLOB_PORT: the connection string for an Azurite on 127.0.0.1 (table = blob+2).
azurite_connection_string() {
  local blob=$1 queue=$(( $1 + 1 )) table=$(( $1 + 2 ))
  printf 'DefaultEndpointsProtocol=http;AccountName=%s;AccountKey=%s;BlobEndpoint=http://127.0.0.1:%s/%s;QueueEndpoint=http://127.0.0.1:%s/%s;TableEndpoint=http://127.0.0.1:%s/%s;' \
    "$AZURITE_ACCOUNT" "$AZURITE_KEY" "$blob" "$AZURITE_ACCOUNT" "$queue" "$AZURITE_ACCOUNT" "$table" "$AZURITE_ACCOUNT"
}

# azurite_start BLOB_PORT DATA_DIR|--in-memory PIDFILE LOGFILE: starts Azurite in the background, waits until it answers.
azurite_start() {
  local blob=$1 data=$2 pidfile=$3 log=$4
  local persistence=()
  if [[ "$data" == "--in-memory" ]]; then persistence=(--inMemoryPersistence); else mkdir -p "$data"; persistence=(--location "$data"); fi
  azurite_install || return $?
  # Something already answering there (another run's Azurite) would pass the readiness check below and then vanish
  # when that run ends: refuse instead.
  local port
  for port in "$blob" $(( blob + 1 )) $(( blob + 2 )); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
      echo "error: 127.0.0.1:$port is already in use (another test run or Azurite?); stop it or choose other ports" >&2
      return 1
    fi
  done
  # Azure.Storage.Blobs 12.30 speaks a newer API version than Azurite 3.37 knows: skip the check.
  "$TOOLS_DIR/node_modules/.bin/azurite" --silent --skipApiVersionCheck --disableTelemetry --loose \
    --blobHost 127.0.0.1 --blobPort "$blob" --queueHost 127.0.0.1 --queuePort $(( blob + 1 )) \
    --tableHost 127.0.0.1 --tablePort $(( blob + 2 )) "${persistence[@]}" >"$log" 2>&1 &
  echo $! >"$pidfile"
  local i
  for i in $(seq 1 100); do
    if (exec 3<>"/dev/tcp/127.0.0.1/$blob") 2>/dev/null && (exec 3<>"/dev/tcp/127.0.0.1/$(( blob + 2 ))") 2>/dev/null; then
      return 0
    fi
    if ! kill -0 "$(cat "$pidfile")" 2>/dev/null; then
      echo "error: azurite exited at start; see $log" >&2; cat "$log" >&2; return 1
    fi
    sleep 0.2
  done
  echo "error: azurite did not answer on 127.0.0.1:$blob within 20 s; see $log" >&2
  return 1
}

# azurite_stop PIDFILE: stops the Azurite this script started, by PID.
azurite_stop() {
  local pidfile=$1 pid
  [[ -f "$pidfile" ]] || return 0
  pid=$(cat "$pidfile")
  if kill -0 "$pid" 2>/dev/null; then
    kill "$pid" 2>/dev/null || true
    for _ in $(seq 1 50); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
    kill -9 "$pid" 2>/dev/null || true
  fi
  rm -f "$pidfile"
}

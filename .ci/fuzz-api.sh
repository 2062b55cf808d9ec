#!/usr/bin/env bash
# Schema-driven fuzzing of the control API: schemathesis (from PyPI, in a venv cached outside the
# clone) against a simulator started here with small limits, driven by /openapi.json. Fails on any
# 5xx and on any response that breaks the documented contract (status, content type, body schema).
#
#   bash .ci/fuzz-api.sh            # FUZZ_EXAMPLES (default 100) cases per operation, fixed seed
#
# Every process it starts is stopped by PID when it ends, whatever the outcome.
set -euo pipefail
cd "$(dirname "$0")/.."

ST_VERSION=4.32.5
VENV="${FUZZ_VENV:-${XDG_CACHE_HOME:-$HOME/.cache}/process-simulator/schemathesis-$ST_VERSION}"
if [ ! -x "$VENV/bin/schemathesis" ]; then
  echo "fuzz-api: installing schemathesis $ST_VERSION into $VENV"
  python3 -m venv "$VENV"
  "$VENV/bin/pip" install --quiet --disable-pip-version-check "schemathesis==$ST_VERSION"
fi

NODE=./node_modules/.bin/node
free_port() { python3 -c 'import socket; s = socket.socket(); s.bind(("127.0.0.1", 0)); print(s.getsockname()[1])'; }
API_PORT=$(free_port)
METRICS_PORT=$(free_port)
WORK=$(mktemp -d)
LOG="$WORK/simulator.log"

# Small on purpose: whatever the fuzzer asks for stays within 12 processes, 5 s faults and a 64 KiB body.
env AUTO_START=false \
  MAX_PROCESSES=12 MAX_DURATION=5s API_BODY_LIMIT=64KiB \
  OTEL_METRICS_EXPORTER=none OTEL_METRIC_EXPORT_INTERVAL=2000 LOG_LEVEL=warn \
  CONTROL_HOST=127.0.0.1 CONTROL_PORT="$API_PORT" METRICS_HOST=127.0.0.1 METRICS_PORT="$METRICS_PORT" \
  "$NODE" src/main.ts >"$LOG" 2>&1 &
SIM_PID=$!

stop_simulator() {
  if kill -0 "$SIM_PID" 2>/dev/null; then
    kill -TERM "$SIM_PID" 2>/dev/null || true
    # main.ts stops every child before it exits; give it the grace period, then insist.
    for _ in $(seq 1 100); do kill -0 "$SIM_PID" 2>/dev/null || break; sleep 0.1; done
    kill -KILL "$SIM_PID" 2>/dev/null || true
  fi
  wait "$SIM_PID" 2>/dev/null || true
}
trap 'stop_simulator; rm -rf "$WORK"' EXIT

BASE="http://127.0.0.1:$API_PORT"
for _ in $(seq 1 100); do
  if python3 -c "import urllib.request, sys; urllib.request.urlopen('$BASE/health', timeout=1)" 2>/dev/null; then break; fi
  if ! kill -0 "$SIM_PID" 2>/dev/null; then echo "fuzz-api: the simulator exited early:"; cat "$LOG"; exit 1; fi
  sleep 0.2
done

# A running simulation gives the chaos routes live processes to hit. It is created through the API, not
# AUTO_START: the process exits when its auto-started simulation ends, and the fuzzer may stop anything.
python3 - "$BASE" <<'PY'
import json, sys, urllib.request
base = sys.argv[1]
def post(path, body=None):
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(base + path, data=data, method='POST', headers={'Content-Type': 'application/json'})
    with urllib.request.urlopen(request, timeout=60) as response:
        return json.load(response)
created = post('/api/v1/simulations', {'name': 'fuzz-target', 'type': 'realistic', 'parameters': {'process_count': 6, 'seed': 7}})
post('/api/v1/simulations/%s/start?wait=true' % created['id'])
print('fuzz-api: simulation %s running with 6 processes' % created['id'])
PY

status=0
# /api/v1/events is an endless stream, which a request-response fuzzer can only time out on; the e2e
# tests cover it.
"$VENV/bin/schemathesis" --config-file .ci/schemathesis.toml run "$BASE/openapi.json" \
  --url "$BASE" \
  --checks not_a_server_error,status_code_conformance,content_type_conformance,response_schema_conformance,negative_data_rejection \
  --exclude-path /api/v1/events \
  --max-examples "${FUZZ_EXAMPLES:-100}" \
  --seed "${FUZZ_SEED:-20260101}" \
  --workers 1 \
  --request-timeout 20 \
  --suppress-health-check all \
  --report junit --report-dir "$WORK/report" || status=$?

if grep -qiE 'API request failed unexpectedly|uncaught|unhandled' "$LOG"; then
  echo "fuzz-api: the simulator logged an unexpected failure:"
  grep -iE -A5 'API request failed unexpectedly|uncaught|unhandled' "$LOG" | head -40
  status=1
fi
if ! kill -0 "$SIM_PID" 2>/dev/null; then
  # its exit status tells a clean stop (0, 130, 143) from a signal that killed it (128 + the signal)
  sim_status=0; wait "$SIM_PID" || sim_status=$?
  echo "fuzz-api: the simulator died during the run (exit status $sim_status):"; tail -40 "$LOG"; status=1
fi
exit "$status"

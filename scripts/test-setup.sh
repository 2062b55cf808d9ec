#!/usr/bin/env bash
# Takes this machine to where `npm test` runs green: the Debian packages the tests use, the native
# worker, the bundled collector (built once, cached outside the clone by its manifest's hash) and the
# Kubernetes tools of the chart's tests (cached by their versions).
# `npm test` runs it first (the pretest script); it is quick when everything is already there.
#
# The tests use real programs, never stand-ins, and never skip: prometheus and promtool (a real
# Prometheus), docker-compose (validates the compose file), chromium (the dashboard), a C compiler
# (the worker), prlimit and setpriv (limits and unprivileged runs), ps, python3-venv (the API fuzzer),
# openssl (the certificates of the chart tests' API server).
# As root the missing packages are installed with apt-get; otherwise the script names them and stops.
set -euo pipefail
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
cd "$root"

need=()
command -v chromium >/dev/null || need+=(chromium)
command -v prometheus >/dev/null || need+=(prometheus)
command -v promtool >/dev/null || need+=(prometheus)
command -v docker-compose >/dev/null || need+=(docker-compose)
command -v cc >/dev/null || need+=(gcc libc6-dev)
command -v prlimit >/dev/null || need+=(util-linux)
command -v setpriv >/dev/null || need+=(util-linux)
command -v ps >/dev/null || need+=(procps)
command -v script >/dev/null || need+=(bsdutils)
command -v openssl >/dev/null || need+=(openssl)
python3 -c 'import venv, ensurepip' 2>/dev/null || need+=(python3-venv)
if ((${#need[@]})); then
  mapfile -t need < <(printf '%s\n' "${need[@]}" | sort -u)
  if [[ $(id -u) -eq 0 ]] && command -v apt-get >/dev/null; then
    echo "test-setup: installing ${need[*]}"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends "${need[@]}" >/dev/null
  else
    echo "test-setup: the tests need these Debian packages: ${need[*]}" >&2
    echo "test-setup: install them with: sudo apt-get install ${need[*]}" >&2
    exit 1
  fi
fi

# The native worker (npm install builds it; a clone that skipped install scripts has none, and a pull
# may have changed its source since).
# The project's Node 24 (npm puts it first on PATH; run directly, take it from node_modules).
node_bin=node
[[ -x node_modules/.bin/node ]] && node_bin=node_modules/.bin/node
if [[ ! -x build/ps-worker || src/workload/worker.c -nt build/ps-worker || ! -x build/ps-launcher ||
      src/workload/launcher.c -nt build/ps-launcher ]]; then "$node_bin" scripts/build-worker.ts; fi

# The collectors: a build of several minutes each the first time, then taken from the cache. One
# after the other (the script also serialises builds with a lock): two at once would only share the
# same two cores.
bash scripts/collector-build.sh
bash scripts/collector-build.sh otel-collector/pipelines/builder-config.yaml

# helm, and a real Kubernetes API server (kube-apiserver, etcd, kubectl) that the chart's manifests
# are checked against: about 12 minutes of building the first time, then taken from the cache.
bash scripts/k8s-tools-build.sh

#!/usr/bin/env bash
# Builds the Kubernetes tools the chart's tests use, from their Go modules: helm, and a real API
# server to validate every rendered manifest against (kube-apiserver, etcd, kubectl). No cluster runs
# here: the API server answers server-side dry runs with strict field validation, as envtest does.
#
# From empty caches this downloads ~200 MiB of modules and compiles for about 12 minutes on 2 cores
# (kube-apiserver alone ~10 min, 2.4 GB of memory), so the binaries are cached outside the clone keyed
# by their versions, like the collector: a fresh clone on the same machine reuses them.
#
# Environment: PROCESS_SIMULATOR_CACHE (default $XDG_CACHE_HOME/process-simulator) moves the cache.
# The binaries are linked into build/k8s-tools/ of the clone, the Prometheus Operator's CRDs into
# build/k8s-crds/.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
helm_version="v3.22.0"
kube_version="v1.37.2"
staging_version="v0.37.2"
etcd_version="v3.7.3"
prometheus_operator_version="v0.94.0"

cache_root="${PROCESS_SIMULATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/process-simulator}"
work="$cache_root/k8s-tools-helm-$helm_version-kube-$kube_version-etcd-$etcd_version"
bin="$work/bin"
link="$root/build/k8s-tools"
mkdir -p "$cache_root" "$root/build"

exec 9>"$cache_root/k8s-tools.lock"
if command -v flock >/dev/null; then flock 9; fi
command -v go >/dev/null || { echo "k8s-tools-build: Go is required (go not found on PATH)" >&2; exit 1; }

started=$SECONDS
mkdir -p "$bin"

# Helm's release builds stamp the Kubernetes version they target (here the API server's below, whose
# client modules helm 3.22 uses too); without it `helm template` and `helm lint` assume Kubernetes 1.20
# (Capabilities.KubeVersion) and refuse a chart's kubeVersion.
# The stamp file tells a helm built with these flags from one built before them.
helm_kube_minor="$(cut -d. -f2 <<<"$kube_version")"
helm_ldflags="-s -w -X helm.sh/helm/v3/internal/version.version=$helm_version"
for package in chartutil lint/rules; do
  helm_ldflags+=" -X helm.sh/helm/v3/pkg/$package.k8sVersionMajor=${kube_version:1:1}"
  helm_ldflags+=" -X helm.sh/helm/v3/pkg/$package.k8sVersionMinor=$helm_kube_minor"
done
if [[ ! -x "$bin/helm" || "$(cat "$bin/helm.ldflags" 2>/dev/null)" != "$helm_ldflags" ]]; then
  echo "k8s-tools-build: helm $helm_version"
  GOBIN="$bin" go install -trimpath -ldflags "$helm_ldflags" "helm.sh/helm/v3/cmd/helm@$helm_version"
  printf '%s' "$helm_ldflags" >"$bin/helm.ldflags"
fi

if [[ ! -x "$bin/etcd" ]]; then
  echo "k8s-tools-build: etcd $etcd_version"
  mod="$work/etcd"
  rm -rf "$mod" && mkdir -p "$mod"
  cat >"$mod/go.mod" <<EOF
module process-simulator.local/etcd

go 1.26

require go.etcd.io/etcd/server/v3 $etcd_version
EOF
  cat >"$mod/main.go" <<'EOF'
// etcd, as the Kubernetes API server of the chart tests needs it.
package main

import (
	"os"

	"go.etcd.io/etcd/server/v3/etcdmain"
)

func main() { etcdmain.Main(os.Args) }
EOF
  (cd "$mod" && go mod tidy && go build -ldflags "-s -w" -o "$bin/etcd" .)
fi

if [[ ! -x "$bin/kube-apiserver" || ! -x "$bin/kubectl" ]]; then
  echo "k8s-tools-build: kube-apiserver and kubectl $kube_version (about 10 minutes the first time)"
  mod="$work/kubernetes"
  rm -rf "$mod" && mkdir -p "$mod"
  # k8s.io/kubernetes requires its staging modules at v0.0.0 and replaces them with ./staging, which a
  # dependent module cannot use: replace each with its published version instead.
  gomod="$(go mod download -json "k8s.io/kubernetes@$kube_version" | sed -n 's/.*"GoMod": "\(.*\)",/\1/p')"
  mapfile -t staging < <(sed -n 's/^\s*\(k8s\.io\/[a-z0-9-]*\) v0\.0\.0$/\1/p' "$gomod" | sort -u)
  {
    echo "module process-simulator.local/kubernetes"
    echo
    echo "go 1.26"
    echo
    echo "require k8s.io/kubernetes $kube_version"
    for module in "${staging[@]}"; do echo "replace $module => $module $staging_version"; done
  } >"$mod/go.mod"
  cat >"$mod/tools.go" <<'EOF'
// The Kubernetes API server and kubectl, for server-side dry runs of the chart's manifests.
package tools

import (
	_ "k8s.io/kubernetes/cmd/kube-apiserver"
	_ "k8s.io/kubernetes/cmd/kubectl"
)
EOF
  (cd "$mod" && go mod tidy)
  # kubectl refuses a server without a version: stamp both.
  ldflags="-s -w -X k8s.io/component-base/version.gitVersion=$kube_version"
  ldflags+=" -X k8s.io/component-base/version.gitMajor=${kube_version:1:1}"
  ldflags+=" -X k8s.io/component-base/version.gitMinor=$(cut -d. -f2 <<<"$kube_version")"
  (cd "$mod" && go build -ldflags "$ldflags" -o "$bin/kube-apiserver" k8s.io/kubernetes/cmd/kube-apiserver)
  (cd "$mod" && go build -ldflags "$ldflags" -o "$bin/kubectl" k8s.io/kubernetes/cmd/kubectl)
fi

ln -sfn "$bin" "$link"

# The Prometheus Operator's ServiceMonitor CRD, which the chart's optional ServiceMonitor is checked
# against in the API server: taken from the operator's Go module (its example/ directory, a small
# download kept in the Go module cache), never committed.
crd_dir="$(go mod download -json "github.com/prometheus-operator/prometheus-operator@$prometheus_operator_version" |
  sed -n 's/.*"Dir": "\(.*\)",/\1/p')/example/prometheus-operator-crd"
[[ -f "$crd_dir/monitoring.coreos.com_servicemonitors.yaml" ]] ||
  { echo "k8s-tools-build: no ServiceMonitor CRD in $crd_dir" >&2; exit 1; }
ln -sfn "$crd_dir" "$root/build/k8s-crds"
"$link/helm" version --short >/dev/null
"$link/kubectl" version --client >/dev/null
"$link/etcd" --version >/dev/null
"$link/kube-apiserver" --version >/dev/null
echo "k8s-tools-build: ready in $((SECONDS - started)) s: build/k8s-tools -> $bin"

#!/usr/bin/env bash
# Builds a bundled OpenTelemetry Collector from an OCB manifest with the
# OpenTelemetry Collector Builder (OCB), from the official Go modules.
#
#   bash scripts/collector-build.sh [MANIFEST]
#
# MANIFEST defaults to otel-collector/builder-config.yaml (the main collector);
# otel-collector/pipelines/builder-config.yaml is the second one, for the example
# pipelines. The binary is named after the manifest's dist.name and the builder
# is taken at the manifest's collector release, so each manifest builds alone.
#
# A build pulls hundreds of modules and compiles for minutes on 2 cores, so the
# binary is cached outside the clone, keyed by the manifest's hash: a fresh clone
# on the same machine reuses it, and only a manifest change triggers a rebuild.
# The binary is then linked to otel-collector/build/<dist.name>.
#
# Environment: PROCESS_SIMULATOR_CACHE (default $XDG_CACHE_HOME/process-simulator)
# moves the cache, e.g. onto a CI cache volume.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
manifest="${1:-otel-collector/builder-config.yaml}"
[[ "$manifest" == /* ]] || manifest="$root/$manifest"
[[ -f "$manifest" ]] || { echo "collector-build: manifest not found: $manifest" >&2; exit 2; }
# dist.name, the binary's name
name="$(sed -n 's/^  name: *\([A-Za-z0-9._-]*\).*/\1/p' "$manifest" | head -n 1)"
[[ -n "$name" ]] || { echo "collector-build: no dist.name in $manifest" >&2; exit 2; }
# The builder of the manifest's own release: a builder of another release pins
# its default modules (e.g. connector) at that release and the build fails.
ocb_version="$(grep -o 'go.opentelemetry.io/collector/[a-z/]*receiver/otlpreceiver v0\.[0-9]*\.[0-9]*' "$manifest" | head -n 1 | sed 's/.* //')"
[[ -n "$ocb_version" ]] || { echo "collector-build: $manifest pins no otlpreceiver release to take the builder's version from" >&2; exit 2; }

cache_root="${PROCESS_SIMULATOR_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/process-simulator}"
hash="$(sha256sum "$manifest" | cut -c1-16)"
work="$cache_root/otelcol-$hash"
binary="$work/build/$name"
link="$root/otel-collector/build/$name"
# Keyed by version: a builder left by an older release would otherwise be reused
# and pin its own default modules (e.g. connector) at the wrong release.
ocb="$cache_root/bin/$ocb_version/builder"

mkdir -p "$root/otel-collector/build" "$cache_root"

# Two clones (or two terminals) building the same manifest would write the same
# directory; the second waits and then finds the binary ready.
exec 9>"$cache_root/build.lock"
# flock is util-linux; without it (macOS) builds are simply not serialised.
if command -v flock >/dev/null; then flock 9; fi

if [[ ! -x "$binary" ]]; then
  command -v go >/dev/null || { echo "collector-build: Go is required (go not found on PATH)" >&2; exit 1; }
  if [[ ! -x "$ocb" ]]; then
    echo "collector-build: installing the OpenTelemetry Collector Builder $ocb_version"
    GOBIN="$(dirname "$ocb")" go install "go.opentelemetry.io/collector/cmd/builder@$ocb_version"
  fi
  rm -rf "$work"
  mkdir -p "$work"
  cp "$manifest" "$work/builder-config.yaml"
  echo "collector-build: building $name (manifest $hash); this takes several minutes the first time"
  started=$SECONDS
  # Step 1, sources and go.mod. `go mod tidy` also resolves the imports of the
  # components' own tests, and some of those test-only modules are not served by
  # the module proxy (collector/scraper/scrapertest for hostmetricsreceiver,
  # extension/encoding/otlpencodingextension for fileexporter). -e lets tidy
  # finish without them; they are never compiled into the binary, and a missing
  # module the binary does need still fails step 2.
  (cd "$work" && GOFLAGS="$(go env GOFLAGS) -e" "$ocb" --config builder-config.yaml --skip-compilation)
  # Step 2, compile with the go.mod from step 1 and the caller's GOFLAGS.
  (cd "$work" && "$ocb" --config builder-config.yaml --skip-generate --skip-get-modules)
  echo "collector-build: built in $((SECONDS - started)) s, $(du -h "$binary" | cut -f1)"
fi

ln -sfn "$binary" "$link"
# A smoke run: the binary starts and lists its components.
"$link" components >/dev/null
echo "collector-build: ready: otel-collector/build/$name -> $binary"

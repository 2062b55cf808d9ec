#!/usr/bin/env bash
# Runs the bundled OpenTelemetry Collector with otel-collector/config.yaml,
# building it first when the binary is missing (or its cached target is gone).
#
#   npm run collector                                  # the OTLP -> Prometheus pipeline
#   COLLECTOR_CONFIG=otel-collector/hostmetrics.yaml npm run collector
#   npm run collector -- validate                      # arguments pass through
#   COLLECTOR_CONFIG=otel-collector/pipelines/filter-priority.yaml npm run collector
#
# COLLECTOR_CONFIG picks another base config (relative to the repository root or
# absolute); extra `--config` arguments are merged over it by the collector. The
# ports of every config move through the environment (see their headers). The
# example pipelines of otel-collector/pipelines/ run on the second bundled
# collector (otel-collector/pipelines/builder-config.yaml), which has the filter
# and transform processors.
set -euo pipefail

root="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
config="${COLLECTOR_CONFIG:-otel-collector/config.yaml}"
[[ "$config" == /* ]] || config="$root/$config"

[[ -f "$config" ]] || { echo "collector-run: COLLECTOR_CONFIG file not found: $config" >&2; exit 2; }

manifest="$root/otel-collector/builder-config.yaml"
binary="$root/otel-collector/build/otelcol-process-simulator"
if [[ "$(dirname "$config")" == "$root/otel-collector/pipelines" ]]; then
  manifest="$root/otel-collector/pipelines/builder-config.yaml"
  binary="$root/otel-collector/build/otelcol-process-simulator-pipelines"
fi

# -x follows the link, so a link left dangling by a cleared cache rebuilds too.
if [[ ! -x "$binary" ]]; then
  bash "$root/scripts/collector-build.sh" "$manifest" >&2
fi

case "${1:-}" in
  # Subcommands that read a config take it after their name.
  validate | print-config)
    sub="$1"
    shift
    exec "$binary" "$sub" --config "$config" "$@"
    ;;
  # The others (components, featuregate, help) reject --config.
  [!-]*) exec "$binary" "$@" ;;
esac
exec "$binary" --config "$config" "$@"

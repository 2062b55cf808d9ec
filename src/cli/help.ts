/** Help texts of the CLI, one per command. */
import type { Command } from './args.ts';

const RUN_FLAGS = `  -p, --profile NAME        realistic | high-cardinality | process-churn (high-churn) | chaos
  -f, --profile-file FILE   your own profile (YAML or JSON)
  -n, --processes N         number of simulated processes (scales the profile)
  -d, --duration TIME       e.g. 90s, 10m, 1h (default: until Ctrl-C)
  -s, --seed N              same names, patterns and churn schedule on every run
      --chaos               random kills, CPU spikes and memory leaks (critical processes spared)`;

export const HELP: Record<Command, string> = {
  help: `process-simulator: real, named Linux processes with controllable CPU, memory, threads and fds,
measured from /proc and exported as hostmetrics-shaped OpenTelemetry metrics.

Usage: process-simulator [command] [flags]      (npm start -- [command] [flags])

Commands:
  run        start a simulation and export it (the default)
  profiles   list the built-in profiles
  plan       print the processes a run would start, without starting them
  verify     check what a collector pipeline delivered against a running simulation
  help       this text; \`process-simulator COMMAND --help\` for one command

Every flag of run and plan has an environment variable (see the README); flags win.
Exit codes: 0 done, 1 runtime failure, 2 bad usage or configuration (verify: see its help).`,
  run: `Usage: process-simulator run [flags]

Starts the simulation, serves Prometheus /metrics and the control API, pushes OTLP, until the
duration ends or Ctrl-C. A live status line on a terminal, periodic log lines otherwise, a summary at
the end.

${RUN_FLAGS}
      --metrics-port N      Prometheus /metrics port (default 8888)
      --control-port N      control API port (default 8090)
      --otlp-endpoint URL   OTLP/gRPC endpoint (default http://localhost:4317)
      --interval MS         sampling and export interval (default 10000)`,
  profiles: `Usage: process-simulator profiles [--json]

Lists the built-in profiles with their process count and a one-line description.`,
  plan: `Usage: process-simulator plan [flags] [--json]

Prints every process a run would start (name, priority, CPU and memory patterns, threads, fds,
lifetime) without starting anything.

${RUN_FLAGS}`,
  verify: `Usage: process-simulator verify (--prometheus URL | --otlp-sink) [flags]

Compares what a collector pipeline delivered with what a running simulation produced: every live
process present for every expected metric with the right name, type, unit and attribute keys, values
within tolerance of the simulator's own readings of the same moment, exited processes gone within the
allowed staleness (their linger measured), series counts per metric and priority, no extra series.

  --prometheus URL          read the pipeline's output from this Prometheus-compatible query API
      --selector MATCHERS   label matchers added to every query, e.g. 'job="collector"'
  --otlp-sink               read what the simulator's own OTLP sink received (OTLP_SINK_GRPC_PORT,
                            OTLP_SINK_HTTP_PORT); the simulator compares and answers the report
  -e, --expectations FILE   what the pipeline is meant to do (YAML or JSON; default: deliver
                            everything unchanged), see otel-collector/pipelines/*.expect.yaml
  -w, --wait TIME           retry until the pipeline has caught up or TIME has passed (e.g. 60s)
      --simulator URL       the simulator's control API (default http://127.0.0.1:$CONTROL_PORT,
                            8090); API_TOKEN from the environment is sent as a bearer token
      --simulation ID       which simulation (default: the running one)
      --json                the report as JSON
      --junit FILE          also write the report as JUnit XML

PIDs seen from another PID namespace (a collector in a container or a node agent) are mapped through
/proc/PID/status NSpid when this command runs on the collector's side; otherwise by executable name,
command line and start time. The report says which method matched each process.

Exit codes: 0 the pipeline passed, 1 it differs from the ground truth (the report names each
difference), 2 the verification could not run (bad usage or expectations, unreachable source or
simulator, unknown simulation).`,
};

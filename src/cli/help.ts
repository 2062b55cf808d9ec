/** Help texts of the CLI, one per command. */
import type { Command } from './args.ts';

const RUN_FLAGS = `  -p, --profile NAME        realistic | high-cardinality | process-churn (high-churn) | chaos | edge-cases
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
  fleet      one verdict over every shard of a run (Kubernetes Jobs, several hosts)
  capture    record this host's processes and write a profile that looks like them
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
  fleet: `Usage: process-simulator fleet --shards URL[,URL...] | --shards dns:NAME:PORT [flags]

Reads every shard of a run over its API, adds up their ground truth and judges the run: every shard
present exactly once and of the same run (seed, profile, shard count), none failed or cut short.
dns:NAME:PORT resolves NAME to one address per shard (a headless Service).

      --expect-shards N       the run's shard count (default: what the shards say)
      --expect-processes N    the run's processes in all (PROCESS_COUNT)
      --expect-state S        ended (every shard completed: a Job), running, or any (default)
      --max-skew TIME         fail a shard that started further than this from START_AT
      --wait TIME             read again until the verdict passes or TIME has passed
      --token TOKEN           bearer token for the shards' APIs (default API_TOKEN)
      --json                  the report as JSON
      --junit FILE            the report as JUnit XML
      --termination-log FILE  the verdict where Kubernetes shows it (/dev/termination-log)
      --prometheus URL        also verify each shard's pipeline (as \`verify\` does) through this
                              Prometheus query API, the shard's series selected by --selector
      --selector MATCHERS     default simulator_shard="{shard}" ({shard}: the shard's index)
      --otlp-sink             verify each shard's pipeline through its own OTLP sink instead
  -e, --expectations FILE     what the pipeline is meant to do (see verify --help)

Exit codes: 0 pass, 1 the run failed (named per shard), 2 bad usage or no shard answered.`,
  capture: `Usage: process-simulator capture [--for 10m] [--interval 5s] [--out host.yaml] [flags]

Records the processes of this host from /proc (all of them, or those the filters keep), then writes a
profile with one template per process name (one per behaviour when its processes differ): count,
priority, threads, fds, command line, CPU (steady, spiky or random) and memory (steady, growing or
random) fitted to the readings, and for processes that came and went their lifetimes and churn. The profile's \`source\` says where it came from, what was left
out and why (kernel threads, processes a simulated one cannot hold), and how well each pattern fits;
\`plan -f FILE\` shows it. A progress line goes to standard error; Ctrl-C ends the recording early.

Recording:
      --for TIME           how long to record (default 10m, at most 24h; spikes need 20 readings)
      --interval TIME      time between readings (default 5s, at least 100ms)
      --name GLOB          only processes whose name matches (repeatable; * and ?)
      --exclude GLOB       never processes whose name matches (repeatable)
      --user NAME          only processes of this user (repeatable)
      --cgroup PATH        only processes in this cgroup or below it (repeatable)
Output:
  -o, --out FILE           write the profile here (default: standard output); never overwritten
      --force              replace FILE (and the samples files) if they exist
      --keep-samples       also write FILE's base name + .samples.json (the raw readings) and
                           + .replay.yaml (a profile that drives each process through its readings)
      --from-samples FILE  fit a samples file again instead of recording
      --profile-name NAME  the profile's name (default: capture-HOSTNAME)
Shaping:
      --anonymise          replace names, command lines and the host name by keyed hashes
      --name-map FILE      rename by a YAML map (names: {postgres: db}, args: {...}); the rest hashed
      --salt TEXT          the hash key, to get the same names in several captures (default: random)
      --scale N            multiply the process counts (0.1 = a tenth; at least one of each kind)
      --top N              keep the N names using the most memory (or CPU with --by cpu)
      --by cpu|memory      what --top ranks by (default memory)
      --priorities FILE    a YAML map of name patterns to priorities, first match wins
                           (default: by uptime and resident memory, see the README)`,
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

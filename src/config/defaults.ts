/**
 * Defaults and the environment variables the simulator reads. Kept apart from the parser so that the
 * docker-compose file, the Dockerfile and the README can be checked against one list in tests.
 */

/** Port of the Prometheus endpoint (`/metrics`). Also the port the seed used. */
export const DEFAULT_METRICS_PORT = 8888;
/** Port of the control API (`/health`, `/info`, `/api/v1/...`). */
export const DEFAULT_CONTROL_PORT = 8090;
/** OTLP/gRPC endpoint; plain text unless the URL says https. */
export const DEFAULT_OTLP_ENDPOINT = 'http://localhost:4317';
/** Interval of OTLP exports and of /proc sampling, in milliseconds. */
export const DEFAULT_EXPORT_INTERVAL_MS = 10_000;
/** Largest request body the control API reads, in bytes. */
export const DEFAULT_API_BODY_LIMIT = 256 * 1024;
/** Longest duration a simulation or a fault may ask for, in milliseconds (24 hours). */
export const DEFAULT_MAX_DURATION_MS = 24 * 3_600_000;
/** Largest profile file (PROFILE_FILE) read, in bytes; larger files are refused before parsing. */
export const MAX_PROFILE_FILE_BYTES = 1024 * 1024;
/**
 * Deepest nesting of objects and arrays in a request body or a profile file. A profile needs 5 levels;
 * deeper input is refused before validation, so nothing downstream recurses through it.
 */
export const MAX_NESTING_DEPTH = 32;
/** Prefix of the simulation attributes (priority, profile, simulation id, patterns). */
export const SIMULATION_ATTRIBUTE_PREFIX = 'simulator.';

/** Every environment variable the simulator reads, with a one-line description for --help and README. */
export const ENV_VARS = {
  PROFILE:
    'built-in profile: realistic | high-cardinality | process-churn (alias high-churn) | chaos | edge-cases',
  PROFILE_FILE: 'path of a profile file (YAML or JSON); overrides PROFILE',
  PROCESS_COUNT: 'number of simulated processes (scales the profile)',
  DURATION: 'how long to run, e.g. 90s, 10m, 1h (default: until stopped)',
  SEED: 'integer seed: same names, patterns and churn schedule on every run',
  AUTO_START: 'start the simulation at launch (default true)',
  ENABLE_CHAOS: 'inject random failures and resource spikes (default false; the chaos profile enables it)',
  MAX_PROCESSES: 'global cap on simulated processes (default 12000)',
  SHARD_INDEX:
    'this instance is shard SHARD_INDEX (0-based) of SHARD_COUNT; default JOB_COMPLETION_INDEX, else 0',
  SHARD_COUNT:
    'split the run (PROCESS_COUNT in total) over this many simulators, each one slice with unique names (default 1)',
  JOB_COMPLETION_INDEX: "a Kubernetes Indexed Job's pod index: the shard index when SHARD_INDEX is not set",
  START_AT:
    'start the simulation at this time (2026-12-02T10:00:00Z or epoch seconds), e.g. every shard at once; a late start begins at once and reports its skew',
  LINGER:
    'after the simulation ends (DURATION), keep serving its results this long before exiting, e.g. 5m (default 0: exit at once)',
  ALLOW_CPU_OVERCOMMIT:
    "let the runs' average CPU exceed 90% of the machine's CPUs (default false: such a run is refused)",
  MAX_DURATION: 'longest duration a simulation or a chaos fault may ask for, e.g. 30m, 24h (default 24h)',
  API_TOKEN:
    'when set (16+ visible ASCII characters), mutating control API requests need the header Authorization: Bearer <token>; required when CONTROL_HOST is beyond loopback',
  API_ALLOW_UNAUTHENTICATED:
    'true = let the control API listen beyond loopback without API_TOKEN (default false); only where its port is reachable from this machine alone, as docker-compose.yml publishes it on 127.0.0.1',
  ALLOWED_HOSTS:
    'host names the control API answers for besides localhost, loopback addresses and the address a request came in on, comma-separated; * = any (turns the Host check off)',
  API_BODY_LIMIT: 'largest control API request body, e.g. 64KiB, 1MiB (default 256KiB); larger ones get 413',
  METRICS_PORT: `Prometheus /metrics port (default ${DEFAULT_METRICS_PORT})`,
  METRICS_HOST: 'Prometheus bind address (default 0.0.0.0)',
  CONTROL_PORT: `control API port (default ${DEFAULT_CONTROL_PORT})`,
  CONTROL_HOST: 'control API bind address (default 127.0.0.1; 0.0.0.0 in the container image)',
  SIMULATION_ATTRIBUTES: `add ${SIMULATION_ATTRIBUTE_PREFIX}* attributes to every series (default true; false = exactly a real host's shape)`,
  OTEL_EXPORTER_OTLP_ENDPOINT: `OTLP/gRPC endpoint (default ${DEFAULT_OTLP_ENDPOINT})`,
  OTEL_EXPORTER_OTLP_METRICS_ENDPOINT:
    'OTLP/gRPC endpoint for metrics; overrides OTEL_EXPORTER_OTLP_ENDPOINT',
  OTEL_EXPORTER_OTLP_HEADERS: 'gRPC metadata sent with every export, k1=v1,k2=v2',
  OTEL_METRIC_EXPORT_INTERVAL: `export and sampling interval in ms (default ${DEFAULT_EXPORT_INTERVAL_MS})`,
  OTEL_METRICS_EXPORTER: 'otlp (default) or none: turn the OTLP push off',
  OTLP_PROCESS_ATTRIBUTES:
    "where the OTLP push puts each process's attributes: resource (default; one Resource per process, the hostmetrics receiver's shape) or datapoint (one Resource, the attributes on every data point)",
  OTLP_SINK_GRPC_PORT:
    'open the OTLP sink (what `verify --otlp-sink` reads) with an OTLP/gRPC receiver on this port (default: no sink)',
  OTLP_SINK_HTTP_PORT: 'the OTLP sink also receives OTLP/HTTP (POST /v1/metrics, protobuf) on this port',
  OTLP_SINK_HOST: 'bind address of the OTLP sink (default 127.0.0.1)',
  OTLP_SINK_MAX_SERIES:
    'most series the OTLP sink keeps; beyond, a verification fails its sink-capacity check (default 250000)',
  OTEL_SERVICE_NAME: 'service.name of the simulator resource (default process-simulator)',
  OTEL_RESOURCE_ATTRIBUTES: 'extra resource attributes, k1=v1,k2=v2',
  OPTIONAL_METRICS:
    'also emit the metrics the hostmetrics receiver has off by default: context switches, paging faults, uptime, CPU and memory utilization, pending signals, disk operations (default false)',
  METRICS_CONFIG:
    "a hostmetrics receiver configuration (YAML or JSON, the collector's file as it is): its process scraper's metrics and resource_attributes switches apply, the rest keep the receiver's defaults",
  LOG_LEVEL: 'debug | info | warn | error (default info)',
} as const;

export type EnvVarName = keyof typeof ENV_VARS;

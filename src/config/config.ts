/**
 * The only reader of process.env: turns the environment into one validated Config. Every error names
 * the variable, the value given and what was expected, except for secrets: the values of API_TOKEN and
 * OTEL_EXPORTER_OTLP_HEADERS are never shown, and credentials in an endpoint URL are shown as `***`.
 */
import { describeValue, keyName } from '../json/excerpt.ts';
import { formatDuration, MAX_DURATION_MS, parseDuration, parseSize } from '../profiles/units.ts';
import { ValidationError, type ValidationIssue } from '../profiles/validation-error.ts';
import { defaultSelection, type MetricSelection } from '../telemetry/process-metrics.ts';
import {
  DEFAULT_API_BODY_LIMIT,
  DEFAULT_CONTROL_PORT,
  DEFAULT_EXPORT_INTERVAL_MS,
  DEFAULT_MAX_DURATION_MS,
  DEFAULT_METRICS_PORT,
  DEFAULT_OTLP_ENDPOINT,
  type EnvVarName,
} from './defaults.ts';
import { isLoopback, isWildcard, normalizeHostName } from './hosts.ts';
import { loadMetricsConfig } from './metrics-config.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

/** The values of OTLP_PROCESS_ATTRIBUTES, the default first. */
export const OTLP_PROCESS_ATTRIBUTES_VALUES = ['resource', 'datapoint'] as const;
export type OtlpProcessAttributes = (typeof OTLP_PROCESS_ATTRIBUTES_VALUES)[number];

export interface Config {
  profile: string;
  profileFile: string | undefined;
  processCount: number | undefined;
  durationMs: number | undefined;
  seed: number | undefined;
  autoStart: boolean;
  enableChaos: boolean;
  maxProcesses: number;
  /** let the runs' CPU demand exceed the machine's CPUs */
  allowCpuOvercommit: boolean;
  /** this instance's slice of a run spread over several simulators */
  shard: { index: number; count: number };
  /** START_AT: when the auto-started simulation starts, epoch ms (undefined: at once) */
  startAtMs: number | undefined;
  /** LINGER: how long the results stay served after the auto-started simulation ended, ms */
  lingerMs: number;
  /** longest duration a simulation or a chaos fault may ask for, ms */
  maxDurationMs: number;
  /** bearer token required on mutating API requests; undefined = no authentication */
  apiToken: string | undefined;
  /** API_ALLOW_UNAUTHENTICATED: the API may listen beyond loopback without a token */
  allowUnauthenticated: boolean;
  /** Host names the API answers for besides loopback and its own address (normal form); `*` = any */
  allowedHosts: string[];
  /** largest API request body, bytes */
  apiBodyLimitBytes: number;
  metricsHost: string;
  metricsPort: number;
  controlHost: string;
  controlPort: number;
  simulationAttributes: boolean;
  otlp: {
    enabled: boolean;
    endpoint: string;
    /** gRPC metadata from OTEL_EXPORTER_OTLP_HEADERS */
    headers: Record<string, string>;
    /**
     * OTLP_PROCESS_ATTRIBUTES: 'resource', one Resource per process carrying its attributes (the
     * hostmetrics receiver's shape); 'datapoint', the SDK's one Resource and the process attributes on
     * every data point
     */
    processAttributes: OtlpProcessAttributes;
  };
  exportIntervalMs: number;
  /** the OTLP receiver a pipeline under test sends to (`verify --otlp-sink`); off without a port */
  otlpSink: {
    host: string;
    /** gRPC port; undefined = no gRPC listener */
    grpcPort: number | undefined;
    /** OTLP/HTTP port (POST /v1/metrics); undefined = no HTTP listener */
    httpPort: number | undefined;
    /** most series it keeps */
    maxSeries: number;
  };
  serviceName: string;
  /** from OTEL_RESOURCE_ATTRIBUTES */
  resourceAttributes: Record<string, string>;
  /** OPTIONAL_METRICS: also emit every metric the hostmetrics receiver has off by default */
  optionalMetrics: boolean;
  /** METRICS_CONFIG: the receiver configuration the selection was read from */
  metricsConfig: string | undefined;
  /** the metrics and per-process attributes emitted (defaults, OPTIONAL_METRICS or METRICS_CONFIG) */
  metricSelection: MetricSelection;
  /** what METRICS_CONFIG holds that the simulator does not apply, one sentence each (logged at start) */
  metricsConfigNotes: string[];
  logLevel: LogLevel;
}

type Env = Partial<Record<EnvVarName, string>> & Record<string, string | undefined>;

/**
 * Reads the configuration from `env`.
 * @throws ValidationError listing every bad variable with its value
 */
export function loadConfig(env: Env = process.env): Config {
  const issues: ValidationIssue[] = [];
  const read = <T>(name: EnvVarName, fallback: T, parse: (text: string) => T): T => {
    const text = env[name];
    if (text === undefined || text.trim() === '') return fallback;
    try {
      return parse(text.trim());
    } catch (error) {
      const issue: ValidationIssue = { path: name, message: (error as Error).message };
      // A secret's value is never repeated; an endpoint's is shown without its user info.
      if (SECRETS.has(name)) issue.message += ' (the value is not shown)';
      else issue.value = ENDPOINTS.has(name) ? redactUserInfo(text) : text;
      issues.push(issue);
      return fallback;
    }
  };

  const config: Config = {
    profile: read('PROFILE', 'realistic', (text) => text),
    profileFile: read<string | undefined>('PROFILE_FILE', undefined, (text) => text),
    processCount: read<number | undefined>('PROCESS_COUNT', undefined, integer(0, 100_000)),
    durationMs: read<number | undefined>('DURATION', undefined, positiveDuration),
    seed: read<number | undefined>('SEED', undefined, integer(0, 2 ** 31 - 1)),
    autoStart: read('AUTO_START', true, boolean),
    enableChaos: read('ENABLE_CHAOS', false, boolean),
    maxProcesses: read('MAX_PROCESSES', 12_000, integer(1, 100_000)),
    allowCpuOvercommit: read('ALLOW_CPU_OVERCOMMIT', false, boolean),
    shard: {
      // An Indexed Job gives each pod its index in JOB_COMPLETION_INDEX.
      index: read('SHARD_INDEX', read('JOB_COMPLETION_INDEX', 0, integer(0, 9_999)), integer(0, 9_999)),
      count: read('SHARD_COUNT', 1, integer(1, 10_000)),
    },
    startAtMs: read<number | undefined>('START_AT', undefined, instant),
    lingerMs: read('LINGER', 0, (text) => (text === '0' ? 0 : positiveDuration(text))),
    maxDurationMs: read('MAX_DURATION', DEFAULT_MAX_DURATION_MS, positiveDuration),
    apiToken: read<string | undefined>('API_TOKEN', undefined, token),
    allowUnauthenticated: read('API_ALLOW_UNAUTHENTICATED', false, boolean),
    allowedHosts: read('ALLOWED_HOSTS', [], hostList),
    apiBodyLimitBytes: read('API_BODY_LIMIT', DEFAULT_API_BODY_LIMIT, (text) => {
      const bytes = parseSize(text);
      if (bytes < 1024 || bytes > 64 * 2 ** 20) throw new Error('expected a size from 1KiB to 64MiB');
      return bytes;
    }),
    metricsHost: read('METRICS_HOST', '0.0.0.0', bindAddress),
    metricsPort: read('METRICS_PORT', DEFAULT_METRICS_PORT, integer(0, 65_535)),
    controlHost: read('CONTROL_HOST', '127.0.0.1', bindAddress),
    controlPort: read('CONTROL_PORT', DEFAULT_CONTROL_PORT, integer(0, 65_535)),
    simulationAttributes: read('SIMULATION_ATTRIBUTES', true, boolean),
    otlp: {
      enabled: read('OTEL_METRICS_EXPORTER', true, (text) => {
        if (text === 'otlp') return true;
        if (text === 'none') return false;
        throw new Error('expected "otlp" or "none"');
      }),
      endpoint: read(
        'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
        read('OTEL_EXPORTER_OTLP_ENDPOINT', DEFAULT_OTLP_ENDPOINT, endpoint),
        endpoint,
      ),
      headers: read('OTEL_EXPORTER_OTLP_HEADERS', {}, grpcMetadata),
      processAttributes: read<OtlpProcessAttributes>('OTLP_PROCESS_ATTRIBUTES', 'resource', (text) => {
        const value = OTLP_PROCESS_ATTRIBUTES_VALUES.find((allowed) => allowed === text);
        if (value === undefined) throw new Error('expected "resource" or "datapoint"');
        return value;
      }),
    },
    exportIntervalMs: read(
      'OTEL_METRIC_EXPORT_INTERVAL',
      DEFAULT_EXPORT_INTERVAL_MS,
      integer(100, 3_600_000),
    ),
    otlpSink: {
      host: read('OTLP_SINK_HOST', '127.0.0.1', (text) => text),
      grpcPort: read<number | undefined>('OTLP_SINK_GRPC_PORT', undefined, integer(0, 65_535)),
      httpPort: read<number | undefined>('OTLP_SINK_HTTP_PORT', undefined, integer(0, 65_535)),
      maxSeries: read('OTLP_SINK_MAX_SERIES', 250_000, integer(1000, 10_000_000)),
    },
    serviceName: read('OTEL_SERVICE_NAME', 'process-simulator', (text) => text),
    resourceAttributes: read('OTEL_RESOURCE_ATTRIBUTES', {}, keyValues),
    optionalMetrics: read('OPTIONAL_METRICS', false, boolean),
    metricsConfig: read<string | undefined>('METRICS_CONFIG', undefined, (text) => text),
    metricSelection: defaultSelection(),
    metricsConfigNotes: [],
    logLevel: read('LOG_LEVEL', 'info', (text) => {
      if (['debug', 'info', 'warn', 'error'].includes(text)) return text as LogLevel;
      throw new Error('expected debug, info, warn or error');
    }),
  };
  config.metricSelection = defaultSelection(config.optionalMetrics);
  if (config.metricsConfig !== undefined) {
    if (config.optionalMetrics) {
      issues.push({
        path: 'OPTIONAL_METRICS',
        value: env.OPTIONAL_METRICS,
        message: 'expected false or unset beside METRICS_CONFIG, which says which metrics are on',
      });
    }
    try {
      const loaded = loadMetricsConfig(config.metricsConfig);
      config.metricSelection = loaded.selection;
      config.metricsConfigNotes = loaded.notes;
    } catch (error) {
      if (!(error instanceof ValidationError)) throw error;
      issues.push({ path: 'METRICS_CONFIG', message: error.message });
    }
  }
  if (config.durationMs !== undefined && config.durationMs > config.maxDurationMs) {
    issues.push({
      path: 'DURATION',
      value: env.DURATION,
      message: `expected at most MAX_DURATION (${config.maxDurationMs} ms)`,
    });
  }
  if (config.shard.index >= config.shard.count) {
    const variable =
      env.SHARD_INDEX !== undefined && env.SHARD_INDEX.trim() !== '' ? 'SHARD_INDEX' : 'JOB_COMPLETION_INDEX';
    issues.push({
      path: variable,
      value: env[variable],
      message: `expected a shard index below SHARD_COUNT (${config.shard.count})`,
    });
  }
  const controlHost = normalizeHostName(config.controlHost);
  if (controlHost && !isLoopback(controlHost) && !config.apiToken && !config.allowUnauthenticated) {
    issues.push({
      path: 'CONTROL_HOST',
      value: config.controlHost,
      message: `the control API would listen beyond loopback${isWildcard(controlHost) ? ' (every interface)' : ''} without API_TOKEN, so anyone reaching it could start and kill processes: set API_TOKEN, or CONTROL_HOST=127.0.0.1, or API_ALLOW_UNAUTHENTICATED=true if the port is reachable from this machine only`,
    });
  }
  if (issues.length > 0) throw new ValidationError('environment', issues);
  return config;
}

/** Variables whose values are secrets: never repeated in an error. */
const SECRETS: ReadonlySet<string> = new Set<EnvVarName>(['API_TOKEN', 'OTEL_EXPORTER_OTLP_HEADERS']);
/** Variables holding a URL whose user info may be a credential. */
const ENDPOINTS: ReadonlySet<string> = new Set<EnvVarName>([
  'OTEL_EXPORTER_OTLP_ENDPOINT',
  'OTEL_EXPORTER_OTLP_METRICS_ENDPOINT',
]);

/** Shortest API_TOKEN accepted: a guessable token is no protection. */
export const MIN_TOKEN_LENGTH = 16;

function token(text: string): string {
  if (!/^[\x21-\x7e]+$/.test(text)) {
    throw new Error('expected visible ASCII characters only (no spaces), as an HTTP header can carry them');
  }
  if (text.length < MIN_TOKEN_LENGTH) {
    throw new Error(`expected at least ${MIN_TOKEN_LENGTH} characters (got ${text.length})`);
  }
  return text;
}

/** An address or host name to listen on, as given (node resolves names). */
function bindAddress(text: string): string {
  if (normalizeHostName(text) === undefined) {
    throw new Error('expected an IP address or a host name, e.g. 127.0.0.1, ::1, 0.0.0.0');
  }
  return text;
}

/** ALLOWED_HOSTS: host names (no ports) separated by commas, or `*` for any. */
function hostList(text: string): string[] {
  const hosts: string[] = [];
  for (const entry of text.split(',')) {
    const trimmed = entry.trim();
    if (!trimmed) continue;
    const name = trimmed === '*' ? '*' : normalizeHostName(trimmed);
    if (name === undefined) {
      throw new Error(
        `expected host names without ports separated by commas (e.g. sim.example.com,10.0.0.5), or *; ${JSON.stringify(trimmed.slice(0, 64))} is not one`,
      );
    }
    hosts.push(name);
  }
  return hosts;
}

function integer(min: number, max: number): (text: string) => number {
  return (text) => {
    const value = Number(text);
    if (!/^-?\d+$/.test(text) || value < min || value > max) {
      throw new Error(`expected an integer from ${min} to ${max}`);
    }
    return value;
  };
}

/**
 * An absolute time: RFC 3339 with an explicit zone (2026-12-02T10:00:00Z, ...+01:00) or seconds since
 * the epoch. A time without a zone would mean something else on every node, so it is refused.
 */
function instant(text: string): number {
  if (/^\d+(\.\d+)?$/.test(text)) return Math.round(Number(text) * 1000);
  const ms = /(Z|[+-]\d\d:?\d\d)$/i.test(text) ? Date.parse(text) : Number.NaN;
  if (!Number.isFinite(ms)) {
    throw new Error('expected a time with its zone such as 2026-12-02T10:00:00Z, or seconds since the epoch');
  }
  return ms;
}

function boolean(text: string): boolean {
  const lower = text.toLowerCase();
  if (['true', '1', 'yes', 'on'].includes(lower)) return true;
  if (['false', '0', 'no', 'off'].includes(lower)) return false;
  throw new Error('expected true or false');
}

function positiveDuration(text: string): number {
  const ms = parseDuration(text);
  if (ms <= 0) throw new Error('expected a duration > 0 such as 90s, 10m, 1h');
  if (ms > MAX_DURATION_MS) {
    throw new Error(`expected at most ${formatDuration(MAX_DURATION_MS)} (the longest a timer can wait)`);
  }
  return ms;
}

/**
 * An OTLP/gRPC endpoint URL. A bare host:port is taken as plain text (http://), the common case of a
 * local collector; say https:// for TLS. User info (`user:pass@`) is refused rather than redacted
 * everywhere the endpoint is shown (/info, logs): credentials go in OTEL_EXPORTER_OTLP_HEADERS. So are
 * a path, a query and a fragment, which gRPC does not use and which could hold a token too.
 */
function endpoint(text: string): string {
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  if (withScheme.includes('@')) {
    throw new Error(
      'expected no user info (user:password@) in the endpoint: send credentials with OTEL_EXPORTER_OTLP_HEADERS, e.g. authorization=Basic%20<base64>',
    );
  }
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new Error('expected an http:// or https:// URL, or host:port');
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error('expected an http:// or https:// URL, or host:port');
  if (url.username || url.password) throw new Error('expected no user info in the endpoint');
  // url.port is empty for a default port written out (https://host:443), so look at the text too
  if (!url.port && !/:\d+\/?$/.test(withScheme)) throw new Error('expected a port, e.g. localhost:4317');
  if ((url.pathname !== '/' && url.pathname !== '') || url.search || url.hash) {
    throw new Error('expected no path, query or fragment (an OTLP/gRPC endpoint is scheme://host:port)');
  }
  return withScheme;
}

/**
 * `text` with anything that could be user info (up to the last `@` before the path) replaced by `***`,
 * whether or not it parses as a URL.
 */
export function redactUserInfo(text: string): string {
  const scheme = /^[a-z][a-z0-9+.-]*:\/\//i.exec(text)?.[0] ?? '';
  const rest = text.slice(scheme.length);
  const at = rest.lastIndexOf('@');
  return at === -1 ? text : `${scheme}***@${rest.slice(at + 1)}`;
}

/**
 * OTEL_EXPORTER_OTLP_HEADERS as gRPC metadata: keys lower-cased and checked against gRPC's key
 * characters, values against its printable ASCII, here rather than by the gRPC library at the first
 * export, whose error quotes the value (it would reach the log and /info). Errors name keys only.
 */
function grpcMetadata(text: string): Record<string, string> {
  const pairs = lowerCaseKeys(keyValues(text, true));
  for (const [key, value] of Object.entries(pairs)) {
    if (!/^[0-9a-z_.-]+$/.test(key)) {
      throw new Error(`expected header names of 0-9 a-z _ . - only; ${keyName(key, true)} is not one`);
    }
    if (key.endsWith('-bin'))
      throw new Error(`binary (-bin) headers are not supported: ${keyName(key, true)}`);
    if (!/^[\x20-\x7e]*$/.test(value)) {
      throw new Error(
        `the value of header ${keyName(key, true)} must be printable ASCII once percent-decoded`,
      );
    }
  }
  return pairs;
}

function lowerCaseKeys(pairs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(pairs).map(([key, value]) => [key.toLowerCase(), value]));
}

/**
 * W3C-baggage-like `k1=v1,k2=v2` with percent-encoded values, as the OTel spec defines. With `secret`,
 * errors never quote a pair (its value is a credential), only its position.
 */
function keyValues(text: string, secret = false): Record<string, string> {
  const result: Record<string, string> = {};
  text.split(',').forEach((pair, index) => {
    if (!pair.trim()) return;
    const at = pair.indexOf('=');
    const shown = secret ? `pair ${index + 1}` : describeValue(pair);
    if (at <= 0) throw new Error(`expected key=value pairs separated by commas; ${shown} has no key=`);
    const key = pair.slice(0, at).trim();
    try {
      result[key] = decodeURIComponent(pair.slice(at + 1).trim());
    } catch {
      throw new Error(
        `expected a percent-encoded value; the value of ${secret ? keyName(key, true) : shown} is not`,
      );
    }
  });
  return result;
}

/**
 * The only reader of process.env: turns the environment into one validated Config. Every error names
 * the variable, the value given and what was expected.
 */
import { formatDuration, MAX_DURATION_MS, parseDuration, parseSize } from '../profiles/units.ts';
import { ValidationError } from '../profiles/validation-error.ts';
import {
  DEFAULT_API_BODY_LIMIT,
  DEFAULT_CONTROL_PORT,
  DEFAULT_EXPORT_INTERVAL_MS,
  DEFAULT_MAX_DURATION_MS,
  DEFAULT_METRICS_PORT,
  DEFAULT_OTLP_ENDPOINT,
  type EnvVarName,
} from './defaults.ts';

export type LogLevel = 'debug' | 'info' | 'warn' | 'error';

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
  };
  exportIntervalMs: number;
  serviceName: string;
  /** from OTEL_RESOURCE_ATTRIBUTES */
  resourceAttributes: Record<string, string>;
  /** also emit context switches, paging faults and uptime (off by default in the hostmetrics receiver too) */
  optionalMetrics: boolean;
  logLevel: LogLevel;
}

type Env = Partial<Record<EnvVarName, string>> & Record<string, string | undefined>;

/**
 * Reads the configuration from `env`.
 * @throws ValidationError listing every bad variable with its value
 */
export function loadConfig(env: Env = process.env): Config {
  const issues: Array<{ path: string; message: string; value?: unknown }> = [];
  const read = <T>(name: EnvVarName, fallback: T, parse: (text: string) => T): T => {
    const text = env[name];
    if (text === undefined || text.trim() === '') return fallback;
    try {
      return parse(text.trim());
    } catch (error) {
      issues.push({ path: name, value: text, message: (error as Error).message });
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
    apiToken: read<string | undefined>('API_TOKEN', undefined, (text) => text),
    apiBodyLimitBytes: read('API_BODY_LIMIT', DEFAULT_API_BODY_LIMIT, (text) => {
      const bytes = parseSize(text);
      if (bytes < 1024 || bytes > 64 * 2 ** 20) throw new Error('expected a size from 1KiB to 64MiB');
      return bytes;
    }),
    metricsHost: read('METRICS_HOST', '0.0.0.0', (text) => text),
    metricsPort: read('METRICS_PORT', DEFAULT_METRICS_PORT, integer(0, 65_535)),
    controlHost: read('CONTROL_HOST', '127.0.0.1', (text) => text),
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
      headers: read('OTEL_EXPORTER_OTLP_HEADERS', {}, (text) => lowerCaseKeys(keyValues(text))),
    },
    exportIntervalMs: read(
      'OTEL_METRIC_EXPORT_INTERVAL',
      DEFAULT_EXPORT_INTERVAL_MS,
      integer(100, 3_600_000),
    ),
    serviceName: read('OTEL_SERVICE_NAME', 'process-simulator', (text) => text),
    resourceAttributes: read('OTEL_RESOURCE_ATTRIBUTES', {}, keyValues),
    optionalMetrics: read('OPTIONAL_METRICS', false, boolean),
    logLevel: read('LOG_LEVEL', 'info', (text) => {
      if (['debug', 'info', 'warn', 'error'].includes(text)) return text as LogLevel;
      throw new Error('expected debug, info, warn or error');
    }),
  };
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
  if (issues.length > 0) throw new ValidationError('environment', issues);
  return config;
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
 * local collector; say https:// for TLS.
 */
function endpoint(text: string): string {
  const withScheme = /^[a-z]+:\/\//i.test(text) ? text : `http://${text}`;
  const url = new URL(withScheme);
  if (url.protocol !== 'http:' && url.protocol !== 'https:')
    throw new Error('expected an http:// or https:// URL, or host:port');
  if (!url.port) throw new Error('expected a port, e.g. localhost:4317');
  return withScheme;
}

function lowerCaseKeys(pairs: Record<string, string>): Record<string, string> {
  return Object.fromEntries(Object.entries(pairs).map(([key, value]) => [key.toLowerCase(), value]));
}

/** W3C-baggage-like `k1=v1,k2=v2` with percent-encoded values, as the OTel spec defines. */
function keyValues(text: string): Record<string, string> {
  const result: Record<string, string> = {};
  for (const pair of text.split(',')) {
    if (!pair.trim()) continue;
    const at = pair.indexOf('=');
    if (at <= 0) throw new Error(`expected key=value pairs separated by commas, got ${JSON.stringify(pair)}`);
    result[pair.slice(0, at).trim()] = decodeURIComponent(pair.slice(at + 1).trim());
  }
  return result;
}

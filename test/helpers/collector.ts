/**
 * The bundled OpenTelemetry Collector for tests: the shipped configs (otel-collector/*.yaml) on free
 * loopback ports, with extra YAML layers merged over them, and helpers to read what it exports.
 */
import {
  accessSync,
  chmodSync,
  constants,
  copyFileSync,
  linkSync,
  mkdtempSync,
  rmSync,
  writeFileSync,
} from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnChild, type TestChild } from './children.ts';
import { freePorts } from './ports.ts';
import { waitFor } from './wait.ts';

export const REPO_ROOT = join(import.meta.dirname, '..', '..');
export const COLLECTOR_BINARY = join(REPO_ROOT, 'otel-collector', 'build', 'otelcol-process-simulator');
/** The second bundled collector, with the filter, transform and attributes processors. */
export const PIPELINES_COLLECTOR_BINARY = join(
  REPO_ROOT,
  'otel-collector',
  'build',
  'otelcol-process-simulator-pipelines',
);
export const PIPELINE_CONFIG = join(REPO_ROOT, 'otel-collector', 'config.yaml');
export const HOSTMETRICS_CONFIG = join(REPO_ROOT, 'otel-collector', 'hostmetrics.yaml');
/** The example pipelines and their expectations. */
export const PIPELINES_DIR = join(REPO_ROOT, 'otel-collector', 'pipelines');

const READY_LINE = 'Everything is ready';

/**
 * The collector binary's path.
 * @throws Error telling how to build it when it is missing: these tests never skip silently
 */
export function collectorBinary(binary = COLLECTOR_BINARY): string {
  try {
    accessSync(binary, constants.X_OK);
    return binary;
  } catch {
    const pipelines = binary === PIPELINES_COLLECTOR_BINARY;
    throw new Error(
      `the collector binary otel-collector/build/${pipelines ? 'otelcol-process-simulator-pipelines' : 'otelcol-process-simulator'} is missing; run \`npm run ${pipelines ? 'collector:build:pipelines' : 'collector:build'}\` first (npm test's setup builds both)`,
    );
  }
}

/** The ports both shipped configs read from the environment. */
export interface CollectorPorts {
  OTLP_GRPC_PORT: number;
  OTLP_HTTP_PORT: number;
  PROM_EXPORTER_PORT: number;
  COLLECTOR_TELEMETRY_PORT: number;
}

export async function freeCollectorPorts(): Promise<CollectorPorts> {
  const [grpc, http, prom, telemetry] = (await freePorts(4)) as [number, number, number, number];
  return {
    OTLP_GRPC_PORT: grpc,
    OTLP_HTTP_PORT: http,
    PROM_EXPORTER_PORT: prom,
    COLLECTOR_TELEMETRY_PORT: telemetry,
  };
}

export interface CollectorOptions {
  /** which bundled collector @default COLLECTOR_BINARY */
  binary?: string;
  /** the shipped config to start from @default PIPELINE_CONFIG */
  base?: string;
  /** YAML documents merged over `base`, in order (maps merge, lists are replaced) */
  overrides?: string[];
  /** ports to listen on @default fresh free ports */
  ports?: CollectorPorts;
  /** more environment for the config's ${env:...} references */
  env?: Record<string, string>;
  /** how long to wait for the ready line @default 30000 */
  startTimeoutMs?: number;
  /**
   * run it as this user (setpriv, no supplementary groups; the test must be root): an unprivileged
   * collector. Its binary and config files are put where that user can read them.
   */
  runAs?: { uid: number; gid: number };
}

export interface RunningCollector {
  readonly child: TestChild;
  readonly ports: CollectorPorts;
  /** the prometheus exporter's /metrics */
  readonly metricsUrl: string;
  /** the OTLP/gRPC endpoint, as the simulator's OTEL_EXPORTER_OTLP_ENDPOINT */
  readonly otlpGrpcEndpoint: string;
  /** when its log said it was ready, epoch ms */
  readonly readyAtMs: number;
  /** SIGTERM by process group, waits for the exit, removes the generated files */
  stop(): Promise<void>;
}

/**
 * Data points the collector's `exporter` has sent so far, from the collector's own telemetry
 * (otelcol_exporter_sent_metric_points, with or without _total by release): it rises once per batch the
 * exporter takes, so a rise
 * shows that data received after a moment has reached that exporter.
 */
export async function sentPoints(collector: RunningCollector, exporter = 'prometheus'): Promise<number> {
  const url = `http://127.0.0.1:${collector.ports.COLLECTOR_TELEMETRY_PORT}/metrics`;
  const text = await (await fetch(url)).text();
  let total = 0;
  let found = false;
  for (const line of text.split('\n')) {
    if (!/^otelcol_exporter_sent_metric_points(_total)?\{/.test(line)) continue;
    if (!line.includes(`exporter="${exporter}"`)) continue;
    total += Number(line.slice(line.lastIndexOf(' ') + 1));
    found = true;
  }
  if (!found) throw new Error(`${url} has no otelcol_exporter_sent_metric_points for ${exporter}`);
  return total;
}

/**
 * Starts the collector and waits until it says it is ready.
 * @throws Error with the collector's log when it exits or does not become ready in time
 */
export async function startCollector(options: CollectorOptions = {}): Promise<RunningCollector> {
  let binary = collectorBinary(options.binary);
  const ports = options.ports ?? (await freeCollectorPorts());
  const dir = mkdtempSync(join(tmpdir(), 'psim-collector-'));
  if (options.runAs) {
    // The cached binary sits under the builder's home; another user reaches a link (or copy) of it here.
    chmodSync(dir, 0o755);
    const own = join(dir, 'otelcol');
    try {
      linkSync(binary, own);
    } catch {
      copyFileSync(binary, own);
    }
    chmodSync(own, 0o755);
    binary = own;
  }
  const args = ['--config', options.base ?? PIPELINE_CONFIG];
  (options.overrides ?? []).forEach((yaml, i) => {
    const file = join(dir, `override-${i}.yaml`);
    writeFileSync(file, yaml, { mode: 0o644 });
    args.push('--config', file);
  });
  const env: NodeJS.ProcessEnv = { ...process.env, COLLECTOR_LISTEN_HOST: '127.0.0.1', ...options.env };
  for (const [name, port] of Object.entries(ports)) env[name] = String(port);
  const child = options.runAs
    ? spawnChild(
        'setpriv',
        [
          `--reuid=${options.runAs.uid}`,
          `--regid=${options.runAs.gid}`,
          '--clear-groups',
          '--',
          binary,
          ...args,
        ],
        env,
      )
    : spawnChild(binary, args, env);
  const stop = async () => {
    await child.stop();
    rmSync(dir, { recursive: true, force: true });
  };
  try {
    await waitFor(
      `"${READY_LINE}" in the collector log`,
      { timeoutMs: options.startTimeoutMs ?? 30_000, everyMs: 100 },
      () => {
        if (child.exited()) throw new Error(`collector exited before it was ready:\n${child.log()}`);
        return child.log().includes(READY_LINE);
      },
    );
  } catch (error) {
    await stop();
    throw new Error(`${(error as Error).message}\n--- collector log ---\n${child.log().slice(-4000)}`, {
      cause: error,
    });
  }
  return {
    child,
    ports,
    metricsUrl: `http://127.0.0.1:${ports.PROM_EXPORTER_PORT}/metrics`,
    otlpGrpcEndpoint: `http://127.0.0.1:${ports.OTLP_GRPC_PORT}`,
    readyAtMs: Date.now(),
    stop,
  };
}

/**
 * The simulator in-process with its API on a kernel-chosen loopback port, and the few helpers the API
 * tests share: JSON over real HTTP, bounded polling, and /proc reads of a PID.
 */
import { createApp } from '../../src/api/app.ts';
import type { Engine } from '../../src/engine/engine.ts';
import { SnapshotStore } from '../../src/sampler/snapshot.ts';
import { type RunningSimulator, seriesPerProcess } from '../../src/simulator.ts';
import { initialExportStatus } from '../../src/telemetry/telemetry.ts';
import { startTestSimulator } from '../helpers/simulator.ts';

export { isAlive, PAGE_SIZE, procStatus, rssBytes } from '../helpers/proc.ts';

/** The API app over `engine` alone, without servers or exporters, for `app.request()` tests. */
export function createTestApp(engine: Engine) {
  return createApp({
    engine,
    snapshots: new SnapshotStore(),
    ready: () => true,
    exportStatus: initialExportStatus(undefined),
    endpoints: { metrics: undefined, otlp: undefined },
    seriesPerProcess: seriesPerProcess(false),
    limits: { maxDurationMs: 60_000, bodyLimitBytes: 65_536 },
  });
}

export interface ApiSimulator {
  readonly sim: RunningSimulator;
  /** base URL of the control API, e.g. http://127.0.0.1:41234 */
  readonly url: string;
  /** log lines written so far */
  readonly lines: string[];
  stop(): Promise<void>;
}

/** Starts a simulator with no simulation, no OTLP push and a 1 s sampling interval, over `env`. */
export async function startApiSimulator(env: Record<string, string> = {}): Promise<ApiSimulator> {
  const { sim, lines } = await startTestSimulator({
    OTEL_METRICS_EXPORTER: 'none',
    AUTO_START: 'false',
    OTEL_METRIC_EXPORT_INTERVAL: '1000',
    ...env,
  });
  return { sim, url: sim.api.url, lines, stop: () => sim.stop() };
}

export interface JsonResponse<T = any> {
  status: number;
  headers: Headers;
  body: T;
}

/** One request with a JSON body (or raw text when `body` is a string) and the parsed JSON answer. */
export async function call<T = any>(
  base: string,
  method: string,
  path: string,
  body?: unknown,
  headers: Record<string, string> = {},
): Promise<JsonResponse<T>> {
  const init: RequestInit = { method, headers: { ...headers } };
  if (body !== undefined) {
    init.body = typeof body === 'string' ? body : JSON.stringify(body);
    (init.headers as Record<string, string>)['content-type'] ??= 'application/json';
  }
  const response = await fetch(base + path, init);
  const text = await response.text();
  let parsed: unknown = text;
  try {
    parsed = text ? JSON.parse(text) : undefined;
  } catch {
    // not JSON: kept as text for the assertion message
  }
  return { status: response.status, headers: response.headers, body: parsed as T };
}

/** Creates and starts a simulation of `type` (profile name or inline profile); returns its id. */
export async function runSimulation(base: string, request: Record<string, unknown>): Promise<string> {
  const created = await call(base, 'POST', '/api/v1/simulations', request);
  if (created.status !== 201) throw new Error(`create: ${created.status} ${JSON.stringify(created.body)}`);
  const started = await call(base, 'POST', `/api/v1/simulations/${created.body.id}/start?wait=true`);
  if (started.status !== 200) throw new Error(`start: ${started.status} ${JSON.stringify(started.body)}`);
  return created.body.id as string;
}

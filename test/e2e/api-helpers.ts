/**
 * The simulator in-process with its API on a kernel-chosen loopback port, and the few helpers the API
 * tests share: JSON over real HTTP, bounded polling, and /proc reads of a PID.
 */
import { readFileSync } from 'node:fs';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/log.ts';
import { type RunningSimulator, startSimulator } from '../../src/simulator.ts';

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
  const lines: string[] = [];
  const config = loadConfig({
    METRICS_HOST: '127.0.0.1',
    METRICS_PORT: '0',
    CONTROL_HOST: '127.0.0.1',
    CONTROL_PORT: '0',
    OTEL_METRICS_EXPORTER: 'none',
    AUTO_START: 'false',
    OTEL_METRIC_EXPORT_INTERVAL: '1000',
    ...env,
  });
  const sim = await startSimulator(
    config,
    createLogger('info', (line) => lines.push(line)),
  );
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

/** Polls `check` every `everyMs` until it returns a value other than undefined/false, or fails after `timeoutMs`. */
export async function waitFor<T>(
  what: string,
  check: () => T | undefined | false | Promise<T | undefined | false>,
  timeoutMs = 10_000,
  everyMs = 100,
): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await check();
    if (value !== undefined && value !== false) return value;
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, everyMs));
  }
}

/** Fields of /proc/PID/status, or undefined when the process is gone. */
export function procStatus(pid: number): Record<string, string> | undefined {
  try {
    const fields: Record<string, string> = {};
    for (const line of readFileSync(`/proc/${pid}/status`, 'utf8').split('\n')) {
      const at = line.indexOf(':');
      if (at > 0) fields[line.slice(0, at)] = line.slice(at + 1).trim();
    }
    return fields;
  } catch {
    return undefined;
  }
}

/** Alive and not a zombie. */
export function isAlive(pid: number): boolean {
  const state = procStatus(pid)?.State;
  return state !== undefined && !state.startsWith('Z');
}

const PAGE_SIZE = 4096;

/** Resident bytes from /proc/PID/statm. */
export function rssBytes(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/statm`, 'utf8').trim().split(/\s+/);
  return Number(fields[1]) * PAGE_SIZE;
}

/** utime + stime of /proc/PID/stat in clock ticks (fields after the comm's closing parenthesis). */
export function cpuTicks(pid: number): number {
  const text = readFileSync(`/proc/${pid}/stat`, 'utf8');
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

/** Percent of one core `pid` used over `ms` milliseconds, measured from /proc. */
export async function cpuPercentOver(pid: number, ms: number): Promise<number> {
  const before = cpuTicks(pid);
  const started = performance.now();
  await new Promise((resolve) => setTimeout(resolve, ms));
  const ticks = cpuTicks(pid) - before;
  // USER_HZ is 100 on Linux
  return (ticks / 100 / ((performance.now() - started) / 1000)) * 100;
}

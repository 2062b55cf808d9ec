/**
 * The chaos soak, shared by its test (a short run) and `npm run bench -- --chaos-soak` (30 minutes):
 * cycles of `node src/main.ts` on a chaos profile with random kills, spikes and leaks at high rates,
 * hammered meanwhile by API chaos (spikes, leaks and kills with overlapping deadlines, recoveries,
 * reads of the results), each cycle ended by SIGTERM. Counts what must stay zero: crashes, stuck
 * stops, 5xx answers, workers left behind.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnChild } from './children.ts';
import { isAlive, workersOf } from './proc.ts';
import { MAIN } from './sigkill-trial.ts';
import { sleep } from './wait.ts';

export interface SoakOptions {
  /** how long in all */
  durationMs: number;
  /** how long each simulator lives before its SIGTERM */
  cycleMs: number;
  /** API chaos requests per second (bounded: the loop waits for each answer) */
  requestsPerSecond: number;
  /** longest a SIGTERM may take to end the simulator */
  graceMs: number;
  log?: (line: string) => void;
}

export interface SoakResult {
  cycles: number;
  cleanExits: number;
  /** exits that were not code 0 after SIGTERM (code or signal, and the log's tail) */
  crashes: string[];
  /** SIGTERMs not answered by an exit within the grace period */
  stuck: number;
  /** ms from SIGTERM to exit, per cycle */
  exitMs: number[];
  requests: number;
  byStatus: Record<string, number>;
  /** random faults the simulators' own chaos started, and the ones the door refused */
  randomFaults: number;
  workersSeen: number;
  workersLeft: number;
}

const PROFILE = {
  name: 'chaos-soak',
  templates: [
    { name: 'gateway', count: 1, priority: 'critical', memory: 4, threads: 2, fds: 8 },
    { name: 'svc-{i}', count: 6, priority: 'high', cpu: 0.5, memory: 4, threads: 2, fds: 8 },
    { name: 'worker-{i}', count: 6, priority: 'low', memory: 4, restart: 'always', restart_delay: '200ms' },
    { name: 'job-{i}-{g}', count: 4, priority: 'low', lifetime: { min: '1s', max: '3s' } },
  ],
  // Far above the built-in chaos profile's rates: several faults a second, overlapping on few PIDs.
  chaos: {
    failures_per_minute: 120,
    spikes_per_minute: 120,
    spike_percent: 5,
    spike_duration: '1s',
    leaks_per_minute: 120,
    leak_mib_per_minute: 30,
    leak_duration: '1s',
  },
};

type Call = { method: string; path: string; body?: unknown };

/** A random API chaos request, from the pieces a hostile or careless client would send. */
function randomCall(random: () => number, faults: string[]): Call {
  const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)] as T;
  const pattern = pick(['svc-*', 'worker-?', 'job-*', '*', 'gateway', '*-*-*', 'svc-1', 'nope-*']);
  // Deadlines that coincide: equal durations land in the same control tick.
  const duration = pick(['1s', '1s', '990ms', '2s', '1500ms', '100ms']);
  switch (Math.floor(random() * 6)) {
    case 0:
      return {
        method: 'POST',
        path: '/api/v1/chaos/cpu-spike',
        body: { process_pattern: pattern, intensity: 5, duration },
      };
    case 1:
      return {
        method: 'POST',
        path: '/api/v1/chaos/memory-leak',
        body: { process_pattern: pattern, leak_rate: '1MiB/min', duration },
      };
    case 2:
      return {
        method: 'POST',
        path: '/api/v1/chaos/process-kill',
        body: { process_pattern: pattern, count: 1 },
      };
    case 3:
      return { method: 'DELETE', path: `/api/v1/chaos/${faults.length > 0 ? pick(faults) : 'unknown'}` };
    case 4:
      return { method: 'GET', path: '/api/v1/chaos' };
    default:
      return { method: 'GET', path: '/api/v1/simulations' };
  }
}

export async function runChaosSoak(options: SoakOptions): Promise<SoakResult> {
  const log = options.log ?? (() => {});
  const dir = mkdtempSync(join(tmpdir(), 'psim-soak-'));
  const profileFile = join(dir, 'chaos-soak.json');
  writeFileSync(profileFile, JSON.stringify(PROFILE));
  const result: SoakResult = {
    cycles: 0,
    cleanExits: 0,
    crashes: [],
    stuck: 0,
    exitMs: [],
    requests: 0,
    byStatus: {},
    randomFaults: 0,
    workersSeen: 0,
    workersLeft: 0,
  };
  let seed = 1;
  const random = () => {
    seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31;
    return seed / 2 ** 31;
  };
  const end = Date.now() + options.durationMs;
  try {
    while (Date.now() < end) {
      result.cycles++;
      const child = spawnChild(process.execPath, [MAIN], {
        ...process.env,
        PROFILE_FILE: profileFile,
        ENABLE_CHAOS: 'true',
        SEED: String(result.cycles),
        OTEL_METRICS_EXPORTER: 'none',
        OTEL_METRIC_EXPORT_INTERVAL: '1000',
        METRICS_HOST: '127.0.0.1',
        METRICS_PORT: '0',
        CONTROL_HOST: '127.0.0.1',
        CONTROL_PORT: '0',
      });
      const workers = new Set<number>();
      try {
        const deadline = Date.now() + 30_000;
        let api: string | undefined;
        while (!api && !child.exited() && Date.now() < deadline) {
          api = /process-simulator ready .*api=(http:\/\/[\d.:]+)/.exec(child.log())?.[1];
          if (!api) await sleep(50);
        }
        if (!api) throw new Error(`the simulator did not start:\n${child.log().slice(-2000)}`);
        const cycleEnd = Math.min(end, Date.now() + options.cycleMs);
        const faults: string[] = [];
        while (Date.now() < cycleEnd && !child.exited()) {
          for (const pid of workersOf(child.pid)) workers.add(pid);
          const call = randomCall(random, faults);
          const started = Date.now();
          const response = await fetch(`${api}${call.path}`, {
            method: call.method,
            headers: call.body ? { 'content-type': 'application/json' } : {},
            body: call.body ? JSON.stringify(call.body) : undefined,
          }).catch((error: Error) => ({ status: `error ${error.message}`, json: async () => ({}) }));
          result.requests++;
          result.byStatus[String(response.status)] = (result.byStatus[String(response.status)] ?? 0) + 1;
          if (response.status === 201) {
            const body = (await response.json()) as { id?: string; kind?: string };
            if (body.id && body.kind !== 'process-kill') faults.push(body.id);
            if (faults.length > 20) faults.shift();
          }
          await sleep(Math.max(0, 1000 / options.requestsPerSecond - (Date.now() - started)));
        }
        // What the simulator's own random chaos did meanwhile, from its ground truth.
        const list = (await (await fetch(`${api}/api/v1/simulations`)).json()) as {
          simulations: Array<{ id: string }>;
        };
        for (const { id } of list.simulations) {
          const results = (await (await fetch(`${api}/api/v1/simulations/${id}/results`)).json()) as {
            chaos: Array<{ origin: string }>;
          };
          result.randomFaults += results.chaos.filter((entry) => entry.origin === 'random').length;
        }
        for (const pid of workersOf(child.pid)) workers.add(pid);
        const termAt = Date.now();
        process.kill(child.pid, 'SIGTERM');
        const exit = new Promise<{ code: number | null; signal: NodeJS.Signals | null }>((resolve) => {
          if (child.exited()) resolve({ code: child.process.exitCode, signal: child.process.signalCode });
          else child.process.once('exit', (code, signal) => resolve({ code, signal }));
        });
        const ended = await Promise.race([exit, sleep(options.graceMs).then(() => undefined)]);
        if (!ended) {
          result.stuck++;
          log(`cycle ${result.cycles}: no exit ${options.graceMs} ms after SIGTERM`);
        } else {
          result.exitMs.push(Date.now() - termAt);
          if (ended.code === 0) result.cleanExits++;
          else
            result.crashes.push(
              `cycle ${result.cycles}: code ${ended.code} signal ${ended.signal}\n${child.log().slice(-2000)}`,
            );
        }
      } catch (error) {
        result.crashes.push(`cycle ${result.cycles}: ${(error as Error).message}`);
      } finally {
        await child.stop(2000);
        result.workersSeen += workers.size;
        result.workersLeft += [...workers].filter(isAlive).length;
      }
      log(
        `cycle ${result.cycles}: ${result.requests} requests so far, statuses ${JSON.stringify(result.byStatus)}, exits ${JSON.stringify(result.exitMs.slice(-1))} ms`,
      );
    }
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
  return result;
}

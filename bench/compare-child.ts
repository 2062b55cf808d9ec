/**
 * Runs the npm libraries an observer might use on the same processes, in a process of its own so their
 * memory and open files do not count as the engine's: systeminformation.processes() (which runs `ps`
 * and reads /proc for every process on the host) and pidusage (one /proc/PID/stat read per PID).
 * CPU includes reaped children (`ps`), from /proc/self/stat utime, stime, cutime and cstime.
 *
 * systeminformation answers from a cache for 500 ms after a call completes: a call inside that window
 * costs a few milliseconds and lists nothing new (a first run divided that by 10,000 processes and
 * reported 0.3 µs each). Every measured call therefore waits the cache out first, a call that returns
 * the cached list anyway is rejected and retried, and each list must hold every simulated PID.
 *
 * Usage: node bench/compare-child.ts PIDFILE REPEATS. Prints one JSON line:
 * {si: {cpuMs[], processes, rejected}, pidusage: {cpuMs[], processes, rejected}}.
 */
import { readFileSync } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import pidusage from 'pidusage';
import si from 'systeminformation';

const [pidFile, repeatsText] = process.argv.slice(2);
if (!pidFile || !repeatsText) throw new Error('usage: compare-child.ts PIDFILE REPEATS');
const pids = readFileSync(pidFile, 'utf8').trim().split('\n').map(Number);
const repeats = Number(repeatsText);
/** systeminformation's cache lifetime (lib/processes.js) plus a margin */
const SI_CACHE_MS = 600;
/** a call that keeps returning the cache is given up on after this many tries */
const MAX_REJECTED = 10;

/** Own CPU (µs resolution) plus reaped children's (cutime + cstime, 10 ms ticks), in ms. */
function cpuMs(): number {
  const text = readFileSync('/proc/self/stat', 'utf8');
  const fields = text
    .slice(text.lastIndexOf(')') + 2)
    .split(' ')
    .map(Number);
  const own = process.cpuUsage();
  return (own.user + own.system) / 1000 + ((fields[13] as number) + (fields[14] as number)) * 10;
}

interface Call {
  /** what the call listed, to check it is fresh and holds the simulated PIDs */
  listed: unknown;
  pids: Set<number>;
}

interface Measured {
  cpuMs: number[];
  processes: number;
  rejected: number;
}

/**
 * One warm-up call (module loading, first caches), then `repeats` measured calls, each after `pauseMs`.
 * A measured call is kept only if `fresh` says it listed anew and its list holds every simulated PID.
 */
async function measure(
  name: string,
  run: () => Promise<Call>,
  pauseMs: number,
  fresh: (call: Call, previous: Call) => boolean,
): Promise<Measured> {
  let previous = await run();
  const samples: number[] = [];
  let processes = 0;
  let rejected = 0;
  while (samples.length < repeats) {
    await sleep(pauseMs);
    const before = cpuMs();
    const call = await run();
    const used = cpuMs() - before;
    if (!fresh(call, previous)) {
      if (++rejected > MAX_REJECTED)
        throw new Error(`${name}: ${rejected} calls in a row answered from a cache`);
      previous = call;
      continue;
    }
    const missing = pids.filter((pid) => !call.pids.has(pid));
    if (missing.length > 0) {
      throw new Error(
        `${name}: ${missing.length} of ${pids.length} simulated PIDs missing, e.g. ${missing.slice(0, 5)}`,
      );
    }
    samples.push(used);
    processes = call.pids.size;
    previous = call;
  }
  return { cpuMs: samples, processes, rejected };
}

const siResult = await measure(
  'systeminformation.processes()',
  async () => {
    const { list } = await si.processes();
    return { listed: list, pids: new Set(list.map((p) => p.pid)) };
  },
  SI_CACHE_MS,
  // a cache hit hands back the list of the last real call, the same array
  (call, previous) => call.listed !== previous.listed,
);
const pidusageResult = await measure(
  'pidusage',
  async () => {
    const stats = await pidusage(pids);
    return { listed: stats, pids: new Set(Object.keys(stats).map(Number)) };
  },
  0,
  () => true,
);
pidusage.clear();
process.stdout.write(`${JSON.stringify({ si: siResult, pidusage: pidusageResult })}\n`);

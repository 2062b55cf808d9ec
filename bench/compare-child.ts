/**
 * Runs the npm libraries an observer might use on the same processes, in a process of its own so their
 * memory and open files do not count as the engine's: systeminformation.processes() (which runs `ps`
 * and reads /proc for every process on the host) and pidusage (one /proc/PID/stat read per PID).
 * CPU includes reaped children (`ps`), from /proc/self/stat utime, stime, cutime and cstime.
 *
 * Usage: node bench/compare-child.ts PIDFILE REPEATS. Prints one JSON line:
 * {si: {cpuMs[], processes}, pidusage: {cpuMs[], processes}}.
 */
import { readFileSync } from 'node:fs';
import pidusage from 'pidusage';
import si from 'systeminformation';

const [pidFile, repeatsText] = process.argv.slice(2);
if (!pidFile || !repeatsText) throw new Error('usage: compare-child.ts PIDFILE REPEATS');
const pids = readFileSync(pidFile, 'utf8').trim().split('\n').map(Number);
const repeats = Number(repeatsText);

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

async function measure(run: () => Promise<number>): Promise<{ cpuMs: number[]; processes: number }> {
  let processes = await run(); // warm-up: first calls load modules and fill caches
  const samples: number[] = [];
  for (let i = 0; i < repeats; i++) {
    const before = cpuMs();
    processes = await run();
    samples.push(cpuMs() - before);
    // systeminformation answers from a cache for 500 ms after a call
    await new Promise((resolve) => setTimeout(resolve, 600));
  }
  return { cpuMs: samples, processes };
}

const siResult = await measure(async () => (await si.processes()).list.length);
const pidusageResult = await measure(async () => Object.keys(await pidusage(pids)).length);
pidusage.clear();
process.stdout.write(`${JSON.stringify({ si: siResult, pidusage: pidusageResult })}\n`);

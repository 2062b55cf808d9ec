/**
 * `npm run bench -- --churn 100/s --for 30m`: processes that live ~10 s each and are replaced at once,
 * so that R start and R exit every second, sampled and exported every 10 s as in production. Every
 * interval it records the engine's RSS and heap, the zombies among its children, and scrapes /metrics
 * to check that no PID that exited more than one interval ago still has series.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { childrenOf, launcherCpuSeconds, workersOf } from './lib/proc.ts';
import { table } from './lib/results.ts';
import { scrape } from './lib/scrape.ts';
import { type ProfileInput, startBenchSimulator } from './lib/simulator.ts';
import { startOtlpSink } from './lib/sink.ts';
import { fmt, MiB, median, sleep } from './lib/stats.ts';

const INTERVAL_MS = 10_000;
/** mean lifetime of a churned process; count = rate x lifetime */
const LIFETIME_S = 10;
const OTLP_LIMIT = 4 * MiB;

export interface ChurnOptions {
  perSecond: number;
  durationMs: number;
  log: (line: string) => void;
}

interface Tick {
  atS: number;
  live: number;
  rssMiB: number;
  heapMiB: number;
  /** V8's reserved heap and the memory outside it (Buffers, protobuf bytes): where RSS goes when heapUsed is flat */
  heapTotalMiB: number;
  externalMiB: number;
  /** the engine's CPU over the last interval, percent of one core */
  cpuPercent: number;
  zombies: number;
  staleSeries: number;
  started: number;
  exited: number;
}

export interface ChurnResult {
  perSecond: number;
  durationS: number;
  warmupS: number;
  processes: number;
  startsPerSecond: number;
  exitsPerSecond: number;
  rssBaselineMiB: number;
  rssMinMiB: number;
  rssMaxMiB: number;
  rssLastMiB: number;
  heapBaselineMiB: number;
  heapLastMiB: number;
  cpuMedianPercent: number;
  maxZombies: number;
  staleSeries: number;
  scrapes: number;
  otlpRequests: number;
  otlpMaxRequestBytes: number;
  otlpOverLimit: number;
  exportsFailed: number;
  rampWarning: string | undefined;
  leftBehind: number;
  ticks: Tick[];
  /** the engine's CPU per interval with the same processes at rest (no lifetimes), % of one core */
  restCpuPercents: number[];
  restCpuMedianPercent: number;
}

const total = (counts: Record<string, number>) => Object.values(counts).reduce((a, b) => a + b, 0);

/** intervals of the at-rest engine left out, then measured */
const REST_WARMUP_INTERVALS = 2;
const REST_INTERVALS = 6;

/** The engine's CPU (and its launcher's) since the last call, percent of one core. */
function cpuMeter(): () => number {
  let cpuBefore = process.cpuUsage();
  let launcherBefore = launcherCpuSeconds(process.pid);
  let since = performance.now();
  return () => {
    const cpu = process.cpuUsage(cpuBefore);
    const launcherNow = launcherCpuSeconds(process.pid);
    const percent =
      (((cpu.user + cpu.system) / 1000 + (launcherNow - launcherBefore) * 1000) /
        (performance.now() - since)) *
      100;
    launcherBefore = launcherNow;
    cpuBefore = process.cpuUsage();
    since = performance.now();
    return percent;
  };
}

/**
 * The series of PIDs that exited more than one interval before this scrape; every check reads the
 * whole page, at rest as under churn, so that both CPU figures carry the same scrape work.
 */
async function scrapeAndCheck(
  url: string,
  bodyFile: string,
  isStale: (pid: number, scrapeStart: number) => boolean,
): Promise<number> {
  const scrapeStart = Date.now();
  await scrape(url, bodyFile);
  const body = readFileSync(bodyFile, 'utf8');
  const pids = new Set<number>();
  for (const match of body.matchAll(/process_pid="(\d+)"/g)) pids.add(Number(match[1]));
  let stale = 0;
  for (const pid of pids) if (isStale(pid, scrapeStart)) stale++;
  return stale;
}

/** A simulator in this process running `profile`, written to `name`.json in `dir`, sampled every interval. */
function startProfile(dir: string, name: string, profile: ProfileInput, otlpEndpoint: string) {
  const profileFile = join(dir, `${name}.json`);
  writeFileSync(profileFile, JSON.stringify(profile));
  return startBenchSimulator({ profileFile, otlpEndpoint, intervalMs: INTERVAL_MS });
}

/**
 * The same number of processes, alive for good (no lifetime, so no starts or exits), sampled, exported
 * and scraped as under churn: the engine's CPU at rest that the churn figure is compared with.
 */
async function restCpuPercent(
  dir: string,
  processes: number,
  otlpEndpoint: string,
  log: (line: string) => void,
): Promise<number[]> {
  const bodyFile = join(dir, 'rest-metrics.txt');
  const { simulator, create } = await startProfile(
    dir,
    'rest',
    {
      name: 'bench-rest',
      description: `${processes} processes at rest`,
      templates: [{ name: 'ch-{i}', count: processes, priority: 'low' }],
    },
    otlpEndpoint,
  );
  try {
    await simulator.engine.startSimulation(create().id);
    const cpu = cpuMeter();
    const percents: number[] = [];
    for (let i = 0; i < REST_WARMUP_INTERVALS + REST_INTERVALS; i++) {
      await sleep(INTERVAL_MS);
      await scrapeAndCheck(simulator.telemetry.prometheusUrl as string, bodyFile, () => false);
      const percent = cpu();
      if (i >= REST_WARMUP_INTERVALS) percents.push(percent);
      log(`  at rest: live=${simulator.engine.liveCount} cpu=${percent.toFixed(1)}%`);
    }
    return percents;
  } finally {
    await simulator.stop();
  }
}

export async function runChurn(options: ChurnOptions): Promise<ChurnResult> {
  const { perSecond, durationMs, log } = options;
  // A lifetime ends at the first control tick (1 s) after its deadline: half a second late on average.
  const processes = Math.round(perSecond * (LIFETIME_S + 0.5));
  const dir = mkdtempSync(join(tmpdir(), 'psim-bench-churn-'));
  const bodyFile = join(dir, 'metrics.txt');
  const sink = await startOtlpSink();
  const { simulator, create } = await startProfile(
    dir,
    'churn',
    {
      name: 'bench-churn',
      description: `${perSecond} starts and exits per second`,
      templates: [
        // {g} makes every generation a new name, as short-lived jobs have
        {
          name: 'ch-{i}-{g}',
          count: processes,
          priority: 'low',
          lifetime: { min: `${LIFETIME_S * 0.8}s`, max: `${LIFETIME_S * 1.2}s` },
          restart: 'always',
          restart_delay: '0s',
        },
      ],
    },
    sink.endpoint,
  );
  const { engine, telemetry } = simulator;
  const exitedAt = new Map<number, number>();
  engine.events.subscribe((event) => {
    if (event.type === 'ProcessExited') exitedAt.set(event.pid, Date.now());
  });
  const requestSizes: number[] = [];
  const ticks: Tick[] = [];
  let staleSeries = 0;
  let scrapes = 0;
  try {
    const simulation = create();
    const started = performance.now();
    await engine.startSimulation(simulation.id);
    log(`  ${engine.liveCount} running after ${((performance.now() - started) / 1000).toFixed(1)} s`);
    const warmupMs = Math.min(120_000, durationMs / 4);
    let atWarmup: { started: number; exited: number; atMs: number } | undefined;
    // The launcher starts, signals and reaps the processes: its CPU is the engine's too.
    const cpu = cpuMeter();
    while (performance.now() - started < durationMs) {
      await sleep(INTERVAL_MS);
      const scrapeStart = Date.now();
      const stale = await scrapeAndCheck(telemetry.prometheusUrl as string, bodyFile, (pid, at) => {
        const exit = exitedAt.get(pid);
        return !engine.owns(pid) && exit !== undefined && exit < at - INTERVAL_MS;
      });
      scrapes++;
      staleSeries += stale;
      // Forget exits older than any check can need (PIDs are recycled every few minutes at this rate).
      for (const [pid, at] of exitedAt) if (at < scrapeStart - 6 * INTERVAL_MS) exitedAt.delete(pid);
      requestSizes.push(...sink.take());
      const memory = process.memoryUsage();
      const cpuPercent = cpu();
      const tick: Tick = {
        atS: (performance.now() - started) / 1000,
        live: engine.liveCount,
        rssMiB: memory.rss / MiB,
        heapMiB: memory.heapUsed / MiB,
        heapTotalMiB: memory.heapTotal / MiB,
        externalMiB: memory.external / MiB,
        cpuPercent,
        zombies: workersOf(process.pid).filter((child) => child.state === 'Z').length,
        staleSeries: stale,
        started: total(simulation.starts),
        exited: Object.values(simulation.exits).reduce((sum, counts) => sum + total(counts), 0),
      };
      ticks.push(tick);
      if (!atWarmup && tick.atS * 1000 >= warmupMs)
        atWarmup = { started: tick.started, exited: tick.exited, atMs: performance.now() };
      log(
        `  t=${tick.atS.toFixed(0)}s live=${tick.live} rss=${tick.rssMiB.toFixed(0)}MiB heap=${tick.heapMiB.toFixed(0)}/${tick.heapTotalMiB.toFixed(0)}MiB external=${tick.externalMiB.toFixed(0)}MiB cpu=${tick.cpuPercent.toFixed(0)}% zombies=${tick.zombies} stale=${stale} starts=${tick.started} exits=${tick.exited}`,
      );
    }
    const last = ticks.at(-1) as Tick;
    const after = ticks.filter((tick) => tick.atS * 1000 >= warmupMs);
    const baseline = after[0] ?? last;
    const seconds = atWarmup ? (performance.now() - atWarmup.atMs) / 1000 : Number.NaN;
    const result: ChurnResult = {
      perSecond,
      durationS: durationMs / 1000,
      warmupS: warmupMs / 1000,
      processes,
      startsPerSecond: atWarmup ? (last.started - atWarmup.started) / seconds : Number.NaN,
      exitsPerSecond: atWarmup ? (last.exited - atWarmup.exited) / seconds : Number.NaN,
      rssBaselineMiB: baseline.rssMiB,
      rssMinMiB: Math.min(...after.map((tick) => tick.rssMiB)),
      rssMaxMiB: Math.max(...after.map((tick) => tick.rssMiB)),
      rssLastMiB: last.rssMiB,
      heapBaselineMiB: baseline.heapMiB,
      heapLastMiB: last.heapMiB,
      cpuMedianPercent: median(after.map((tick) => tick.cpuPercent)),
      maxZombies: Math.max(...ticks.map((tick) => tick.zombies)),
      staleSeries,
      scrapes,
      otlpRequests: requestSizes.length,
      otlpMaxRequestBytes: Math.max(0, ...requestSizes),
      otlpOverLimit: requestSizes.filter((bytes) => bytes > OTLP_LIMIT).length,
      exportsFailed: telemetry.exportStatus.failed,
      rampWarning: simulation.rampWarning,
      leftBehind: 0,
      ticks,
      restCpuPercents: [],
      restCpuMedianPercent: Number.NaN,
    };
    await simulator.stop();
    result.leftBehind = childrenOf(process.pid).filter((child) => child.pid !== sink.pid).length;
    log(`  the same ${processes} processes at rest, ${REST_WARMUP_INTERVALS} + ${REST_INTERVALS} intervals`);
    result.restCpuPercents = await restCpuPercent(dir, processes, sink.endpoint, log);
    result.restCpuMedianPercent = median(result.restCpuPercents);
    return result;
  } finally {
    await simulator.stop();
    await sink.close();
    rmSync(dir, { recursive: true, force: true });
  }
}

export function churnReport(r: ChurnResult): string {
  const within = (value: number) => `${fmt(((value - r.rssBaselineMiB) / r.rssBaselineMiB) * 100, 1)} %`;
  const rows: string[][] = [
    ['simulated processes (each lives 8-12 s, replaced at once)', fmt(r.processes, 0)],
    ['process starts per second after warm-up', fmt(r.startsPerSecond, 1)],
    ['process exits per second after warm-up', fmt(r.exitsPerSecond, 1)],
    ['warm-up (s)', fmt(r.warmupS, 0)],
    ['engine RSS after warm-up (MiB)', fmt(r.rssBaselineMiB, 0)],
    [
      'engine RSS min / max after warm-up (MiB)',
      `${fmt(r.rssMinMiB, 0)} / ${fmt(r.rssMaxMiB, 0)} (${within(r.rssMinMiB)} / +${within(r.rssMaxMiB)})`,
    ],
    ['engine RSS at the end (MiB)', `${fmt(r.rssLastMiB, 0)} (${within(r.rssLastMiB)})`],
    [
      'engine heap after warm-up / at the end (MiB)',
      `${fmt(r.heapBaselineMiB, 0)} / ${fmt(r.heapLastMiB, 0)}`,
    ],
    [
      'engine CPU after warm-up, median of the intervals (% of one core, with its scrape checks)',
      fmt(r.cpuMedianPercent, 1),
    ],
    [
      `the same processes at rest (no starts or exits), median of ${REST_INTERVALS} intervals after ${REST_WARMUP_INTERVALS} (% of one core)`,
      fmt(r.restCpuMedianPercent, 1),
    ],
    ['**churn CPU / CPU at rest**', `**${fmt(r.cpuMedianPercent / r.restCpuMedianPercent, 1)}x**`],
    ['/metrics scrapes checked (one per 10 s interval)', fmt(r.scrapes, 0)],
    ['series of PIDs dead for more than one interval', fmt(r.staleSeries, 0)],
    ['most zombie children seen at a check', fmt(r.maxZombies, 0)],
    ['OTLP requests / largest (MiB)', `${fmt(r.otlpRequests, 0)} / ${fmt(r.otlpMaxRequestBytes / MiB, 2)}`],
    ["OTLP requests over the collector's 4 MiB limit", fmt(r.otlpOverLimit, 0)],
    ['failed OTLP exports', fmt(r.exportsFailed, 0)],
    ['spawn failures', r.rampWarning ?? 'none'],
    ['children left after stop', fmt(r.leftBehind, 0)],
  ];
  return `${table(['churn', 'value'], rows)}\n\nEngine RSS every interval (MiB): ${r.ticks.map((tick) => fmt(tick.rssMiB, 0)).join(', ')}\n`;
}

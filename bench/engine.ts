/**
 * `npm run bench -- --engine N [--for DURATION]`: all of the engine's CPU as users run it, broken down
 * by part from a CPU profile. The simulator runs as a child process with `npm start`'s Node flags, the
 * high-cardinality profile scaled to N, a 10 s interval, OTLP to the loopback sink and /metrics on a
 * free loopback port scraped once per interval. First a window under a CPU profile
 * (bench/lib/profile-on-signal.ts), whose samples are attributed to the engine's parts
 * (bench/lib/cpu-profile.ts); then the measured window of as many intervals, with no profiler: the
 * child's CPU from /proc (utime + stime, every thread) and its RSS. Then the C reference reader over the
 * same processes, and the RSS of a second, small engine as the baseline of the per-process overhead.
 */
import { once } from 'node:events';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { spawnChild, type TestChild } from '../test/helpers/children.ts';
import { freePorts } from '../test/helpers/ports.ts';
import { runCReader } from './lib/c-reader.ts';
import { measureCollector } from './lib/collector.ts';
import { attributeProfile, type CpuProfile, PARTS, type Part } from './lib/cpu-profile.ts';
import {
  childPids,
  cpuSeconds,
  isDead,
  launcherCpuSeconds,
  launcherOf,
  MAIN_THREAD,
  rssBytes,
  smapsRollup,
  threadCpuSeconds,
  workersOf,
} from './lib/proc.ts';
import { table } from './lib/results.ts';
import { scrape } from './lib/scrape.ts';
import { type OtlpSink, startOtlpSink } from './lib/sink.ts';
import { fmt, MiB, median, sleep } from './lib/stats.ts';
import { HIGH_CARDINALITY_NAMES } from './scale.ts';

const ROOT = join(import.meta.dirname, '..');
const MAIN = join(ROOT, 'src', 'main.ts');
const PROFILE_ON_SIGNAL = join(import.meta.dirname, 'lib', 'profile-on-signal.ts');
const INTERVAL_MS = 10_000;
/** processes of the small engine whose RSS is the baseline of the per-process overhead */
export const BASELINE_COUNT = 100;
const C_READER_PASSES = 5;
/** scrapes of the collector's hostmetrics scraper over the same processes, one per interval */
const COLLECTOR_SCRAPES = 3;

/**
 * How `npm start` (package.json) launches the engine: the environment it sets before `node`
 * (`NAME=value` words) and the Node flags between `node` and the script.
 */
export function startCommand(): { env: Record<string, string>; flags: string[] } {
  const pkg = JSON.parse(readFileSync(join(ROOT, 'package.json'), 'utf8')) as { scripts: { start: string } };
  const words = pkg.scripts.start.trim().split(/\s+/);
  const env: Record<string, string> = {};
  while (/^[A-Z_][A-Z0-9_]*=/.test(words[0] ?? '')) {
    const [name, ...value] = (words.shift() as string).split('=');
    env[name as string] = value.join('=');
  }
  if (words[0] !== 'node' || words[words.length - 1] !== 'src/main.ts')
    throw new Error(`unexpected start script ${JSON.stringify(pkg.scripts.start)}`);
  return { env, flags: words.slice(1, -1) };
}

const load = () =>
  loadavg()
    .map((value) => value.toFixed(2))
    .join(' ');

const nowUs = () => Number(process.hrtime.bigint() / 1000n);
const running = (pid: number) => workersOf(pid).filter((child) => child.state !== 'Z' && child.state !== 'X');

interface Engine {
  child: TestChild;
  profileDir: string;
  metricsUrl: string;
  spawnedUs: number;
}

async function startEngine(count: number, otlpEndpoint: string): Promise<Engine> {
  const [metricsPort, controlPort] = await freePorts(2);
  const profileDir = mkdtempSync(join(tmpdir(), 'psim-bench-engine-'));
  const start = startCommand();
  const spawnedUs = nowUs();
  const child = spawnChild(process.execPath, [...start.flags, '--import', PROFILE_ON_SIGNAL, MAIN], {
    ...process.env,
    ...start.env,
    BENCH_PROFILE_DIR: profileDir,
    PROFILE: 'high-cardinality',
    PROCESS_COUNT: String(count),
    SEED: '7',
    MAX_PROCESSES: String(Math.max(12_000, count)),
    METRICS_HOST: '127.0.0.1',
    METRICS_PORT: String(metricsPort),
    CONTROL_HOST: '127.0.0.1',
    CONTROL_PORT: String(controlPort),
    OTEL_EXPORTER_OTLP_ENDPOINT: otlpEndpoint,
    OTEL_METRIC_EXPORT_INTERVAL: String(INTERVAL_MS),
    LOG_LEVEL: 'warn',
  });
  return { child, profileDir, metricsUrl: `http://127.0.0.1:${metricsPort}/metrics`, spawnedUs };
}

/** Starts the engine's profile (bench/lib/profile-on-signal.ts) and waits until it runs. */
async function startProfile(engine: Engine): Promise<void> {
  process.kill(engine.child.pid, 'SIGUSR2');
  await fileAppears(join(engine.profileDir, 'started'), engine);
}

/** Stops the engine's profile and reads it. */
async function takeProfile(engine: Engine): Promise<CpuProfile> {
  process.kill(engine.child.pid, 'SIGUSR2');
  const file = join(engine.profileDir, 'engine.cpuprofile');
  await fileAppears(file, engine);
  return JSON.parse(readFileSync(file, 'utf8')) as CpuProfile;
}

async function fileAppears(file: string, engine: Engine): Promise<void> {
  const deadline = Date.now() + 60_000;
  while (!existsSync(file)) {
    if (engine.child.exited()) throw new Error(`the engine exited:\n${engine.child.log()}`);
    if (Date.now() > deadline) throw new Error(`${file} did not appear within a minute`);
    await sleep(100);
  }
}

/** What one window measured: /proc CPU over it, its scrapes and OTLP requests, RSS once a second. */
interface Window {
  fromUs: number;
  toUs: number;
  /** utime + stime of the engine process, of its launcher, and per thread name (ms) */
  cpuMs: number;
  launcherCpuMs: number;
  threadCpuMs: Record<string, number>;
  scrapes: Array<{ ms: number; bytes: number }>;
  requests: number[];
  rssSamples: number[];
  loadAtStart: string;
  loadAtEnd: string;
}

/**
 * One window: from the end of one export to the end of the export `intervals` later, so that it holds
 * exactly that many samples and exports whatever the timers' phase (a fixed 60 s window held 6 or 7 of
 * them, a 17 % swing of the per-interval figure). /metrics is scraped once per interval, half-way
 * between two exports.
 */
async function measureWindow(engine: Engine, sink: OtlpSink, intervals: number): Promise<Window> {
  const pid = engine.child.pid;
  const metricsFile = join(engine.profileDir, 'metrics.txt');
  await exportEnded(sink);
  const loadAtStart = load();
  const fromUs = nowUs();
  const cpuFrom = cpuSeconds(pid);
  const launcherFrom = launcherCpuSeconds(pid);
  const threadsFrom = threadCpuSeconds(pid);
  const scrapes: Array<{ ms: number; bytes: number }> = [];
  const requests: number[] = [];
  // RSS once a second: one reading at the window's end fell after an export or a scrape by chance, and
  // moved by 50 MiB between runs of the same code.
  const rssSamples: number[] = [];
  const rssTimer = setInterval(() => {
    const bytes = rssBytes(pid);
    if (bytes > 0) rssSamples.push(bytes);
  }, 1000);
  try {
    for (let slot = 0; slot < intervals; slot++) {
      const wait = fromUs / 1000 + slot * INTERVAL_MS + INTERVAL_MS / 2 - nowUs() / 1000;
      if (wait > 0) await sleep(wait);
      scrapes.push(await scrape(engine.metricsUrl, metricsFile));
      requests.push(...(await exportEnded(sink)));
    }
  } finally {
    clearInterval(rssTimer);
  }
  const cpuTo = cpuSeconds(pid);
  const launcherTo = launcherCpuSeconds(pid);
  const threadsTo = threadCpuSeconds(pid);
  const toUs = nowUs();
  if (engine.child.exited()) throw new Error(`the engine exited during the window:\n${engine.child.log()}`);
  return {
    fromUs,
    toUs,
    cpuMs: (cpuTo - cpuFrom) * 1000,
    launcherCpuMs: (launcherTo - launcherFrom) * 1000,
    threadCpuMs: Object.fromEntries(
      [...threadsTo].map(([name, seconds]) => [name, (seconds - (threadsFrom.get(name) ?? 0)) * 1000]),
    ),
    scrapes,
    requests,
    rssSamples,
    loadAtStart,
    loadAtEnd: load(),
  };
}

/**
 * Waits for the engine's next export and its end: requests arrive, then none for a second (an export
 * of 10,000 processes sends its ~7 requests within ~0.5 s). Returns the sizes of its requests.
 */
async function exportEnded(sink: OtlpSink): Promise<number[]> {
  await sink.sync();
  sink.take();
  const deadline = Date.now() + 3 * INTERVAL_MS;
  const sizes: number[] = [];
  let quietSince = Date.now();
  while (Date.now() < deadline) {
    await sleep(100);
    await sink.sync();
    const taken = sink.take();
    if (taken.length > 0) {
      sizes.push(...taken);
      quietSince = Date.now();
    } else if (sizes.length > 0 && Date.now() - quietSince >= 1000) {
      return sizes;
    }
  }
  throw new Error(`no complete export within ${(3 * INTERVAL_MS) / 1000} s`);
}

/**
 * Waits until `count` workers run; the seconds it took from the spawn. Every 100 ms it counts the
 * launcher's children from the kernel's list (one file), and once that reaches `count`, confirms that
 * many are running, not zombies, from their stat; the time is the count's. Before, every poll walked all
 * of /proc twice, ~3 s apart: the figure moved in steps of that size (8.7 or 11.0 s for one code).
 */
async function waitForCount(engine: Engine, count: number, log: (line: string) => void): Promise<number> {
  const deadline = Date.now() + 15 * 60_000;
  let seen = 0;
  let loggedAt = 0;
  while (Date.now() < deadline) {
    if (engine.child.exited())
      throw new Error(`the engine exited before ${count} processes ran:\n${engine.child.log()}`);
    // Looked up at each poll (cheap: the engine's own child lists), in case a launcher was started anew.
    const launcher = launcherOf(engine.child.pid);
    const listed = launcher === undefined ? undefined : childPids(launcher);
    const atUs = nowUs();
    // Without the kernel's lists (or a launcher), the exact count is the only one.
    if (listed === undefined || listed.length >= count) {
      seen = running(engine.child.pid).length;
      if (seen >= count) return (atUs - engine.spawnedUs) / 1e6;
    } else {
      seen = listed.length;
    }
    if (Date.now() - loggedAt >= 5000) {
      log(`engine: ${seen} of ${count} processes running`);
      loggedAt = Date.now();
    }
    await sleep(listed === undefined ? 2000 : 100);
  }
  throw new Error(`the engine ran ${seen} of ${count} processes after 15 minutes`);
}

/**
 * SIGTERM to the engine alone (its shutdown stops its processes), then its process group and any
 * process of `pids` still alive are SIGKILLed. Resolves with the processes that had to be killed.
 */
async function stopEngine(engine: Engine, pids: readonly number[]): Promise<{ killed: number }> {
  const { child } = engine;
  if (!child.exited()) {
    const exited = once(child.process, 'exit');
    process.kill(child.pid, 'SIGTERM');
    let timer: NodeJS.Timeout | undefined;
    const timeout = new Promise<'timeout'>((resolve) => {
      timer = setTimeout(() => resolve('timeout'), 120_000);
    });
    const outcome = await Promise.race([exited, timeout]);
    clearTimeout(timer);
    if (outcome === 'timeout') await child.stop(0);
  }
  await child.stop(1000);
  let killed = 0;
  for (const pid of pids) {
    if (isDead(pid)) continue;
    try {
      process.kill(pid, 'SIGKILL');
      killed++;
    } catch {
      // gone meanwhile
    }
  }
  return { killed };
}

/** /proc CPU over a window (ms): the engine process, its launcher, and per thread name. */
export interface WindowCpu {
  windowMs: number;
  procCpuMs: number;
  launcherCpuMs: number;
  threadCpuMs: Record<string, number>;
}

export interface EngineResult {
  count: number;
  /**
   * sample and export intervals in each window: a window runs from the end of one export to the end of
   * another. The measured window (the fields below) runs without a profiler; `profiled` is the window
   * of as many intervals before it, profiled for the breakdown per part.
   */
  intervals: number;
  windowMs: number;
  rampSeconds: number;
  /** utime + stime of the engine over the window, from /proc (ms) */
  procCpuMs: number;
  /** utime + stime of the engine's launcher (ps-launcher, a process of its own) over the window (ms) */
  launcherCpuMs: number;
  /** RSS of the launcher at the end of the window (bytes) */
  launcherRssBytes: number;
  /** utime + stime over the window per thread name, from /proc/PID/task (ms) */
  threadCpuMs: Record<string, number>;
  /** the profiled window's /proc CPU: what the profile costs shows beside the measured window's */
  profiled: WindowCpu;
  /** per part, ms of the profile's samples in the profiled window */
  partsMs: Record<Part, number>;
  profileTotalMs: number;
  profileIdleMs: number;
  profileSamples: number;
  /** the leaf frames of the "other" samples that took the most time, with ms */
  otherTop: Array<[string, number]>;
  /** µs from the spawn to the profile's start (a check that both clocks agree) */
  profileStartAfterSpawnMs: number;
  scrapes: number;
  scrapeMs: number;
  scrapeBytes: number;
  otlpRequests: number;
  otlpBytes: number;
  cReaderPassCpuMs: number;
  cReaderProcesses: number;
  /** CPU of one scrape of the collector's hostmetrics process scraper over the same processes (median) */
  collectorScrapeCpuMs: number;
  rssBytes: number;
  /** RSS read once a second over the window: median, min and max, and how many readings */
  rssMedianBytes: number;
  rssMinBytes: number;
  rssMaxBytes: number;
  rssSamples: number;
  smapsRss: number;
  smapsPss: number;
  baselineRssBytes: number;
  killedAfterStop: number;
  loadAtStart: string;
  loadAtEnd: string;
}

/** RSS of an engine with BASELINE_COUNT processes after two intervals and two scrapes, same flags. */
async function baselineRss(otlpEndpoint: string, log: (line: string) => void): Promise<number> {
  const engine = await startEngine(BASELINE_COUNT, otlpEndpoint);
  let pids: number[] = [];
  try {
    await waitForCount(engine, BASELINE_COUNT, log);
    pids = running(engine.child.pid).map((child) => child.pid);
    await sleep(INTERVAL_MS);
    await scrape(engine.metricsUrl, join(engine.profileDir, 'metrics.txt'));
    await sleep(INTERVAL_MS);
    await scrape(engine.metricsUrl, join(engine.profileDir, 'metrics.txt'));
    return rssBytes(engine.child.pid);
  } finally {
    await stopEngine(engine, pids);
    rmSync(engine.profileDir, { recursive: true, force: true });
  }
}

export async function runEngineBench(options: {
  count: number;
  forMs: number;
  log: (line: string) => void;
}): Promise<EngineResult> {
  const { count, forMs, log } = options;
  const sink = await startOtlpSink();
  let engine: Engine | undefined;
  let pids: number[] = [];
  try {
    log(`engine: baseline of ${BASELINE_COUNT} processes`);
    const baselineRssBytes = await baselineRss(sink.endpoint, log);
    log(`engine: baseline RSS ${fmt(baselineRssBytes / MiB, 1)} MiB`);

    engine = await startEngine(count, sink.endpoint);
    const rampSeconds = await waitForCount(engine, count, log);
    pids = running(engine.child.pid).map((child) => child.pid);
    log(`engine: ${count} processes after ${fmt(rampSeconds, 1)} s; settling one interval`);
    await sleep(INTERVAL_MS);

    const intervals = Math.max(1, Math.round(forMs / INTERVAL_MS));
    // The profiled window first: the measured one then starts past the run's one-time costs (V8
    // compiling the hot code, collecting the ramp's garbage), as a simulator that runs for hours spends.
    log(`engine: profiling ${intervals} intervals`);
    await startProfile(engine);
    const profiledWindow = await measureWindow(engine, sink, intervals);
    const profile = await takeProfile(engine);
    const startAfterSpawnMs = (profile.startTime - engine.spawnedUs) / 1000;
    if (profile.startTime > profiledWindow.fromUs || profile.endTime < profiledWindow.toUs)
      throw new Error(
        `the profile (${profile.startTime}-${profile.endTime} µs) does not cover the window (${profiledWindow.fromUs}-${profiledWindow.toUs} µs): its clock is not this process's monotonic clock`,
      );
    log(`engine: measuring ${intervals} intervals, no profiler`);
    const measured = await measureWindow(engine, sink, intervals);
    const rss = rssBytes(engine.child.pid);
    const launcher = launcherOf(engine.child.pid);
    const launcherRss = launcher === undefined ? 0 : rssBytes(launcher);
    const smaps = smapsRollup(engine.child.pid);
    log(`engine: window done, ${measured.scrapes.length} scrapes, ${measured.requests.length} OTLP requests`);

    const alive = running(engine.child.pid).map((child) => child.pid);
    log(`engine: C reader, ${C_READER_PASSES} passes over ${alive.length} processes`);
    const passes = runCReader(alive, C_READER_PASSES);
    // The observer the simulator stands in front of, over the same processes and at the same interval.
    log(`engine: the collector's hostmetrics scraper, ${COLLECTOR_SCRAPES} scrapes of the same processes`);
    const collector = await measureCollector(
      HIGH_CARDINALITY_NAMES,
      INTERVAL_MS / 1000,
      COLLECTOR_SCRAPES,
      alive.length,
    );
    if (!collector) log('engine: collector not built (npm run collector:build): no collector figure');

    log('engine: SIGTERM');
    const stopped = await stopEngine(engine, pids);
    const attribution = attributeProfile(profile, profiledWindow.fromUs, profiledWindow.toUs);
    const partsMs = Object.fromEntries(PARTS.map((part) => [part, attribution.us[part] / 1000])) as Record<
      Part,
      number
    >;
    const { scrapes, requests, rssSamples } = measured;
    return {
      count,
      intervals,
      windowMs: (measured.toUs - measured.fromUs) / 1000,
      rampSeconds,
      procCpuMs: measured.cpuMs,
      launcherCpuMs: measured.launcherCpuMs,
      launcherRssBytes: launcherRss,
      threadCpuMs: measured.threadCpuMs,
      profiled: {
        windowMs: (profiledWindow.toUs - profiledWindow.fromUs) / 1000,
        procCpuMs: profiledWindow.cpuMs,
        launcherCpuMs: profiledWindow.launcherCpuMs,
        threadCpuMs: profiledWindow.threadCpuMs,
      },
      partsMs,
      profileTotalMs: Object.values(partsMs).reduce((sum, ms) => sum + ms, 0),
      profileIdleMs: attribution.idleUs / 1000,
      profileSamples: attribution.samples,
      otherTop: [...attribution.otherByLeaf]
        .sort(([, a], [, b]) => b - a)
        .slice(0, 5)
        .map(([where, us]): [string, number] => [where.replace(`file://${ROOT}/`, ''), us / 1000]),
      profileStartAfterSpawnMs: startAfterSpawnMs,
      scrapes: scrapes.length,
      scrapeMs: median(scrapes.map((s) => s.ms)),
      scrapeBytes: median(scrapes.map((s) => s.bytes)),
      otlpRequests: requests.length,
      otlpBytes: requests.reduce((sum, bytes) => sum + bytes, 0),
      cReaderPassCpuMs: median(passes.map((pass) => pass.cpuUs)) / 1000,
      cReaderProcesses: alive.length,
      collectorScrapeCpuMs: collector ? median(collector.cpuPerScrape) * 1000 : Number.NaN,
      rssBytes: rss,
      rssMedianBytes: median(rssSamples),
      rssMinBytes: Math.min(...rssSamples),
      rssMaxBytes: Math.max(...rssSamples),
      rssSamples: rssSamples.length,
      smapsRss: smaps?.rss ?? Number.NaN,
      smapsPss: smaps?.pss ?? Number.NaN,
      baselineRssBytes,
      killedAfterStop: stopped.killed,
      loadAtStart: measured.loadAtStart,
      loadAtEnd: measured.loadAtEnd,
    };
  } finally {
    if (engine) {
      await stopEngine(engine, pids);
      rmSync(engine.profileDir, { recursive: true, force: true });
    }
    await sink.close();
  }
}

/** The thread of V8's CPU profiler: the measurement's own cost, left out of the engine's CPU. */
const PROFILER_THREAD = 'v8:ProfEvntProc';

const THREAD_LABELS: Record<string, string> = {
  V8Worker: 'V8 helper threads: concurrent and parallel GC, background compilation',
  'libuv-worker': 'libuv pool: asynchronous file system and DNS work',
};

/** CPU of the engine and its launcher over a window, less the profiler’s thread (ms). */
export function engineCpuMs(r: WindowCpu): number {
  return r.procCpuMs - (r.threadCpuMs[PROFILER_THREAD] ?? 0) + (r.launcherCpuMs ?? 0);
}

export function engineReport(r: EngineResult): string {
  const core = (ms: number, windowMs = r.windowMs) => fmt((ms / windowMs) * 100, 2);
  const intervals = r.intervals ?? r.windowMs / INTERVAL_MS;
  const engineMs = engineCpuMs(r);
  const perInterval = engineMs / intervals;
  const profiled = r.profiled;
  const profiledMs = engineCpuMs(profiled);
  const others = Object.entries(profiled.threadCpuMs).filter(
    ([name]) => name !== MAIN_THREAD && name !== PROFILER_THREAD,
  );
  const othersMs = others.reduce((sum, [, ms]) => sum + ms, 0) + profiled.launcherCpuMs;
  const totalMs = r.profileTotalMs + othersMs;
  const share = (ms: number) => fmt((ms / totalMs) * 100, 1);
  const row = (label: string, ms: number) => [label, fmt(ms, 0), core(ms, profiled.windowMs), share(ms)];
  const breakdown = table(
    [
      `engine at ${fmt(r.count, 0)} processes, the profiled window (${fmt(profiled.windowMs / 1000, 1)} s)`,
      'CPU (ms)',
      '% of one core',
      'share (%)',
    ],
    [
      ...PARTS.map((part) => row(`main thread (profile): ${part}`, r.partsMs[part])),
      ...others
        .sort(([, a], [, b]) => b - a)
        .map(([name, ms]) => row(`${THREAD_LABELS[name] ?? 'other thread'} (\`${name}\`, /proc)`, ms)),
      row(
        'the launcher: starts, signals and reaps the workers (`ps-launcher`, a process of its own, /proc)',
        profiled.launcherCpuMs,
      ),
      [
        'sum: the main thread’s profile plus the other threads and the launcher',
        fmt(totalMs, 0),
        core(totalMs, profiled.windowMs),
        '100',
      ],
      [
        'the profiled window’s /proc total: every thread less the profiler’s, plus the launcher',
        fmt(profiledMs, 0),
        core(profiledMs, profiled.windowMs),
        '-',
      ],
      [
        `**engine total, the measured window (${fmt(r.windowMs / 1000, 1)} s, no profiler): /proc utime + stime of every thread, plus the launcher**`,
        `**${fmt(engineMs, 0)}**`,
        `**${core(engineMs)}**`,
        '-',
      ],
    ],
  );
  const figures = table(
    ['engine', 'value'],
    [
      ['time to reach N after the spawn (s)', fmt(r.rampSeconds, 1)],
      [
        'profile samples in the profiled window / (idle) time left out (ms)',
        `${fmt(r.profileSamples, 0)} / ${fmt(r.profileIdleMs, 0)}`,
      ],
      [
        'main thread in the profiled window: profile total / /proc utime + stime (ms)',
        `${fmt(r.profileTotalMs, 0)} / ${fmt(profiled.threadCpuMs[MAIN_THREAD] ?? Number.NaN, 0)}`,
      ],
      [
        'main thread, /proc utime + stime: the measured window / the profiled window (ms; the profile’s cost on the thread it samples)',
        `${fmt(r.threadCpuMs[MAIN_THREAD] ?? Number.NaN, 0)} / ${fmt(profiled.threadCpuMs[MAIN_THREAD] ?? Number.NaN, 0)}`,
      ],
      [
        `the profiler’s own thread in the profiled window (\`${PROFILER_THREAD}\`, left out of its total; ms, % of one core)`,
        `${fmt(profiled.threadCpuMs[PROFILER_THREAD] ?? Number.NaN, 0)}, ${core(profiled.threadCpuMs[PROFILER_THREAD] ?? Number.NaN, profiled.windowMs)}`,
      ],
      [
        '/metrics scrapes in the window; median time (ms) and size (MiB)',
        `${r.scrapes}; ${fmt(r.scrapeMs, 0)}, ${fmt(r.scrapeBytes / MiB, 1)}`,
      ],
      [
        'OTLP requests received by the sink in the window (MiB)',
        `${r.otlpRequests} (${fmt(r.otlpBytes / MiB, 1)})`,
      ],
      [
        `engine CPU per 10 s interval in the measured window, /proc, launcher included (ms; the window is ${fmt(intervals, 0)} whole intervals, each one sample and one export)`,
        fmt(perInterval, 0),
      ],
      [
        `C reference reader, one full pass over ${fmt(r.cReaderProcesses, 0)} processes (ms CPU, median of ${C_READER_PASSES})`,
        fmt(r.cReaderPassCpuMs, 1),
      ],
      ['**engine CPU per interval / one C reader pass**', `**${fmt(perInterval / r.cReaderPassCpuMs, 1)}x**`],
      [
        `the collector's hostmetrics process scraper, one scrape of the same processes (ms CPU, median of ${COLLECTOR_SCRAPES}; its include filter keeps them all)`,
        fmt(r.collectorScrapeCpuMs, 0),
      ],
      [
        '**engine CPU per interval / one hostmetrics scrape** (the whole simulator against the observer it feeds)',
        `**${fmt(perInterval / r.collectorScrapeCpuMs, 2)}x**`,
      ],
      [
        `**engine RSS over the window, median of ${fmt(r.rssSamples, 0)} readings one second apart (MiB, VmRSS)**, min-max`,
        `**${fmt(r.rssMedianBytes / MiB, 1)}**, ${fmt(r.rssMinBytes / MiB, 1)}-${fmt(r.rssMaxBytes / MiB, 1)}`,
      ],
      ['engine RSS at the end of the window (MiB, VmRSS)', fmt(r.rssBytes / MiB, 1)],
      ['the launcher’s RSS (MiB, VmRSS; not in the engine’s)', fmt((r.launcherRssBytes ?? 0) / MiB, 1)],
      ['engine Rss / Pss (MiB, smaps_rollup)', `${fmt(r.smapsRss / MiB, 1)} / ${fmt(r.smapsPss / MiB, 1)}`],
      [
        `engine RSS with ${BASELINE_COUNT} processes, a second engine (MiB)`,
        fmt(r.baselineRssBytes / MiB, 1),
      ],
      [
        `**idle overhead per process in the engine (bytes; median RSS less the ${BASELINE_COUNT}-process engine's, / ${fmt(r.count - BASELINE_COUNT, 0)})**`,
        `**${fmt((r.rssMedianBytes - r.baselineRssBytes) / (r.count - BASELINE_COUNT), 0)}**`,
      ],
      ['processes SIGKILLed after the engine exited (must be 0)', fmt(r.killedAfterStop, 0)],
      ['load average (1, 5, 15 min) at the window start / end', `${r.loadAtStart} / ${r.loadAtEnd}`],
    ],
  );
  const other = r.otherTop.map(([where, ms]) => `\`${where}\` ${fmt(ms, 0)} ms`).join('; ');
  const note =
    'The engine total, the ratio and the RSS come from the measured window, which runs with no profiler; the per-part rows come from the window of as many intervals before it, under a CPU profile, which costs the thread it samples too (a signal and a stack walk at every sample) and holds more of the run’s one-time costs (V8 compiling the hot code, collecting the ramp’s garbage), so its total is higher. A profile sample counts the time until the next one while the main thread is on that stack: CPU, but also time the thread waited for a core or in a system call, so the main thread’s profile can exceed its /proc CPU; the per-part rows are the profile’s shares.';
  return `${breakdown}\n\n${figures}\n\n${note} The leaf frames of "other" that took the most: ${other || 'none'}.`;
}

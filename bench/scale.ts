/**
 * `npm run bench -- --counts 100,1000,5000`: for each count, a cold start of that many high-cardinality
 * processes, then medians over repeats of everything issue 2 and issue 5 ask about: spawn rate, idle
 * memory per process, sampler CPU per process, engine RSS and idle CPU, /metrics size and time, OTLP
 * requests per export and their sizes, and (with comparisons on) the same processes read by a C
 * reference reader, the collector's hostmetrics scraper, systeminformation and pidusage.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { createProcReader } from '../src/proc/reader.ts';
import { Sampler } from '../src/sampler/sampler.ts';
import { SnapshotStore } from '../src/sampler/snapshot.ts';
import { runCReader } from './lib/c-reader.ts';
import { measureCollector } from './lib/collector.ts';
import { childrenOf, launcherCpuSeconds, memAvailable, rssBytes, smapsRollup } from './lib/proc.ts';
import { scrape } from './lib/scrape.ts';
import { startBenchSimulator } from './lib/simulator.ts';
import { startOtlpSink } from './lib/sink.ts';
import { MiB, median, type Spread, sleep, spread } from './lib/stats.ts';

const COMPARE_CHILD = fileURLToPath(new URL('./compare-child.ts', import.meta.url));
/** comm of every high-cardinality process (svc-core-1, api-7, ...) */
/** the names of the high-cardinality profile's processes, as a collector include filter */
export const HIGH_CARDINALITY_NAMES = '^(svc-core|api|worker|cache|batch)-[0-9]+$';

export interface ScaleOptions {
  count: number;
  repeats: number;
  compare: boolean;
  collectorScrapes: number;
  collectorIntervalSeconds: number;
  log: (line: string) => void;
}

/**
 * Figures of one count; times in ms, CPU in µs per process unless named otherwise. A Spread is the
 * median of the repeats with their least and greatest; a plain number is measured once.
 */
export interface ScaleResult {
  count: number;
  running: number;
  rampSeconds: number;
  spawnsPerSecond: number;
  engineCpuMsPerSpawn: number;
  idleRssKiB: number;
  idlePssKiB: number;
  /** MemAvailable's drop over the run per process: the engine's and the sink's growth included */
  systemKiBPerProcess: number;
  /** the same drop less what the engine's and the sink's RSS grew meanwhile */
  systemKiBPerProcessAlone: number;
  firstSampleUsPerProcess: number;
  sampleUsPerProcess: Spread;
  /** the same with every optional metric's files read: status, and each thread's status for context switches */
  optionalSampleUsPerProcess: Spread;
  sampleWallMs: Spread;
  samplerCorePercentAt10s: number;
  engineIdleCorePercent: number;
  engineRssMiB: number;
  engineHeapMiB: number;
  metricsBytes: number;
  metricsMs: Spread;
  metricsSeries: number;
  otlpRequests: Spread;
  otlpMaxRequestBytes: number;
  otlpTotalBytes: Spread;
  otlpDataPoints: number;
  otlpExportMs: Spread;
  otlpExportCpuMs: Spread;
  stopSeconds: number;
  leftBehind: number;
  c?: { usPerProcess: Spread; ratio: number };
  collector?: { usPerProcess: Spread; ratio: number; rssMiB: number };
  systeminformation?: { usPerProcess: Spread; ratio: number; processes: number; rejected: number };
  pidusage?: { usPerProcess: Spread; ratio: number };
}

const cpuMsSince = (start: NodeJS.CpuUsage) => {
  const used = process.cpuUsage(start);
  return (used.user + used.system) / 1000;
};
/** CPU of this process's launcher so far (ms): part of the engine's work, in a process of its own. */
const launcherCpuMs = () => launcherCpuSeconds(process.pid) * 1000;

export async function runScale(options: ScaleOptions): Promise<ScaleResult> {
  const { count, repeats, log } = options;
  const memBefore = memAvailable();
  const engineRssBefore = process.memoryUsage().rss;
  const sink = await startOtlpSink();
  const { simulator, create } = await startBenchSimulator({
    processCount: count,
    otlpEndpoint: sink.endpoint,
  });
  const { engine, telemetry } = simulator;
  try {
    // ---- cold start to N
    const simulation = create();
    const rampCpu = process.cpuUsage();
    const rampLauncherCpu = launcherCpuMs();
    const rampStart = performance.now();
    await engine.startSimulation(simulation.id);
    const rampSeconds = (performance.now() - rampStart) / 1000;
    const engineCpuMsPerSpawn =
      (cpuMsSince(rampCpu) + launcherCpuMs() - rampLauncherCpu) / Math.max(1, engine.liveCount);
    log(
      `  ${engine.liveCount} running after ${rampSeconds.toFixed(1)} s${simulation.rampWarning ? ` (${simulation.rampWarning})` : ''}`,
    );
    await sleep(3000); // let the last workers settle at their floor

    // ---- memory of the idle simulated processes
    const pids = engine.liveProcesses().map((process) => process.pid);
    const rollups = pids.map(smapsRollup).filter((r) => r !== undefined);
    const idleRssKiB = median(rollups.map((r) => r.rss / 1024));
    const idlePssKiB = median(rollups.map((r) => r.pss / 1024));
    // MemAvailable dropped by the simulated processes and by what else started meanwhile: the engine's
    // own growth (a per-process registry, buffers) and the sink. Both figures are reported.
    const memDrop = memBefore - memAvailable();
    const othersGrowth = process.memoryUsage().rss - engineRssBefore + rssBytes(sink.pid);
    const systemKiBPerProcess = memDrop / 1024 / pids.length;
    const systemKiBPerProcessAlone = (memDrop - othersGrowth) / 1024 / pids.length;

    // ---- the engine at rest: control ticks only
    const idleCpu = process.cpuUsage();
    const idleLauncherCpu = launcherCpuMs();
    const idleStart = performance.now();
    await sleep(5000);
    const engineIdleCorePercent =
      ((cpuMsSince(idleCpu) + launcherCpuMs() - idleLauncherCpu) / (performance.now() - idleStart)) * 100;

    // ---- sampler CPU per full sample (a sampler of its own, so no export rides along)
    const sampler = new Sampler({
      source: engine,
      // the default metrics' reader, as the simulator makes it without optional metrics
      reader: createProcReader({ contextSwitches: false, signalsPending: false }),
      store: new SnapshotStore(),
      intervalMs: 3_600_000,
    });
    let cpu = process.cpuUsage();
    await sampler.sampleNow();
    const firstSampleUsPerProcess = (cpuMsSince(cpu) * 1000) / pids.length;
    const sampleCpu: number[] = [];
    const sampleWall: number[] = [];
    for (let i = 0; i < repeats; i++) {
      cpu = process.cpuUsage();
      const start = performance.now();
      await sampler.sampleNow();
      sampleWall.push(performance.now() - start);
      sampleCpu.push(cpuMsSince(cpu));
    }
    const sampleUsPerProcess = spread(sampleCpu.map((ms) => (ms * 1000) / pids.length));
    // Every optional metric on (OPTIONAL_METRICS=true): status for pending signals and context
    // switches, and the status of every thread of a multi-threaded process.
    const full = new Sampler({
      source: engine,
      reader: createProcReader({ contextSwitches: true, signalsPending: true, cgroup: true }),
      store: new SnapshotStore(),
      intervalMs: 3_600_000,
    });
    await full.sampleNow();
    const optionalCpu: number[] = [];
    for (let i = 0; i < repeats; i++) {
      cpu = process.cpuUsage();
      await full.sampleNow();
      optionalCpu.push(cpuMsSince(cpu));
    }
    const optionalSampleUsPerProcess = spread(optionalCpu.map((ms) => (ms * 1000) / pids.length));

    // ---- OTLP: the simulator's own sample, then exports of it
    // The sample's own export runs unawaited; exportNow waits for it and sends one more. Their reports
    // are drained, so that each measured export below counts its own requests and nothing else.
    await simulator.sampler.sampleNow();
    await telemetry.exportNow();
    await sink.sync();
    sink.take();
    const exportMs: number[] = [];
    const exportCpu: number[] = [];
    const requestSizes: number[][] = [];
    for (let i = 0; i < repeats; i++) {
      cpu = process.cpuUsage();
      const start = performance.now();
      await telemetry.exportNow();
      exportMs.push(performance.now() - start);
      exportCpu.push(cpuMsSince(cpu));
      await sink.sync(); // the sink reports over IPC, possibly after the answer
      requestSizes.push(sink.take());
      if (requestSizes.at(-1)?.length !== telemetry.exportStatus.lastRequests) {
        throw new Error(
          `the sink saw ${requestSizes.at(-1)?.length} requests of an export of ${telemetry.exportStatus.lastRequests}`,
        );
      }
    }
    if (telemetry.exportStatus.lastError) log(`  OTLP export error: ${telemetry.exportStatus.lastError}`);

    // ---- /metrics, scraped from outside like a scraper would (curl)
    const url = telemetry.prometheusUrl as string;
    const bodyDir = mkdtempSync(join(tmpdir(), 'psim-bench-scrape-'));
    const bodyFile = join(bodyDir, 'metrics.txt');
    const scrapes = [];
    for (let i = 0; i < repeats; i++) scrapes.push(await scrape(url, bodyFile));
    const memory = process.memoryUsage();
    const metricsSeries = readFileSync(bodyFile, 'utf8')
      .split('\n')
      .filter((line) => line.startsWith('process_')).length;
    const metricsBytes = scrapes.at(-1)?.bytes ?? 0;
    const metricsMs = scrapes.map((one) => one.ms);
    rmSync(bodyDir, { recursive: true, force: true });

    const result: ScaleResult = {
      count,
      running: pids.length,
      rampSeconds,
      spawnsPerSecond: pids.length / rampSeconds,
      engineCpuMsPerSpawn,
      idleRssKiB,
      idlePssKiB,
      systemKiBPerProcess,
      systemKiBPerProcessAlone,
      firstSampleUsPerProcess,
      sampleUsPerProcess,
      optionalSampleUsPerProcess,
      sampleWallMs: spread(sampleWall),
      samplerCorePercentAt10s: median(sampleCpu) / 100,
      engineIdleCorePercent,
      engineRssMiB: memory.rss / MiB,
      engineHeapMiB: memory.heapUsed / MiB,
      metricsBytes,
      metricsMs: spread(metricsMs),
      metricsSeries,
      otlpRequests: spread(requestSizes.map((sizes) => sizes.length)),
      otlpMaxRequestBytes: Math.max(...requestSizes.flat()),
      otlpTotalBytes: spread(requestSizes.map((sizes) => sizes.reduce((a, b) => a + b, 0))),
      otlpDataPoints: telemetry.exportStatus.lastDataPoints,
      otlpExportMs: spread(exportMs),
      otlpExportCpuMs: spread(exportCpu),
      stopSeconds: 0,
      leftBehind: 0,
    };

    // ---- the same processes read by others
    if (options.compare) await compare(result, pids, options);

    const stopStart = performance.now();
    await simulator.stop();
    result.stopSeconds = (performance.now() - stopStart) / 1000;
    result.leftBehind = childrenOf(process.pid).filter((child) => child.pid !== sink.pid).length;
    return result;
  } finally {
    await simulator.stop();
    await sink.close();
  }
}

async function compare(result: ScaleResult, pids: number[], options: ScaleOptions): Promise<void> {
  const perProcess = (ms: number, processes: number) => (ms * 1000) / processes;
  const ours = result.sampleUsPerProcess.median;
  // runCReader throws unless every pass read every process's files
  const c = runCReader(pids, options.repeats + 1).slice(1);
  const cUs = spread(c.map((pass) => pass.cpuUs / pids.length));
  result.c = { usPerProcess: cUs, ratio: ours / cUs.median };
  options.log(`  C reader ${cUs.median.toFixed(1)} µs/process`);

  const dir = mkdtempSync(join(tmpdir(), 'psim-bench-compare-'));
  try {
    const pidFile = join(dir, 'pids');
    writeFileSync(pidFile, `${pids.join('\n')}\n`);
    const output = execFileSync(process.execPath, [COMPARE_CHILD, pidFile, String(options.repeats)], {
      encoding: 'utf8',
      maxBuffer: 1 << 20,
      stdio: ['ignore', 'pipe', 'inherit'],
      timeout: 600_000,
    });
    const libs = JSON.parse(output) as Record<
      'si' | 'pidusage',
      { cpuMs: number[]; processes: number; rejected: number }
    >;
    // systeminformation lists every process on the host (checked to hold the simulated ones): its cost
    // is divided by what it listed. pidusage reads the simulated PIDs' stat files only.
    const siUs = spread(libs.si.cpuMs.map((ms) => perProcess(ms, libs.si.processes)));
    result.systeminformation = {
      usPerProcess: siUs,
      ratio: siUs.median / ours,
      processes: libs.si.processes,
      rejected: libs.si.rejected,
    };
    const puUs = spread(libs.pidusage.cpuMs.map((ms) => perProcess(ms, libs.pidusage.processes)));
    result.pidusage = { usPerProcess: puUs, ratio: puUs.median / ours };
    options.log(
      `  systeminformation ${siUs.median.toFixed(1)} µs/process (${libs.si.rejected} cached answers rejected), pidusage ${puUs.median.toFixed(1)} µs/process`,
    );
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }

  const collector = await measureCollector(
    HIGH_CARDINALITY_NAMES,
    options.collectorIntervalSeconds,
    options.collectorScrapes,
    pids.length,
  );
  if (collector) {
    const us = spread(collector.cpuPerScrape.map((seconds) => (seconds * 1e6) / pids.length));
    result.collector = { usPerProcess: us, ratio: us.median / ours, rssMiB: collector.rss / MiB };
    options.log(`  collector hostmetrics ${us.median.toFixed(1)} µs/process`);
  } else {
    options.log('  collector not built (npm run collector:build): no collector figure');
  }
}

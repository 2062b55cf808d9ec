/**
 * Parity with the real thing: the collector's hostmetrics process scraper (otel-collector/hostmetrics.yaml,
 * filtered to the simulated names) watches the same PIDs the simulator reports through the bundled
 * pipeline (otel-collector/config.yaml). Both collectors write what they export to a file; per PID the
 * two must agree on metric names, units, types and attribute keys, threads and fds exactly, RSS within
 * 1 % and CPU time within 2 clock ticks plus what the process burnt between the two reads.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { HOSTMETRICS_CONFIG, type RunningCollector, startCollector } from '../helpers/collector.ts';
import { type FlatPoint, readFilePoints } from '../helpers/otlp-json.ts';
import { runProfile, startTestSimulator, type TestSimulator } from '../helpers/simulator.ts';
import { waitFor } from '../helpers/wait.ts';

const INTERVAL_MS = 1000;
/** How long both sides are recorded once every process holds its targets. */
const RECORD_MS = 8000;
/** The worker burns its CPU share in bursts within each 100 ms control period. */
const WORKER_PERIOD_S = 0.1;
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** Steady patterns only, so two reads a few milliseconds apart must agree. */
const PROFILE = {
  name: 'hostmetrics-parity',
  templates: [
    { name: 'par-idle', count: 2, priority: 'high' as const, memory: 8, fds: 3 },
    { name: 'par-busy', count: 2, priority: 'medium' as const, cpu: 5, memory: 16, threads: 4, fds: 20 },
    { name: 'par-many', count: 1, priority: 'low' as const, cpu: 1, memory: 32, threads: 8, fds: 64 },
  ],
};
const TARGETS: Record<string, { threads: number; fds: number }> = {
  'par-idle': { threads: 1, fds: 3 },
  'par-busy': { threads: 4, fds: 20 },
  'par-many': { threads: 8, fds: 64 },
};

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Adds a file exporter to the shipped pipeline (and keeps its prometheus exporter). */
function fileExporter(path: string): string {
  return [
    'exporters:',
    '  file/parity:',
    `    path: ${JSON.stringify(path)}`,
    '    flush_interval: 200ms',
    'service:',
    '  pipelines:',
    '    metrics:',
    '      exporters: [prometheus, file/parity]',
    '',
  ].join('\n');
}

/** Only the simulated names: on a host the shipped include list matches every process. */
function includeOnly(names: string[]): string {
  const pattern = `^(?:${names.map(escapeRegExp).join('|')})$`;
  return [
    'receivers:',
    '  host_metrics:',
    '    scrapers:',
    '      process:',
    '        include:',
    '          match_type: regexp',
    `          names: [${JSON.stringify(pattern)}]`,
    '',
  ].join('\n');
}

const seriesKey = (point: FlatPoint) =>
  `${point.metric}${Object.entries(point.attributes)
    .sort()
    .map(([key, value]) => ` ${key}=${value}`)
    .join('')}`;

const shape = (point: FlatPoint) =>
  `unit=${point.unit} kind=${point.kind} monotonic=${point.monotonic} temporality=${point.temporality} value=${point.valueType} attributes=[${Object.keys(point.attributes).sort()}]`;

/** Points of one PID, by series key, oldest first. */
function byPid(points: FlatPoint[], pid: number): Map<string, FlatPoint[]> {
  const series = new Map<string, FlatPoint[]>();
  for (const point of points) {
    if (point.resource['process.pid'] !== pid) continue;
    const key = seriesKey(point);
    series.set(key, [...(series.get(key) ?? []), point]);
  }
  for (const list of series.values()) list.sort((a, b) => a.timeMs - b.timeMs);
  return series;
}

function nearest(points: FlatPoint[], timeMs: number): FlatPoint | undefined {
  let best: FlatPoint | undefined;
  for (const point of points) {
    if (!best || Math.abs(point.timeMs - timeMs) < Math.abs(best.timeMs - timeMs)) best = point;
  }
  return best;
}

describe('parity with the collector’s hostmetrics process scraper', () => {
  const dir = mkdtempSync(join(tmpdir(), 'psim-parity-'));
  const simulatorFile = join(dir, 'simulator.json');
  const hostFile = join(dir, 'hostmetrics.json');
  let pipeline: RunningCollector;
  let hostmetrics: RunningCollector;
  let simulator: TestSimulator;
  let simulatorPoints: FlatPoint[] = [];
  let hostPoints: FlatPoint[] = [];
  let pids: Array<{ pid: number; name: string }> = [];
  let recordedFromMs = 0;

  before(async () => {
    pipeline = await startCollector({ overrides: [fileExporter(simulatorFile)] });
    simulator = await startTestSimulator({
      AUTO_START: 'false',
      // A real host's exact shape: no simulator.* attributes.
      SIMULATION_ATTRIBUTES: 'false',
      OTEL_EXPORTER_OTLP_ENDPOINT: pipeline.otlpGrpcEndpoint,
      OTEL_METRIC_EXPORT_INTERVAL: String(INTERVAL_MS),
    });
    await runProfile(simulator.sim, PROFILE, 5);
    pids = simulator.sim.engine.liveProcesses().map((p) => ({ pid: p.pid, name: p.name }));
    hostmetrics = await startCollector({
      base: HOSTMETRICS_CONFIG,
      env: { HOSTMETRICS_INTERVAL: `${INTERVAL_MS}ms` },
      overrides: [includeOnly([...new Set(pids.map((p) => p.name))]), fileExporter(hostFile)],
    });
    // Compare only once every worker holds its thread and fd targets (they ramp up after spawn).
    await waitFor('every worker at its thread and fd targets', { timeoutMs: 15_000, everyMs: 250 }, () =>
      pids.every(({ pid, name }) => {
        const sample = simulator.sim.store.latest().processes.get(pid)?.sample;
        const target = TARGETS[name];
        return sample && target && sample.threads === target.threads && sample.openFds === target.fds;
      }),
    );
    assert.equal(pids.length, 5, 'the five processes of the profile');
    recordedFromMs = Date.now() + INTERVAL_MS;
    // Recorded until both files hold points of every PID past the end of the recording; the batch
    // processors hold data up to their timeouts (1 s and 5 s) before the file sees it.
    await waitFor(
      'both files to cover the recording',
      { timeoutMs: RECORD_MS + 20_000, everyMs: 500 },
      () => {
        simulatorPoints = readFilePoints(simulatorFile).filter((p) => p.timeMs >= recordedFromMs);
        hostPoints = readFilePoints(hostFile).filter((p) => p.timeMs >= recordedFromMs);
        const covered = (points: FlatPoint[]) =>
          pids.every(({ pid }) =>
            points.some((p) => p.resource['process.pid'] === pid && p.timeMs >= recordedFromMs + RECORD_MS),
          );
        return covered(simulatorPoints) && covered(hostPoints);
      },
    );
  });

  after(async () => {
    await simulator?.sim.stop();
    await hostmetrics?.stop();
    await pipeline?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test('the hostmetrics scraper sees exactly the simulated PIDs', () => {
    const seen = new Set(hostPoints.map((p) => p.resource['process.pid']));
    assert.deepEqual([...seen].sort(), pids.map((p) => p.pid).sort());
  });

  test('per PID: the same metric names, units, types, Resource and data-point attribute keys', () => {
    const mismatches: string[] = [];
    // The simulator's Resource also carries its own SDK resource (service.*, host.*, os.*); a hostmetrics
    // pipeline adds host.* through resourcedetection. Process identity is what must agree, key and value.
    const processKeys = (point: FlatPoint) =>
      Object.keys(point.resource)
        .filter((key) => key.startsWith('process.'))
        .sort();
    for (const { pid, name } of pids) {
      const mine = byPid(simulatorPoints, pid);
      const theirs = byPid(hostPoints, pid);
      const names = (series: Map<string, FlatPoint[]>) => [...series.keys()].sort().join(' | ');
      if (names(mine) !== names(theirs)) {
        mismatches.push(
          `pid ${pid} (${name}): series differ\n  simulator:   ${names(mine)}\n  hostmetrics: ${names(theirs)}`,
        );
        continue;
      }
      for (const [key, points] of mine) {
        const a = points[0] as FlatPoint;
        const b = (theirs.get(key) as FlatPoint[])[0] as FlatPoint;
        if (shape(a) !== shape(b))
          mismatches.push(`pid ${pid} (${name}) ${key}: simulator ${shape(a)}, hostmetrics ${shape(b)}`);
        if (processKeys(a).join() !== processKeys(b).join()) {
          mismatches.push(
            `pid ${pid} (${name}) ${key}: Resource keys ${processKeys(a)} vs ${processKeys(b)}`,
          );
        }
        for (const attribute of processKeys(b)) {
          if (a.resource[attribute] !== b.resource[attribute]) {
            mismatches.push(
              `pid ${pid} (${name}) ${key}: ${attribute} simulator ${JSON.stringify(a.resource[attribute])}, hostmetrics ${JSON.stringify(b.resource[attribute])}`,
            );
          }
        }
        if (Math.abs(a.startMs - b.startMs) > 1000 / CLOCK_TICKS) {
          mismatches.push(
            `pid ${pid} (${name}) ${key}: start time simulator ${a.startMs}, hostmetrics ${b.startMs}`,
          );
        }
      }
    }
    assert.deepEqual(mismatches, []);
  });

  test('per PID: threads and fds exactly, RSS and virtual memory within 1 %, CPU time within 2 ticks plus skew', (t) => {
    const mismatches: string[] = [];
    let worstRss = 0;
    let worstCpu = 0;
    let worstSkewMs = 0;
    let pairs = 0;
    for (const { pid, name } of pids) {
      const mine = byPid(simulatorPoints, pid);
      const theirs = byPid(hostPoints, pid);
      for (const [key, points] of mine) {
        const reference = theirs.get(key);
        if (!reference || reference.length < 2) {
          mismatches.push(`pid ${pid} (${name}) ${key}: fewer than two hostmetrics points`);
          continue;
        }
        const first = reference[0] as FlatPoint;
        const last = reference.at(-1) as FlatPoint;
        // CPU seconds per second over the recording, to bound what accrued between the two reads.
        const rate = Math.max(
          0,
          (last.value - first.value) / Math.max(1, (last.timeMs - first.timeMs) / 1000),
        );
        for (const point of points) {
          const other = nearest(reference, point.timeMs) as FlatPoint;
          const skewMs = Math.abs(point.timeMs - other.timeMs);
          // process.disk.io (rchar / wchar) is left out: the issue sets no tolerance for it.
          if (skewMs > INTERVAL_MS || point.metric === 'process.disk.io') continue;
          pairs++;
          worstSkewMs = Math.max(worstSkewMs, skewMs);
          const at = `at ${new Date(point.timeMs).toISOString()} (skew ${skewMs} ms)`;
          const diff = Math.abs(point.value - other.value);
          switch (point.metric) {
            case 'process.threads':
            case 'process.open_file_descriptors':
              if (diff !== 0)
                mismatches.push(
                  `pid ${pid} (${name}) ${key}: simulator ${point.value}, hostmetrics ${other.value} ${at}`,
                );
              break;
            case 'process.memory.usage':
            case 'process.memory.virtual': {
              const relative = diff / Math.max(point.value, other.value, 1);
              if (point.metric === 'process.memory.usage') worstRss = Math.max(worstRss, relative);
              if (relative > 0.01) {
                mismatches.push(
                  `pid ${pid} (${name}) ${key}: simulator ${point.value}, hostmetrics ${other.value} (${(relative * 100).toFixed(2)} %) ${at}`,
                );
              }
              break;
            }
            case 'process.cpu.time': {
              const allowed = 2 / CLOCK_TICKS + rate * (skewMs / 1000 + WORKER_PERIOD_S);
              worstCpu = Math.max(worstCpu, diff);
              if (diff > allowed + 1e-9) {
                mismatches.push(
                  `pid ${pid} (${name}) ${key}: simulator ${point.value}, hostmetrics ${other.value}, allowed ±${allowed.toFixed(3)} s ${at}`,
                );
              }
              break;
            }
          }
        }
      }
    }
    t.diagnostic(
      `${pairs} point pairs; worst RSS difference ${(worstRss * 100).toFixed(3)} %, worst CPU difference ${worstCpu.toFixed(3)} s, worst skew ${worstSkewMs} ms (CLK_TCK ${CLOCK_TICKS})`,
    );
    assert.ok(pairs >= pids.length * 7 * 4, `enough pairs compared: ${pairs}`);
    assert.deepEqual(mismatches, []);
  });
});

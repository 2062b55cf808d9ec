/**
 * Parity with the real thing: the collector's hostmetrics process scraper (otel-collector/hostmetrics.yaml,
 * filtered to the simulated names) watches the same PIDs the simulator reports through the bundled
 * pipeline (otel-collector/config.yaml), every metric and attribute switched on by one receiver
 * configuration that both read as it is (the collector as an override, the simulator as METRICS_CONFIG).
 * Both collectors write what they export to a file; per PID the two must agree on metric names, units,
 * types, attribute keys and values (process.cgroup included), and on the values:
 * - exactly where the kernel allows: threads, fds, pending signals, and every counter of a process that
 *   holds still (context switches of a 16-thread idle process, I/O calls, faults);
 * - where a counter moves between the two reads, the simulator's value lies between the receiver's
 *   readings before and after it; RSS within 1 %, CPU time within 2 clock ticks plus what the process
 *   burnt between the two reads, uptime within the time between them;
 * - utilization: each side's value is its own CPU-time delta over its own interval and the machine's
 *   CPUs (to floating-point rounding), memory utilization a float32 percentage of MemTotal, equal on both
 *   sides wherever RSS is.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { PROCESS_ATTRIBUTE_KEYS, PROCESS_METRICS } from '../../src/telemetry/process-metrics.ts';
import { HOSTMETRICS_CONFIG, type RunningCollector, startCollector } from '../helpers/collector.ts';
import { type FlatPoint, readFilePoints } from '../helpers/otlp-json.ts';
import { bracket, byPid, float32Percent, nearest, ratePairs } from '../helpers/parity.ts';
import { runProfile, startTestSimulator, type TestSimulator } from '../helpers/simulator.ts';
import { waitFor } from '../helpers/wait.ts';

const INTERVAL_MS = 1000;
/** How long both sides are recorded once every process holds its targets. */
const RECORD_MS = 8000;
/** The worker burns its CPU share in bursts within each 100 ms control period. */
const WORKER_PERIOD_S = 0.1;
const CLOCK_TICKS = Number(execFileSync('getconf', ['CLK_TCK'], { encoding: 'utf8' }).trim());

/** Readings the receiver stamps before it reads and the simulator after: closer than this, either may be first. */
const GUARD_MS = 50;
/** SIGUSR2 (12) and SIGHUP (1) held pending: bits 11 and 0. */
const PENDING_MASK = 2 ** 11 + 2 ** 0;
const MEM_TOTAL = Number(/^MemTotal:\s+(\d+) kB$/m.exec(readFileSync('/proc/meminfo', 'utf8'))?.[1]) * 1024;
const CPUS = readFileSync('/proc/cpuinfo', 'utf8').match(/^processor\s*:\s*\d+$/gm)?.length ?? 0;

/** Steady patterns only, so two reads a few milliseconds apart must agree. */
const PROFILE = {
  name: 'hostmetrics-parity',
  templates: [
    { name: 'par-idle', count: 2, priority: 'high' as const, memory: 8, fds: 3 },
    { name: 'par-busy', count: 2, priority: 'medium' as const, cpu: 5, memory: 16, threads: 4, fds: 20 },
    { name: 'par-many', count: 1, priority: 'low' as const, cpu: 1, memory: 32, threads: 8, fds: 64 },
    { name: 'par-threads', count: 1, priority: 'low' as const, threads: 16, fds: 5 },
    {
      name: 'par-signals',
      count: 1,
      priority: 'low' as const,
      quirks: { pending_signals: ['SIGUSR2' as const, 'SIGHUP' as const] },
    },
  ],
};
const TARGETS: Record<string, { threads: number; fds: number }> = {
  'par-idle': { threads: 1, fds: 3 },
  'par-busy': { threads: 4, fds: 20 },
  'par-many': { threads: 8, fds: 64 },
  'par-threads': { threads: 16, fds: 5 },
  'par-signals': { threads: 1, fds: 3 },
};
/** Processes that hold still once at their targets: every counter of theirs must agree exactly. */
const STILL = new Set(['par-idle', 'par-threads', 'par-signals']);

/**
 * A receiver configuration with every metric and per-process attribute on: the collector merges it over
 * hostmetrics.yaml, the simulator reads the same file as METRICS_CONFIG.
 */
function everyMetric(): string {
  const metrics = PROCESS_METRICS.map((m) => `          ${m.name}: {enabled: true}`);
  const attributes = PROCESS_ATTRIBUTE_KEYS.map((key) => `          ${key}: {enabled: true}`);
  return [
    'receivers:',
    '  host_metrics:',
    '    scrapers:',
    '      process:',
    '        metrics:',
    ...metrics,
    '        resource_attributes:',
    ...attributes,
    '',
  ].join('\n');
}

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

const shape = (point: FlatPoint) =>
  `unit=${point.unit} kind=${point.kind} monotonic=${point.monotonic} temporality=${point.temporality} value=${point.valueType} attributes=[${Object.keys(point.attributes).sort()}]`;

describe('parity with the collector’s hostmetrics process scraper', () => {
  const dir = mkdtempSync(join(tmpdir(), 'psim-parity-'));
  const simulatorFile = join(dir, 'simulator.json');
  const hostFile = join(dir, 'hostmetrics.json');
  let pipeline: RunningCollector;
  let hostmetrics: RunningCollector;
  let simulator: TestSimulator;
  let simulatorPoints: FlatPoint[] = [];
  let hostPoints: FlatPoint[] = [];
  let allSimulator: FlatPoint[] = [];
  let allHost: FlatPoint[] = [];
  let pids: Array<{ pid: number; name: string }> = [];
  let recordedFromMs = 0;
  const metricsConfig = join(dir, 'every-metric.yaml');

  before(async () => {
    writeFileSync(metricsConfig, everyMetric());
    pipeline = await startCollector({ overrides: [fileExporter(simulatorFile)] });
    simulator = await startTestSimulator({
      AUTO_START: 'false',
      // A real host's exact shape: no simulator.* attributes.
      SIMULATION_ATTRIBUTES: 'false',
      OTEL_EXPORTER_OTLP_ENDPOINT: pipeline.otlpGrpcEndpoint,
      OTEL_METRIC_EXPORT_INTERVAL: String(INTERVAL_MS),
      METRICS_CONFIG: metricsConfig,
    });
    await runProfile(simulator.sim, PROFILE, 5);
    pids = simulator.sim.engine.liveProcesses().map((p) => ({ pid: p.pid, name: p.name }));
    hostmetrics = await startCollector({
      base: HOSTMETRICS_CONFIG,
      env: { HOSTMETRICS_INTERVAL: `${INTERVAL_MS}ms` },
      overrides: [
        includeOnly([...new Set(pids.map((p) => p.name))]),
        readFileSync(metricsConfig, 'utf8'),
        fileExporter(hostFile),
      ],
    });
    // Compare only once every worker holds its thread and fd targets (they ramp up after spawn).
    await waitFor('every worker at its thread and fd targets', { timeoutMs: 15_000, everyMs: 250 }, () =>
      pids.every(({ pid, name }) => {
        const sample = simulator.sim.store.latest().processes.get(pid)?.sample;
        const target = TARGETS[name];
        return sample && target && sample.threads === target.threads && sample.openFds === target.fds;
      }),
    );
    assert.equal(pids.length, 7, 'the seven processes of the profile');
    recordedFromMs = Date.now() + INTERVAL_MS;
    // Recorded until both files hold points of every PID past the end of the recording; the batch
    // processors hold data up to their timeouts (1 s and 5 s) before the file sees it.
    await waitFor(
      'both files to cover the recording',
      { timeoutMs: RECORD_MS + 20_000, everyMs: 500 },
      () => {
        allSimulator = readFilePoints(simulatorFile);
        allHost = readFilePoints(hostFile);
        simulatorPoints = allSimulator.filter((p) => p.timeMs >= recordedFromMs);
        hostPoints = allHost.filter((p) => p.timeMs >= recordedFromMs);
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
    // every metric and attribute of the table is there, so the comparison below covers them all
    for (const { pid, name } of pids) {
      const metrics = new Set(
        simulatorPoints.filter((p) => p.resource['process.pid'] === pid).map((p) => p.metric),
      );
      assert.deepEqual(
        [...metrics].sort(),
        PROCESS_METRICS.map((m) => m.name).sort(),
        `${name}: every metric`,
      );
      const point = simulatorPoints.find((p) => p.resource['process.pid'] === pid) as FlatPoint;
      for (const key of PROCESS_ATTRIBUTE_KEYS) assert.ok(key in point.resource, `${name}: ${key}`);
    }
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

  test('per PID: every value as the kernel allows (see the file comment)', (t) => {
    const mismatches: string[] = [];
    let worstRss = 0;
    let worstCpu = 0;
    let worstSkewMs = 0;
    let pairs = 0;
    let exactCounters = 0;
    let bracketed = 0;
    for (const { pid, name } of pids) {
      const mine = byPid(simulatorPoints, pid);
      const theirs = byPid(hostPoints, pid);
      const still = STILL.has(name);
      for (const [key, points] of mine) {
        const reference = theirs.get(key);
        if (!reference || reference.length < 2) {
          mismatches.push(`pid ${pid} (${name}) ${key}: fewer than two hostmetrics points`);
          continue;
        }
        const first = reference[0] as FlatPoint;
        const last = reference.at(-1) as FlatPoint;
        // Per second over the recording, to bound what accrued between the two reads.
        const rate = Math.max(
          0,
          (last.value - first.value) / Math.max(1, (last.timeMs - first.timeMs) / 1000),
        );
        for (const point of points) {
          const other = nearest(reference, point.timeMs) as FlatPoint;
          const skewMs = Math.abs(point.timeMs - other.timeMs);
          if (skewMs > INTERVAL_MS) continue;
          pairs++;
          worstSkewMs = Math.max(worstSkewMs, skewMs);
          const at = `at ${new Date(point.timeMs).toISOString()} (skew ${skewMs} ms)`;
          const diff = Math.abs(point.value - other.value);
          const differ = (allowed: string) =>
            mismatches.push(
              `pid ${pid} (${name}) ${key}: simulator ${point.value}, hostmetrics ${other.value}, allowed ${allowed} ${at}`,
            );
          switch (point.metric) {
            case 'process.threads':
            case 'process.open_file_descriptors':
            case 'process.signals_pending':
              if (diff !== 0) differ('none');
              break;
            case 'process.memory.usage':
            case 'process.memory.virtual': {
              const relative = diff / Math.max(point.value, other.value, 1);
              if (point.metric === 'process.memory.usage') worstRss = Math.max(worstRss, relative);
              if (relative > 0.01) differ('1 %');
              break;
            }
            case 'process.cpu.time': {
              const allowed = 2 / CLOCK_TICKS + rate * (skewMs / 1000 + WORKER_PERIOD_S);
              worstCpu = Math.max(worstCpu, diff);
              if (diff > allowed + 1e-9) differ(`±${allowed.toFixed(3)} s`);
              break;
            }
            case 'process.uptime': {
              // both from the same start (stat starttime + btime); apart by the time between the reads
              const expected = (point.timeMs - other.timeMs) / 1000;
              if (Math.abs(point.value - other.value - expected) > 0.002)
                differ(`${expected} s apart ± 2 ms`);
              break;
            }
            case 'process.context_switches':
            case 'process.disk.io':
            case 'process.disk.operations':
            case 'process.paging.faults': {
              if (still) {
                exactCounters++;
                if (diff !== 0) differ('none (the process holds still)');
                break;
              }
              const { before: low, after: high } = bracket(reference, point.timeMs, GUARD_MS);
              if (!low || !high) break; // at the edge of the recording
              bracketed++;
              if (point.value < low.value || point.value > high.value) {
                differ(`between the receiver's ${low.value} and ${high.value}`);
              }
              break;
            }
          }
        }
      }
    }
    t.diagnostic(
      `${pairs} point pairs (${exactCounters} exact counters, ${bracketed} bracketed); worst RSS difference ${(worstRss * 100).toFixed(3)} %, worst CPU difference ${worstCpu.toFixed(3)} s, worst skew ${worstSkewMs} ms (CLK_TCK ${CLOCK_TICKS})`,
    );
    assert.ok(pairs >= pids.length * 7 * 10, `enough pairs compared: ${pairs}`);
    assert.ok(exactCounters >= 3 * 7 * 4 && bracketed >= 3 * 7 * 4, 'both kinds of counter checks ran');
    assert.deepEqual(mismatches, []);
  });

  test('context switches of a 16-thread process: the sum over its threads on both sides, exactly', () => {
    const { pid } = pids.find((p) => p.name === 'par-threads') as { pid: number };
    const leader = readFileSync(`/proc/${pid}/status`, 'utf8');
    const leaderVoluntary = Number(/^voluntary_ctxt_switches:\s+(\d+)/m.exec(leader)?.[1]);
    const mine = byPid(simulatorPoints, pid).get('process.context_switches type=voluntary') ?? [];
    const theirs = byPid(hostPoints, pid).get('process.context_switches type=voluntary') ?? [];
    assert.ok(mine.length >= 5 && theirs.length >= 5, `${mine.length} and ${theirs.length} points`);
    const values = (points: FlatPoint[]) => [...new Set(points.map((p) => p.value))];
    assert.deepEqual(values(mine), values(theirs), 'the same value throughout');
    // each of the 15 idle threads switched at least once when it blocked: not the leader's own count
    assert.ok(
      (values(mine)[0] as number) >= leaderVoluntary + 15,
      `sum ${values(mine)[0]}, leader alone ${leaderVoluntary}`,
    );
  });

  test('pending signals: the ShdPnd mask, as /proc and the ground truth say', () => {
    for (const { pid, name } of pids) {
      const shdPnd = Number.parseInt(
        /^ShdPnd:\s+([0-9a-f]+)/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? '',
        16,
      );
      const expected = simulator.sim.engine.groundTruthOf(pid)?.expected.signalsPending;
      assert.equal(expected, name === 'par-signals' ? PENDING_MASK : 0, `${name}: ground truth`);
      assert.equal(shdPnd, expected, `${name}: /proc`);
      for (const side of [simulatorPoints, hostPoints]) {
        const points = byPid(side, pid).get('process.signals_pending') ?? [];
        assert.ok(
          points.length > 0 && points.every((p) => p.value === expected),
          `${name}: ${points.map((p) => p.value)}`,
        );
      }
    }
  });

  test('process.cgroup: the whole cgroup file less its final newline, on both sides', () => {
    for (const { pid, name } of pids) {
      const cgroup = readFileSync(`/proc/${pid}/cgroup`, 'utf8').replace(/\n$/, '');
      for (const [side, points] of [
        ['simulator', simulatorPoints],
        ['hostmetrics', hostPoints],
      ] as const) {
        const point = points.find((p) => p.resource['process.pid'] === pid);
        assert.equal(point?.resource['process.cgroup'], cgroup, `${side} ${name}`);
        assert.equal(point?.resource['process.linux.cgroup'], cgroup, `${side} ${name}`);
      }
    }
  });

  test('memory utilization: a float32 percentage of MemTotal of the same RSS on both sides', (t) => {
    let compared = 0;
    for (const { pid, name } of pids) {
      for (const [side, points] of [
        ['simulator', simulatorPoints],
        ['hostmetrics', hostPoints],
      ] as const) {
        const series = byPid(points, pid);
        const rss = new Map((series.get('process.memory.usage') ?? []).map((p) => [p.timeMs, p.value]));
        for (const point of series.get('process.memory.utilization') ?? []) {
          const bytes = rss.get(point.timeMs);
          assert.ok(bytes !== undefined, `${side} ${name}: RSS read with the utilization`);
          assert.equal(
            point.value,
            float32Percent(bytes, MEM_TOTAL),
            `${side} ${name}: 100 x RSS / MemTotal`,
          );
          compared++;
        }
      }
      // equal on both sides wherever RSS is
      const mine = byPid(simulatorPoints, pid);
      const theirs = byPid(hostPoints, pid).get('process.memory.usage') ?? [];
      for (const point of mine.get('process.memory.utilization') ?? []) {
        const other = nearest(theirs, point.timeMs);
        const myRss = mine.get('process.memory.usage')?.find((p) => p.timeMs === point.timeMs)?.value;
        if (!other || other.value !== myRss) continue;
        const theirUtilization = byPid(hostPoints, pid)
          .get('process.memory.utilization')
          ?.find((p) => p.timeMs === other.timeMs)?.value;
        assert.equal(point.value, theirUtilization, `${name} at the same RSS`);
      }
    }
    t.diagnostic(`${compared} utilization points checked against their RSS (MemTotal ${MEM_TOTAL} bytes)`);
    assert.ok(compared >= pids.length * 2 * 7);
  });

  test('CPU utilization: each side its own CPU-time delta over its interval and the CPUs; the two agree', (t) => {
    let checked = 0;
    let worst = 0;
    const mismatches: string[] = [];
    for (const { pid, name } of pids) {
      const sides = [
        ['simulator', byPid(simulatorPoints, pid)],
        ['hostmetrics', byPid(hostPoints, pid)],
      ] as const;
      for (const state of ['user', 'system', 'wait']) {
        for (const [side, series] of sides) {
          const rates = series.get(`process.cpu.utilization state=${state}`) ?? [];
          const counter = series.get(`process.cpu.time state=${state}`) ?? [];
          for (const { rate, from, to } of ratePairs(rates, counter)) {
            // timestamps are whole milliseconds in the file: the interval is known to 1 ms
            const seconds = (to.timeMs - from.timeMs) / 1000;
            const expected = (to.value - from.value) / seconds / CPUS;
            const slack = Math.abs(expected) * (0.002 / seconds) + 1e-9;
            if (Math.abs(rate.value - expected) > slack) {
              mismatches.push(`${side} ${name} ${state}: ${rate.value}, its own delta gives ${expected}`);
            }
            checked++;
          }
        }
        // across the sides: two windows of about the same length that do not start at the same moment
        const [mine, theirs] = sides.map(
          ([, series]) => series.get(`process.cpu.utilization state=${state}`) ?? [],
        );
        const time = (sides[1][1].get(`process.cpu.time state=${state}`) ?? []) as FlatPoint[];
        const total = time.length > 1 ? (time.at(-1) as FlatPoint).value - (time[0] as FlatPoint).value : 0;
        const span =
          time.length > 1 ? ((time.at(-1) as FlatPoint).timeMs - (time[0] as FlatPoint).timeMs) / 1000 : 1;
        const rate = Math.max(0, total / span);
        for (const point of mine ?? []) {
          const other = nearest(theirs ?? [], point.timeMs);
          if (!other) continue;
          const skew = Math.abs(point.timeMs - other.timeMs) / 1000;
          // 2 ticks at each end of each window, and what burnt in the skew and one worker period at each end
          const allowed =
            (4 / CLOCK_TICKS + 2 * rate * (skew + WORKER_PERIOD_S)) / (INTERVAL_MS / 1000) / CPUS;
          const diff = Math.abs(point.value - other.value);
          worst = Math.max(worst, diff);
          if (diff > allowed + 1e-9)
            mismatches.push(
              `${name} ${state}: simulator ${point.value}, hostmetrics ${other.value}, allowed ±${allowed.toFixed(4)}`,
            );
        }
      }
    }
    t.diagnostic(
      `${checked} utilization points checked against their own CPU time (${CPUS} CPUs); worst difference across the sides ${worst.toFixed(4)}`,
    );
    assert.ok(checked >= pids.length * 3 * 2 * 5, `${checked} checked`);
    assert.deepEqual(mismatches, []);
  });

  test('the receiver emits no utilization on its first scrape of a process', () => {
    for (const { pid, name } of pids) {
      const series = byPid(allHost, pid);
      const firstTime = series.get('process.cpu.time state=user')?.[0]?.timeMs;
      const firstRate = series.get('process.cpu.utilization state=user')?.[0]?.timeMs;
      assert.ok(firstTime !== undefined && firstRate !== undefined && firstRate > firstTime, name);
    }
  });
});

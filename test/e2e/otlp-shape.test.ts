/**
 * The two shapes of the OTLP push, decoded with the official OTLP protos from what a real simulator sends
 * to a real gRPC server: OTLP_PROCESS_ATTRIBUTES=resource (one Resource per process, the hostmetrics
 * receiver's shape) and datapoint (one Resource, the process attributes on every data point); and the
 * default shape as the real collector receives it and writes it out, with no processor regrouping it.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, readFileSync, readlinkSync, rmSync } from 'node:fs';
import { tmpdir, userInfo } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { loadConfig } from '../../src/config/config.ts';
import { createLogger } from '../../src/log.ts';
import { type RunningSimulator, startSimulator } from '../../src/simulator.ts';
import { type RunningCollector, startCollector } from '../helpers/collector.ts';
import { readFilePoints } from '../helpers/otlp-json.ts';
import { attributesOf, type ExportRequest, type OtlpSink, startOtlpSink } from '../helpers/otlp-sink.ts';
import { startTestSimulator, type TestSimulator } from '../helpers/simulator.ts';
import { waitFor } from '../helpers/wait.ts';

/** The receiver's default per-process attributes (the cgroup ones are off by default). */
const PROCESS_KEYS = [
  'process.command',
  'process.command_line',
  'process.executable.name',
  'process.executable.path',
  'process.owner',
  'process.parent_pid',
  'process.pid',
];
const SIMULATION_KEYS = [
  'simulator.cpu_pattern',
  'simulator.memory_pattern',
  'simulator.priority',
  'simulator.profile',
  'simulator.simulation_id',
];
/** The only attributes a data point keeps in the receiver's shape: what splits a metric. */
const SPLIT_KEYS = new Set(['state', 'direction', 'type']);
const COUNT = 6;
const silent = createLogger('error', () => {});

async function run(shape: string | undefined, sink: OtlpSink): Promise<RunningSimulator> {
  return startSimulator(
    loadConfig({
      PROFILE: 'realistic',
      PROCESS_COUNT: String(COUNT),
      SEED: '17',
      METRICS_PORT: '0',
      METRICS_HOST: '127.0.0.1',
      CONTROL_PORT: '0',
      OTEL_EXPORTER_OTLP_ENDPOINT: sink.endpoint,
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
      ...(shape === undefined ? {} : { OTLP_PROCESS_ATTRIBUTES: shape }),
    }),
    silent,
  );
}

function pointsIn(rm: ExportRequest['resource_metrics'][number]) {
  return rm.scope_metrics.flatMap((sm) =>
    sm.metrics.flatMap((metric) =>
      (metric.sum?.data_points ?? metric.gauge?.data_points ?? []).map((point) => ({ metric, point })),
    ),
  );
}

/** What /proc says of a process, with the receiver's attribute values. */
function procAttributes(pid: number): Record<string, unknown> {
  const cmdline = readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').filter(Boolean);
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  return {
    'process.pid': pid,
    'process.parent_pid': Number(/^PPid:\s*(\d+)$/m.exec(status)?.[1]),
    'process.executable.name': /^Name:\s*(.*)$/m.exec(status)?.[1],
    'process.executable.path': readlinkSync(`/proc/${pid}/exe`),
    'process.command': cmdline[0],
    'process.command_line': cmdline.join(' '),
    'process.owner': userInfo().username,
  };
}

describe('OTLP_PROCESS_ATTRIBUTES=resource (the default)', () => {
  let sink: OtlpSink;
  let simulator: RunningSimulator;
  before(async () => {
    sink = await startOtlpSink();
    simulator = await run(undefined, sink);
  });
  after(async () => {
    await simulator?.stop();
    await sink?.close();
  });

  test("one Resource per live process with exactly the receiver's process attributes; points keep only the split", async () => {
    const live = () => new Set(simulator.engine.liveProcesses().map((p) => p.pid));
    const request = await sink.waitFor((r) => r.resource_metrics.length > COUNT);
    const [sdk, ...processes] = request.resource_metrics;
    assert.ok(sdk);
    const sdkAttributes = attributesOf(sdk.resource.attributes);
    assert.equal(sdkAttributes['service.name'], 'process-simulator');
    assert.ok(
      Object.keys(sdkAttributes).every((key) => !key.startsWith('process.') && !key.startsWith('simulator.')),
      'the self metrics stay under the SDK Resource, without process attributes',
    );
    assert.ok(
      pointsIn(sdk).every(({ metric }) => !metric.name.startsWith('process.')),
      'no process metric under the SDK Resource',
    );
    const pids = live();
    const seen = new Set<number>();
    for (const rm of processes) {
      const attributes = attributesOf(rm.resource.attributes);
      const pid = attributes['process.pid'] as number;
      assert.equal(typeof pid, 'number', 'process.pid is an int attribute');
      assert.ok(!seen.has(pid), `process ${pid} has one Resource`);
      seen.add(pid);
      const keys = Object.keys(attributes);
      assert.deepEqual(keys.filter((key) => key.startsWith('process.')).sort(), PROCESS_KEYS);
      assert.deepEqual(keys.filter((key) => key.startsWith('simulator.')).sort(), SIMULATION_KEYS);
      // Beside them, the SDK's Resource (service, host): the series keep their job and instance.
      assert.deepEqual(
        Object.fromEntries(keys.filter((key) => key in sdkAttributes).map((key) => [key, attributes[key]])),
        sdkAttributes,
      );
      assert.deepEqual(
        keys.filter(
          (key) => !(key in sdkAttributes) && !key.startsWith('process.') && !key.startsWith('simulator.'),
        ),
        [],
      );
      if (!pids.has(pid)) continue; // the final reading of a process that exited meanwhile
      assert.deepEqual(
        Object.fromEntries(PROCESS_KEYS.map((key) => [key, attributes[key]])),
        procAttributes(pid),
        `attributes of ${pid}`,
      );
      const info = simulator.engine.liveProcesses().find((p) => p.pid === pid);
      assert.equal(attributes['simulator.priority'], info?.priority);
      const points = pointsIn(rm);
      assert.ok(points.length >= 7, `${points.length} points of ${pid}`);
      for (const { metric, point } of points) {
        assert.ok(
          point.attributes.every((kv) => SPLIT_KEYS.has(kv.key)),
          `${metric.name} of ${pid} has ${point.attributes.map((kv) => kv.key)}`,
        );
      }
      assert.deepEqual(
        points
          .filter(({ metric }) => metric.name === 'process.cpu.time')
          .map(({ point }) => attributesOf(point.attributes)),
        [{ state: 'user' }, { state: 'system' }, { state: 'wait' }],
      );
    }
    assert.deepEqual(
      [...pids].filter((pid) => !seen.has(pid)),
      [],
      'every live process has its Resource',
    );
  });
});

describe('OTLP_PROCESS_ATTRIBUTES=datapoint', () => {
  let sink: OtlpSink;
  let simulator: RunningSimulator;
  before(async () => {
    sink = await startOtlpSink();
    simulator = await run('datapoint', sink);
  });
  after(async () => {
    await simulator?.stop();
    await sink?.close();
  });

  test('one Resource; every data point carries the process and simulation attributes', async () => {
    const request = await sink.waitFor((r) =>
      r.resource_metrics.some((rm) => pointsIn(rm).some(({ metric }) => metric.name === 'process.threads')),
    );
    assert.equal(request.resource_metrics.length, 1);
    const [rm] = request.resource_metrics;
    assert.ok(rm);
    const resource = attributesOf(rm.resource.attributes);
    assert.equal(resource['service.name'], 'process-simulator');
    assert.deepEqual(
      Object.keys(resource).filter((key) => key.startsWith('process.') || key.startsWith('simulator.')),
      [],
    );
    const pids = new Set(simulator.engine.liveProcesses().map((p) => p.pid));
    let checked = 0;
    for (const { metric, point } of pointsIn(rm)) {
      if (!metric.name.startsWith('process.')) continue;
      const attributes = attributesOf(point.attributes);
      const keys = Object.keys(attributes);
      assert.deepEqual(keys.filter((key) => key.startsWith('process.')).sort(), PROCESS_KEYS);
      assert.deepEqual(keys.filter((key) => key.startsWith('simulator.')).sort(), SIMULATION_KEYS);
      assert.ok(keys.length <= PROCESS_KEYS.length + SIMULATION_KEYS.length + 1, `${metric.name}: ${keys}`);
      const pid = attributes['process.pid'] as number;
      if (!pids.has(pid)) continue;
      assert.deepEqual(
        Object.fromEntries(PROCESS_KEYS.map((key) => [key, attributes[key]])),
        procAttributes(pid),
      );
      checked++;
    }
    assert.ok(checked >= COUNT * 7, `${checked} points checked`);
  });
});

describe('the real collector receives one Resource per process as it is', () => {
  const dir = mkdtempSync(join(tmpdir(), 'psim-otlp-shape-'));
  const file = join(dir, 'received.json');
  let collector: RunningCollector;
  let simulator: TestSimulator;
  before(async () => {
    // The bundled pipeline less its groupbyattrs: what the collector writes is what it received.
    collector = await startCollector({
      overrides: [
        [
          'exporters:',
          '  file/received:',
          `    path: ${JSON.stringify(file)}`,
          '    flush_interval: 200ms',
          'service:',
          '  pipelines:',
          '    metrics:',
          '      processors: [memory_limiter, batch]',
          '      exporters: [file/received]',
          '',
        ].join('\n'),
      ],
    });
    simulator = await startTestSimulator({
      PROFILE: 'realistic',
      PROCESS_COUNT: String(COUNT),
      SEED: '23',
      OTEL_EXPORTER_OTLP_ENDPOINT: collector.otlpGrpcEndpoint,
      OTEL_METRIC_EXPORT_INTERVAL: '1000',
    });
  });
  after(async () => {
    await simulator?.sim.stop();
    await collector?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  test("every live process's points arrive under its own Resource, with only the split attributes", async () => {
    const pids = simulator.sim.engine.liveProcesses().map((p) => p.pid);
    assert.equal(pids.length, COUNT);
    const points = await waitFor(
      'a process.threads point of every live process in the file',
      { timeoutMs: 30_000, everyMs: 200 },
      () => {
        const all = readFilePoints(file);
        const seen = new Set(
          all.filter((p) => p.metric === 'process.threads').map((p) => p.resource['process.pid']),
        );
        return pids.every((pid) => seen.has(pid)) ? all : undefined;
      },
    );
    for (const pid of pids) {
      const own = points.filter((p) => p.resource['process.pid'] === pid);
      assert.ok(own.length >= 7, `${own.length} points of ${pid}`);
      for (const point of own) {
        assert.deepEqual(
          Object.keys(point.resource)
            .filter((key) => key.startsWith('process.'))
            .sort(),
          PROCESS_KEYS,
        );
        assert.equal(point.resource['service.name'], 'process-simulator');
        assert.ok(
          Object.keys(point.attributes).every((key) => SPLIT_KEYS.has(key)),
          `${point.metric} of ${pid}: ${Object.keys(point.attributes)}`,
        );
      }
      assert.deepEqual(
        Object.fromEntries(PROCESS_KEYS.map((key) => [key, own[0]?.resource[key]])),
        procAttributes(pid),
      );
    }
    // The self metrics stay under the simulator's Resource.
    assert.ok(
      points.some((p) => !p.metric.startsWith('process.') && p.resource['process.pid'] === undefined),
      'self metrics under a Resource without process attributes',
    );
  });
});

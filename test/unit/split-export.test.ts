import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ValueType } from '@opentelemetry/api';
import { millisToHrTime } from '@opentelemetry/core';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { AggregationTemporality, DataPointType, type ResourceMetrics } from '@opentelemetry/sdk-metrics';
import fc from 'fast-check';
import type { SampledProcess } from '../../src/sampler/snapshot.ts';
import { SnapshotStore } from '../../src/sampler/snapshot.ts';
import { setHrTime } from '../../src/telemetry/otlp-process-encoding.ts';
import { packResourceMetrics } from '../../src/telemetry/otlp-requests.ts';
import { defaultSelection } from '../../src/telemetry/process-metrics.ts';
import {
  createProcessMetricProducer,
  createProcessResourceSource,
} from '../../src/telemetry/process-producer.ts';
import { PrometheusTextSerializer } from '../../src/telemetry/prometheus-text.ts';
import { splitResourceMetrics } from '../../src/telemetry/split-export.ts';
import { attributesOf, decodeExportRequest } from '../helpers/otlp-sink.ts';

/** 10,000 processes x 9 points with the attributes the simulator really sends. */
function fleet(processes: number): ResourceMetrics {
  const metric = (name: string, states: string[]) => ({
    descriptor: { name, description: 'd', unit: 'By', valueType: ValueType.INT },
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM as const,
    isMonotonic: true,
    dataPoints: Array.from({ length: processes }, (_, i) =>
      states.map((state) => ({
        startTime: [1_700_000_000, 0] as [number, number],
        endTime: [1_700_000_100, 0] as [number, number],
        attributes: {
          'process.pid': 10_000 + i,
          'process.parent_pid': 999,
          'process.executable.name': `worker-${i}`,
          'process.executable.path': `/tmp/process-simulator-999-1/bin/worker-${i}`,
          'process.command': `worker-${i}`,
          'process.command_line': `worker-${i} --serve --port 80${i % 100}`,
          'process.owner': 'simulator',
          'simulator.priority': 'medium',
          'simulator.profile': 'high-cardinality',
          'simulator.simulation_id': '30502627-f679-4477-9ef7-1a590d104f57',
          'simulator.cpu_pattern': 'steady',
          'simulator.memory_pattern': 'steady',
          ...(state ? { state } : {}),
        },
        value: 123456,
      })),
    ).flat(),
  });
  return {
    resource: resourceFromAttributes({ 'service.name': 'process-simulator' }),
    scopeMetrics: [
      {
        scope: { name: 'process-simulator', version: '0.1.0' },
        metrics: [
          metric('process.cpu.time', ['user', 'system', 'wait']),
          metric('process.memory.usage', ['']),
          metric('process.memory.virtual', ['']),
          metric('process.disk.io', ['read', 'write']),
          metric('process.threads', ['']),
          metric('process.open_file_descriptors', ['']),
        ],
      },
    ],
  };
}

test('10,000 processes are split into OTLP requests that each stay under 4 MiB, losing no point', () => {
  const whole = fleet(10_000);
  const total = whole.scopeMetrics[0]?.metrics.reduce((sum, m) => sum + m.dataPoints.length, 0);
  assert.equal(total, 90_000);
  const wholeBytes = ProtobufMetricsSerializer.serializeRequest(whole)?.byteLength ?? 0;
  assert.ok(wholeBytes > 4 * 1024 * 1024, `unsplit it would be ${wholeBytes} bytes`);
  const chunks = splitResourceMetrics(whole);
  let points = 0;
  for (const chunk of chunks) {
    const bytes = ProtobufMetricsSerializer.serializeRequest(chunk)?.byteLength ?? 0;
    assert.ok(bytes < 4 * 1024 * 1024, `a request of ${bytes} bytes`);
    for (const scope of chunk.scopeMetrics)
      for (const metric of scope.metrics) points += metric.dataPoints.length;
  }
  assert.equal(points, 90_000);
  assert.ok(chunks.length >= Math.ceil(wholeBytes / (4 * 1024 * 1024)));
});

test('a small collection stays one request with its metric order', () => {
  const chunks = splitResourceMetrics(fleet(10));
  assert.equal(chunks.length, 1);
  assert.deepEqual(
    chunks[0]?.scopeMetrics[0]?.metrics.map((m) => m.descriptor.name),
    [
      'process.cpu.time',
      'process.memory.usage',
      'process.memory.virtual',
      'process.disk.io',
      'process.threads',
      'process.open_file_descriptors',
    ],
  );
});

/** A synthetic process as the sampler keeps it, with the attributes of a realistic command line. */
function sampled(pid: number): SampledProcess {
  return {
    info: {
      pid,
      name: `worker-${pid}`,
      simulationId: '30502627-f679-4477-9ef7-1a590d104f57',
      profile: 'high-cardinality',
      shard: undefined,
      priority: 'medium',
      cpuPattern: 'steady',
      memoryPattern: 'steady',
      startedAtMs: 1_700_000_000_000,
      generation: 0,
      targets: {} as SampledProcess['info']['targets'],
    },
    identity: {
      executablePath: `/opt/process-simulator/bin/worker-${pid}`,
      commandLine: [`worker-${pid}`, '--serve', `--port=${8000 + (pid % 100)}`],
      owner: 'simulator',
      cgroup: undefined,
    },
    sample: {
      pid,
      ppid: 999,
      name: `worker-${pid}`,
      state: 'S',
      cpuUserSeconds: 1.5,
      cpuSystemSeconds: 0.25,
      cpuWaitSeconds: 0,
      rssBytes: 12_345_678,
      vmsBytes: 123_456_789,
      threads: 4,
      openFds: 12,
      readChars: 4096,
      writeChars: 8192,
      readSyscalls: 10,
      writeSyscalls: 20,
      voluntaryCtxSwitches: 0,
      involuntaryCtxSwitches: 0,
      signalsPending: 0,
      memoryPercent: 0.5,
      cpuUtilization: undefined,
      minorFaults: 0,
      majorFaults: 0,
      startTimeMs: 1_700_000_000_000,
      startTicks: 1000,
      readAtMs: 1_700_000_100_000,
    },
  };
}

const SDK_RESOURCE = resourceFromAttributes({ 'service.name': 'process-simulator', 'host.name': 'node-1' });
const PROCESS_KEYS = [
  'process.pid',
  'process.parent_pid',
  'process.executable.name',
  'process.executable.path',
  'process.command',
  'process.command_line',
  'process.owner',
];

/** The per-process source over `live` processes and `departed` final readings, in the resource shape. */
function resourceSource(live: number, departed: number) {
  const store = new SnapshotStore();
  const processes = new Map<number, SampledProcess>();
  for (let pid = 10_000; pid < 10_000 + live; pid++) processes.set(pid, sampled(pid));
  const gone = new Map<number, SampledProcess>();
  for (let pid = 100_000; pid < 100_000 + departed; pid++) gone.set(pid, sampled(pid));
  store.publish({ takenAtMs: 0, durationMs: 0, processes, unreadable: new Map(), departed: gone });
  return createProcessResourceSource({
    store,
    naming: 'otlp',
    simulationPrefix: 'simulator.',
    departed: true,
    scope: { name: 'process-simulator', version: '0.1.0' },
  });
}

test('10,000 processes in the resource shape: requests under 4 MiB of whole processes, losing no point', () => {
  const LIVE = 10_000;
  const DEPARTED = 40;
  const source = resourceSource(LIVE, DEPARTED);
  const resources = [...source(SDK_RESOURCE)];
  assert.equal(resources.length, LIVE + DEPARTED, 'one ResourceMetrics per process, the departed included');
  const requests = packResourceMetrics(resources);
  assert.ok(requests.length > 1, `${requests.length} requests`);
  const seen = new Map<number, number>();
  let points = 0;
  for (const [index, request] of requests.entries()) {
    const body = Buffer.concat(request.parts);
    assert.equal(body.byteLength, request.bytes);
    assert.ok(body.byteLength < 4 * 1024 * 1024, `a request of ${body.byteLength} bytes`);
    // Decoded with the official protos: the concatenation is one request of many Resources.
    const decoded = decodeExportRequest(body);
    assert.equal(decoded.resource_metrics.length, request.resources);
    for (const rm of decoded.resource_metrics) {
      const resource = attributesOf(rm.resource.attributes);
      const pid = resource['process.pid'] as number;
      assert.ok(!seen.has(pid), `process ${pid} in requests ${seen.get(pid)} and ${index}`);
      seen.set(pid, index);
      assert.equal(resource['service.name'], 'process-simulator');
      assert.equal(resource['simulator.priority'], 'medium');
      for (const sm of rm.scope_metrics)
        for (const metric of sm.metrics)
          for (const point of metric.sum?.data_points ?? metric.gauge?.data_points ?? []) {
            points++;
            assert.ok(
              point.attributes.every((kv) => ['state', 'direction'].includes(kv.key)),
              `point attributes ${point.attributes.map((kv) => kv.key)}`,
            );
          }
    }
  }
  assert.equal(seen.size, LIVE + DEPARTED, 'every process, each in one request');
  // cpu.time 3 + memory.usage + memory.virtual + disk.io 2 + threads + fds = 9 per process
  assert.equal(points, (LIVE + DEPARTED) * 9);
  assert.equal(
    requests.reduce((sum, r) => sum + r.dataPoints, 0),
    points,
  );
  assert.deepEqual([...source(SDK_RESOURCE)].length, LIVE, 'the departed readings go out once');
});

test("a process's Resource has exactly the receiver's process attributes, the simulation ones and the SDK's", () => {
  const [first] = resourceSource(1, 0)(SDK_RESOURCE);
  assert.ok(first);
  const attributes = first.resource.attributes;
  assert.deepEqual(
    Object.keys(attributes)
      .filter((key) => key.startsWith('process.'))
      .sort(),
    [...PROCESS_KEYS].sort(),
  );
  assert.deepEqual(
    {
      pid: attributes['process.pid'],
      parent: attributes['process.parent_pid'],
      command: attributes['process.command'],
      commandLine: attributes['process.command_line'],
    },
    { pid: 10_000, parent: 999, command: 'worker-10000', commandLine: 'worker-10000 --serve --port=8000' },
  );
  assert.equal(attributes['host.name'], 'node-1');
  assert.equal(attributes['simulator.profile'], 'high-cardinality');
  const splits = first.scopeMetrics[0]?.metrics.map((m) => [
    m.descriptor.name,
    m.dataPoints.map((p) => Object.entries(p.attributes).flat().join('=')),
  ]);
  assert.deepEqual(splits, [
    ['process.cpu.time', ['state=user', 'state=system', 'state=wait']],
    ['process.memory.usage', ['']],
    ['process.memory.virtual', ['']],
    ['process.disk.io', ['direction=read', 'direction=write']],
    ['process.threads', ['']],
    ['process.open_file_descriptors', ['']],
  ]);
});

test('one process larger than the budget alone is split into requests of its own; the others stay whole', () => {
  const resources = [...resourceSource(3, 0)(SDK_RESOURCE)];
  const one = ProtobufMetricsSerializer.serializeRequest(resources[0] as ResourceMetrics)?.byteLength ?? 0;
  // A budget one byte short of one process: each is split into pieces, none shares a request.
  const requests = packResourceMetrics(resources, one - 1);
  const points = requests.reduce((sum, r) => sum + r.dataPoints, 0);
  assert.equal(points, 27, 'no point lost');
  for (const request of requests) {
    const decoded = decodeExportRequest(Buffer.concat(request.parts));
    const pids = new Set(
      decoded.resource_metrics.map((rm) => attributesOf(rm.resource.attributes)['process.pid']),
    );
    assert.equal(pids.size, 1, 'a piece of one process per request');
  }
  assert.ok(requests.length > 3, `${requests.length} requests`);
  const roomy = packResourceMetrics(resources, 3 * one);
  assert.equal(roomy.length, 1, 'three processes fit one request');
  assert.equal(roomy[0]?.resources, 3);
});

test('a request with the cached Resource decodes as the package serializer’s own, for generated processes', () => {
  const text = fc.string({ unit: 'grapheme', maxLength: 30 });
  fc.assert(
    fc.property(
      fc.dictionary(fc.string({ minLength: 1, maxLength: 20 }), fc.oneof(text, fc.integer(), fc.boolean()), {
        maxKeys: 12,
      }),
      fc.integer({ min: 1, max: 4_194_304 }),
      fc.integer({ min: 0, max: 2 }),
      (attributes, pid, repeats) => {
        const source = resourceSource(1, 0);
        const [live] = source(resourceFromAttributes(attributes));
        assert.ok(live);
        const resourceMetrics = {
          scopeMetrics: live.scopeMetrics,
          resource: live.resource.merge(resourceFromAttributes({ pid })),
        };
        const expected = decodeExportRequest(
          Buffer.from(ProtobufMetricsSerializer.serializeRequest(resourceMetrics) as Uint8Array),
        );
        // The first encoding fills the cache; the later ones take the Resource from it.
        for (let i = 0; i <= repeats; i++) {
          const [request] = packResourceMetrics([resourceMetrics]);
          assert.deepEqual(decodeExportRequest(Buffer.concat(request?.parts ?? [])), expected);
        }
      },
    ),
    { numRuns: 300 },
  );
});

test('a process’s ResourceMetrics reused between exports carry each export’s values, as a fresh source’s do', () => {
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          rss: fc.integer({ min: 0, max: 2 ** 40 }),
          cpu: fc.double({ min: 0, max: 1e6, noNaN: true }),
          utilization: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
          readAtMs: fc.integer({ min: 1_700_000_100_000, max: 1_800_000_000_000 }),
        }),
        { minLength: 1, maxLength: 5 },
      ),
      (exports) => {
        const store = new SnapshotStore();
        const options = {
          store,
          naming: 'otlp' as const,
          simulationPrefix: 'simulator.',
          scope: { name: 'process-simulator', version: '0.1.0' },
        };
        const reused = createProcessResourceSource(options);
        const base = sampled(4242);
        for (const values of exports) {
          // The same identity object at every export, as the sampler keeps it per live PID.
          const entry = {
            ...base,
            sample: {
              ...base.sample,
              rssBytes: values.rss,
              cpuUserSeconds: values.cpu,
              cpuUtilization: values.utilization,
              memoryPercent: values.utilization,
              readAtMs: values.readAtMs,
            },
          };
          store.publish({
            takenAtMs: 0,
            durationMs: 0,
            processes: new Map<number, SampledProcess>([[4242, entry as SampledProcess]]),
            unreadable: new Map(),
            departed: new Map(),
          });
          const decode = (resources: ResourceMetrics[]) =>
            packResourceMetrics(resources).map((request) =>
              decodeExportRequest(Buffer.concat(request.parts)),
            );
          const expected = decode([...createProcessResourceSource(options)(SDK_RESOURCE)]);
          const actual = decode([...reused(SDK_RESOURCE)]);
          assert.deepEqual(actual, expected);
          // And against the reading itself, which a defect shared by both sources would not show.
          const points = actual.flatMap((request) =>
            request.resource_metrics.flatMap((rm) =>
              rm.scope_metrics.flatMap((sm) =>
                sm.metrics.flatMap((metric) => [
                  ...(metric.sum?.data_points ?? []).map((point) => ({ name: metric.name, point })),
                  ...(metric.gauge?.data_points ?? []).map((point) => ({ name: metric.name, point })),
                ]),
              ),
            ),
          );
          for (const { point } of points) {
            assert.equal(point.time_unix_nano, values.readAtMs * 1e6);
            assert.equal(point.start_time_unix_nano, base.sample.startTimeMs * 1e6);
          }
          const memory = points.find(({ name }) => name === 'process.memory.usage')?.point;
          assert.equal(memory?.as_int ?? memory?.as_double, values.rss);
        }
      },
    ),
    { numRuns: 200 },
  );
});

test('the data-point producer’s points reused between collects carry each collect’s values, as a fresh producer’s do', async () => {
  const reading = fc.record({
    rss: fc.integer({ min: 0, max: 2 ** 40 }),
    cpu: fc.double({ min: 0, max: 1e6, noNaN: true }),
    utilization: fc.option(fc.double({ min: 0, max: 1, noNaN: true }), { nil: undefined }),
    readAtMs: fc.integer({ min: 1_700_000_100_000, max: 1_800_000_000_000 }),
  });
  await fc.assert(
    fc.asyncProperty(
      fc.boolean(),
      // per collect, the processes alive (a subset of four PIDs) and each one's reading
      fc.array(fc.array(fc.tuple(fc.integer({ min: 1, max: 4 }), reading), { maxLength: 4 }), {
        minLength: 1,
        maxLength: 6,
      }),
      async (optional, collects) => {
        const store = new SnapshotStore();
        const options = {
          store,
          naming: 'prometheus' as const,
          simulationPrefix: 'simulator.',
          selection: defaultSelection(optional),
          scope: { name: 'process-simulator', version: '0.1.0' },
        };
        const reused = createProcessMetricProducer(options);
        const serializer = new PrometheusTextSerializer();
        // One identity object per PID for the whole run, as the sampler keeps it per live PID.
        const bases = new Map([1, 2, 3, 4].map((pid) => [pid, sampled(pid)]));
        for (const alive of collects) {
          const processes = new Map<number, SampledProcess>();
          for (const [pid, values] of alive) {
            const base = bases.get(pid) as SampledProcess;
            processes.set(pid, {
              ...base,
              sample: {
                ...base.sample,
                rssBytes: values.rss,
                cpuUserSeconds: values.cpu,
                cpuUtilization:
                  values.utilization === undefined
                    ? undefined
                    : {
                        user: values.utilization,
                        system: 0,
                        wait: 0,
                      },
                memoryPercent: values.utilization,
                readAtMs: values.readAtMs,
              },
            });
          }
          store.publish({
            takenAtMs: 0,
            durationMs: 0,
            processes,
            unreadable: new Map(),
            departed: new Map(),
          });
          const actual = (await reused.collect()).resourceMetrics;
          const expected = (await createProcessMetricProducer(options).collect()).resourceMetrics;
          assert.deepEqual(actual, expected);
          assert.equal(serializer.serialize(actual), new PrometheusTextSerializer().serialize(expected));
          // And against the readings themselves, which a defect shared by both producers would not show.
          const metric = (name: string) =>
            actual.scopeMetrics[0]?.metrics.find((m) => m.descriptor.name === name)?.dataPoints ?? [];
          const memory = metric('process_memory_usage_bytes');
          assert.equal(memory.length, processes.size);
          for (const point of memory) {
            const entry = processes.get(point.attributes['process.pid'] as number) as SampledProcess;
            assert.equal(point.value, entry.sample.rssBytes);
            assert.deepEqual(point.endTime, [
              Math.trunc(entry.sample.readAtMs / 1000),
              (entry.sample.readAtMs % 1000) * 1e6,
            ]);
          }
          const utilization = metric('process_cpu_utilization_ratio');
          const withUtilization = [...processes.values()].filter((entry) => entry.sample.cpuUtilization);
          assert.equal(utilization.length, optional ? withUtilization.length * 3 : 0);
        }
      },
    ),
    { numRuns: 200 },
  );
});

test('setHrTime writes what the core package’s millisToHrTime returns, for generated times', () => {
  const time: [number, number] = [0, 0];
  fc.assert(
    fc.property(
      fc.oneof(fc.integer({ min: 0, max: 2 ** 45 }), fc.double({ min: 0, max: 2 ** 45, noNaN: true })),
      (ms) => {
        setHrTime(time, ms);
        assert.deepEqual(time, millisToHrTime(ms));
      },
    ),
    { numRuns: 2000 },
  );
});

test('packed requests hold every ResourceMetrics once, in order, as the package encodes it, within the budget', () => {
  const all = [...resourceSource(12, 3)(SDK_RESOURCE)];
  const oneSize = ProtobufMetricsSerializer.serializeRequest(all[0] as ResourceMetrics)?.byteLength ?? 0;
  fc.assert(
    fc.property(
      fc.array(
        fc.record({
          index: fc.integer({ min: 0, max: all.length - 1 }),
          // a Resource with a schema URL is written by the serializer whole; an empty one is left out
          kind: fc.constantFrom('cached', 'cached', 'schema', 'empty'),
        }),
        { maxLength: 20 },
      ),
      fc.integer({ min: Math.floor(oneSize / 2), max: oneSize * 6 }),
      (picks, budget) => {
        const resources = picks.map(({ index, kind }): ResourceMetrics => {
          const base = all[index] as ResourceMetrics;
          if (kind === 'empty') return { resource: base.resource, scopeMetrics: [] };
          if (kind === 'schema')
            return {
              scopeMetrics: base.scopeMetrics,
              resource: resourceFromAttributes(base.resource.attributes, {
                schemaUrl: 'https://opentelemetry.io/schemas/1.26.0',
              }),
            };
          return base;
        });
        const requests = packResourceMetrics(resources, budget);
        const kept = resources.filter((rm) => rm.scopeMetrics.length > 0);
        const expected = kept.flatMap(
          (rm) =>
            decodeExportRequest(Buffer.from(ProtobufMetricsSerializer.serializeRequest(rm) as Uint8Array))
              .resource_metrics,
        );
        const decoded = requests.map((request) => {
          const body = Buffer.concat(request.parts);
          assert.equal(body.byteLength, request.bytes);
          const rms = decodeExportRequest(body).resource_metrics;
          if (request.resources > 1 || rms.length > 1)
            assert.ok(request.bytes <= budget, `${request.bytes} > ${budget}`);
          return rms;
        });
        // Whole processes within the budget decode as the package's own encoding, in order; a process
        // larger than the budget comes as pieces of its own, which together hold all of its points.
        const flat = decoded.flat();
        const pointsOf = (rms: typeof flat) =>
          rms.reduce(
            (sum, rm) =>
              sum +
              rm.scope_metrics.reduce(
                (s, sm) =>
                  s +
                  sm.metrics.reduce(
                    (m, metric) => m + ((metric.sum ?? metric.gauge)?.data_points.length ?? 0),
                    0,
                  ),
                0,
              ),
            0,
          );
        assert.equal(pointsOf(flat), pointsOf(expected));
        assert.equal(
          requests.reduce((sum, request) => sum + request.dataPoints, 0),
          pointsOf(expected),
        );
        if (budget >= oneSize * 2) assert.deepEqual(flat, expected);
      },
    ),
    { numRuns: 200 },
  );
});

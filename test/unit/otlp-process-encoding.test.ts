/**
 * A process's ResourceMetrics written from its reading (otlp-process-encoding.ts) must be byte for byte
 * what the OpenTelemetry package's serializer writes for the same ResourceMetrics as SDK objects, for
 * any reading, selection of metrics and attributes, and Resource.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import fc from 'fast-check';
import type { ProcessSample } from '../../src/proc/reader.ts';
import { type SampledProcess, SnapshotStore } from '../../src/sampler/snapshot.ts';
import { packResourceMetrics } from '../../src/telemetry/otlp-requests.ts';
import {
  type MetricSelection,
  PROCESS_ATTRIBUTE_KEYS,
  PROCESS_METRICS,
} from '../../src/telemetry/process-metrics.ts';
import { createProcessResourceSource } from '../../src/telemetry/process-producer.ts';
import { attributesOf, decodeExportRequest } from '../helpers/otlp-sink.ts';

/** Any number the encoder may be handed: /proc's integers up to 2^53, fractions, and negatives too. */
const anyNumber = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 31 }),
  fc.maxSafeInteger(),
  fc.double({ min: -(2 ** 53), max: 2 ** 53, noNaN: true }),
  fc.constantFrom(0, -0, 1, 2 ** 32, 2 ** 32 - 1, 2 ** 53 - 1, -1, 0.5),
);
const time = fc.oneof(
  fc.integer({ min: 0, max: 2 ** 45 }),
  fc.double({ min: 0, max: 2 ** 45, noNaN: true }),
  fc.integer({ min: 1_600_000_000_000, max: 1_900_000_000_000 }),
);

const reading = fc.record({
  pid: fc.integer({ min: 1, max: 4_194_304 }),
  ppid: fc.integer({ min: 0, max: 4_194_304 }),
  name: fc.string({ minLength: 1, maxLength: 15 }),
  commandLine: fc.array(fc.string({ unit: 'grapheme', maxLength: 40 }), { minLength: 1, maxLength: 5 }),
  numbers: fc.array(anyNumber, { minLength: 17, maxLength: 17 }),
  utilization: fc.option(
    fc.array(fc.double({ min: 0, max: 2, noNaN: true }), { minLength: 4, maxLength: 4 }),
    {
      nil: undefined,
    },
  ),
  startTimeMs: time,
  readAtMs: time,
});

function sampledOf(r: Reading): SampledProcess {
  const n = (i: number) => r.numbers[i] as number;
  const sample: ProcessSample = {
    pid: r.pid,
    ppid: r.ppid,
    name: r.name,
    state: 'S',
    cpuUserSeconds: n(0),
    cpuSystemSeconds: n(1),
    cpuWaitSeconds: n(2),
    rssBytes: n(3),
    vmsBytes: n(4),
    threads: n(5),
    openFds: n(6),
    readChars: n(7),
    writeChars: n(8),
    readSyscalls: n(9),
    writeSyscalls: n(10),
    voluntaryCtxSwitches: n(11),
    involuntaryCtxSwitches: n(12),
    signalsPending: n(13),
    memoryPercent: r.utilization?.[3],
    cpuUtilization: r.utilization && {
      user: r.utilization[0],
      system: r.utilization[1],
      wait: r.utilization[2],
    },
    minorFaults: n(14),
    majorFaults: n(15),
    startTimeMs: r.startTimeMs,
    startTicks: n(16),
    readAtMs: r.readAtMs,
  } as ProcessSample;
  return {
    info: {
      pid: r.pid,
      name: r.name,
      simulationId: '30502627-f679-4477-9ef7-1a590d104f57',
      profile: 'generated',
      shard: undefined,
      priority: 'low',
      cpuPattern: 'random',
      memoryPattern: 'leak',
      startedAtMs: 0,
      generation: 0,
      targets: {} as SampledProcess['info']['targets'],
    },
    identity: {
      executablePath: `/opt/${r.name}`,
      commandLine: r.commandLine,
      owner: 'simulator',
      cgroup: r.pid % 2 === 0 ? '0::/generated' : undefined,
    },
    sample,
  };
}
type Reading = {
  pid: number;
  ppid: number;
  name: string;
  commandLine: string[];
  numbers: number[];
  utilization: number[] | undefined;
  startTimeMs: number;
  readAtMs: number;
};

const selection = fc.record({
  metrics: fc.subarray(PROCESS_METRICS.map((m) => m.name)).map((names) => new Set(names)),
  attributes: fc.subarray([...PROCESS_ATTRIBUTE_KEYS]).map((keys) => new Set(keys)),
}) as fc.Arbitrary<MetricSelection>;

const sdkResource = fc
  .dictionary(
    fc.string({ minLength: 1, maxLength: 20 }),
    fc.oneof(fc.string({ unit: 'grapheme', maxLength: 30 }), fc.integer(), fc.double(), fc.boolean()),
    { maxKeys: 8 },
  )
  .map((attributes) => resourceFromAttributes(attributes));

function sourceOf(
  readings: Reading[],
  departed: Reading[],
  chosen: MetricSelection,
  prefix: string | undefined,
) {
  const store = new SnapshotStore();
  const processes = new Map<number, SampledProcess>();
  for (const r of readings) processes.set(r.pid, sampledOf(r));
  const gone = new Map<number, SampledProcess>();
  for (const r of departed) gone.set(r.pid, sampledOf(r));
  store.publish({ takenAtMs: 0, durationMs: 0, processes, unreadable: new Map(), departed: gone });
  return createProcessResourceSource({
    store,
    naming: 'otlp',
    simulationPrefix: prefix,
    selection: chosen,
    departed: true,
    scope: { name: 'process-simulator', version: '0.1.0' },
  });
}

test('a process written from its reading is byte for byte the package serializer’s encoding', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(reading, { selector: (r) => r.pid, minLength: 1, maxLength: 4 }),
      fc.uniqueArray(reading, { selector: (r) => r.pid + 5_000_000, maxLength: 2 }),
      selection,
      fc.constantFrom(undefined, 'simulator.', 'x_'),
      sdkResource,
      (readings, departed, chosen, prefix, resource) => {
        const items = sourceOf(readings, departed, chosen, prefix)(resource);
        for (const item of items) {
          assert.ok(item.selfEncodes);
          const expected = ProtobufMetricsSerializer.serializeRequest({
            resource: item.resource,
            scopeMetrics: item.scopeMetrics,
          }) as Uint8Array;
          const out = Buffer.alloc(item.encodedSize() + 16, 0xee);
          const end = item.writeTo(out, 7);
          assert.equal(end - 7, item.encodedSize());
          assert.equal(out.subarray(7, end).toString('hex'), Buffer.from(expected).toString('hex'));
          assert.ok(
            out.subarray(0, 7).every((byte) => byte === 0xee),
            'nothing written before',
          );
          assert.ok(
            out.subarray(end).every((byte) => byte === 0xee),
            'nothing written after',
          );
          // And the points carry the reading: a defect shared with scopeMetrics would not show above.
          const points = item.scopeMetrics.flatMap((s) =>
            s.metrics.flatMap((m) => m.dataPoints as unknown[]),
          );
          assert.equal(points.length, item.dataPointCount);
        }
        // Every process with a value of some chosen metric is there, in order; none without.
        const scratch: number[] = [];
        const withValues = [...readings, ...departed].filter((r) =>
          PROCESS_METRICS.some(
            (m) => chosen.metrics.has(m.name) && m.read(sampledOf(r).sample, r.readAtMs, scratch) > 0,
          ),
        );
        assert.equal(items.length, withValues.length);
      },
    ),
    { numRuns: 400 },
  );
});

test('packed requests of processes written from readings decode to the readings, with the official protos', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(reading, { selector: (r) => r.pid, minLength: 1, maxLength: 30 }),
      fc.integer({ min: 300, max: 20_000 }),
      (readings, budget) => {
        const all = new Set(PROCESS_METRICS.map((m) => m.name));
        const items = sourceOf(
          readings,
          [],
          { metrics: all, attributes: new Set(PROCESS_ATTRIBUTE_KEYS) },
          's.',
        )(resourceFromAttributes({ 'service.name': 'process-simulator' }));
        assert.equal(items.length, readings.length, 'every process has values');
        const requests = packResourceMetrics(items, budget);
        // A process over the budget comes in pieces: gather each process's points by metric first.
        const byPid = new Map<number, Map<string, Array<{ as_int?: number; as_double?: number }>>>();
        for (const request of requests) {
          const decoded = decodeExportRequest(Buffer.concat(request.parts));
          for (const rm of decoded.resource_metrics) {
            const pid = attributesOf(rm.resource.attributes)['process.pid'] as number;
            const metrics = byPid.get(pid) ?? new Map();
            byPid.set(pid, metrics);
            for (const sm of rm.scope_metrics)
              for (const metric of sm.metrics)
                metrics.set(metric.name, [
                  ...(metrics.get(metric.name) ?? []),
                  ...(metric.sum?.data_points ?? metric.gauge?.data_points ?? []),
                ]);
          }
        }
        assert.deepEqual(
          [...byPid.keys()].sort((a, b) => a - b),
          readings.map((r) => r.pid).sort((a, b) => a - b),
        );
        for (const r of readings) {
          const metrics = byPid.get(r.pid) as Map<string, Array<{ as_int?: number; as_double?: number }>>;
          const n = (i: number) => r.numbers[i] as number;
          assert.deepEqual(
            metrics.get('process.memory.usage')?.map((p) => p.as_int),
            [Math.trunc(n(3)) || 0],
          );
          assert.deepEqual(
            metrics.get('process.cpu.time')?.map((p) => p.as_double),
            [n(0), n(1), n(2)],
          );
          assert.deepEqual(
            metrics.get('process.cpu.utilization')?.map((p) => p.as_double),
            r.utilization?.slice(0, 3),
          );
        }
      },
    ),
    { numRuns: 60 },
  );
});

/**
 * A process's ResourceMetrics written from its reading (otlp-process-encoding.ts) must be byte for byte
 * what the OpenTelemetry package's serializer writes for the same ResourceMetrics as SDK objects, for
 * any reading, selection of metrics and attributes, and Resource.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import { ProtobufMetricsSerializer } from '@opentelemetry/otlp-transformer';
import { type Resource, resourceFromAttributes } from '@opentelemetry/resources';
import fc from 'fast-check';
import { packResourceMetrics } from '../../src/telemetry/otlp-requests.ts';
import {
  type MetricSelection,
  PROCESS_ATTRIBUTE_KEYS,
  PROCESS_METRICS,
} from '../../src/telemetry/process-metrics.ts';
import {
  createProcessResourceSource,
  processAttributes,
  processAttributesCache,
} from '../../src/telemetry/process-producer.ts';
import { type Reading, reading, sampledOf, storeOf } from '../helpers/generated-readings.ts';
import { attributesOf, decodeExportRequest } from '../helpers/otlp-sink.ts';

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
  const { store } = storeOf(readings, departed);
  const source = createProcessResourceSource({
    store,
    naming: 'otlp',
    simulationPrefix: prefix,
    selection: chosen,
    departed: true,
    scope: { name: 'process-simulator', version: '0.1.0' },
  });
  return (sdkResource: Resource) => [...source(sdkResource)];
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

test('a process has one attribute set for both readers, made once, and another process another', () => {
  fc.assert(
    fc.property(
      fc.uniqueArray(reading, { selector: (r) => r.pid, minLength: 1, maxLength: 5 }),
      (readings) => {
        const attributesOf = processAttributesCache('simulator.');
        const entries = readings.map(sampledOf);
        const first = entries.map(attributesOf);
        assert.deepEqual(entries.map(attributesOf), first, 'the same sets again');
        entries.forEach((entry, i) => {
          assert.equal(attributesOf(entry), first[i], 'the same object');
          assert.deepEqual(attributesOf(entry), processAttributes(entry, 'simulator.'));
          // A new identity (a PID reused by another process) gets its own set.
          const again = { ...entry, identity: { ...entry.identity } };
          assert.notEqual(attributesOf(again), first[i]);
        });
      },
    ),
  );
});

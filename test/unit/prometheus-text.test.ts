import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValueType } from '@opentelemetry/api';
import { PrometheusSerializer } from '@opentelemetry/exporter-prometheus';
import { resourceFromAttributes } from '@opentelemetry/resources';
import {
  AggregationTemporality,
  DataPointType,
  type MetricData,
  type ResourceMetrics,
} from '@opentelemetry/sdk-metrics';
import fc from 'fast-check';
import { deriveAttributes } from '../../src/telemetry/derived-attributes.ts';
import {
  type MetricSelection,
  PROCESS_ATTRIBUTE_KEYS,
  PROCESS_METRICS,
  type ProcessMetricDefinition,
} from '../../src/telemetry/process-metrics.ts';
import { createProcessMetricProducer } from '../../src/telemetry/process-producer.ts';
import { ProcessSeriesMetric } from '../../src/telemetry/process-series.ts';
import { PrometheusTextSerializer } from '../../src/telemetry/prometheus-text.ts';
import { type Reading, reading, sampledOf, storeOf } from '../helpers/generated-readings.ts';

const time: [number, number] = [1_700_000_000, 0];
const descriptor = (name: string, description = 'd', unit = '') => ({
  name,
  description,
  unit,
  valueType: ValueType.DOUBLE,
});
const point = (attributes: Record<string, unknown>, value: number) =>
  ({ startTime: time, endTime: time, attributes, value }) as never;

function sum(name: string, isMonotonic: boolean, points: unknown[], unit = ''): MetricData {
  return {
    descriptor: descriptor(name, `${name} help`, unit),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.SUM,
    isMonotonic,
    dataPoints: points as never,
  };
}

function gauge(name: string, points: unknown[], description = 'g'): MetricData {
  return {
    descriptor: descriptor(name, description),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.GAUGE,
    dataPoints: points as never,
  };
}

function histogram(
  name: string,
  boundaries: number[],
  counts: number[],
  sumValue: number | undefined,
): MetricData {
  const value = {
    buckets: { boundaries, counts },
    count: counts.reduce((a, b) => a + b, 0),
    sum: sumValue,
    min: 0,
    max: 9,
  };
  return {
    descriptor: descriptor(name, 'h\\elp\nwith escapes', 'ms'),
    aggregationTemporality: AggregationTemporality.CUMULATIVE,
    dataPointType: DataPointType.HISTOGRAM,
    dataPoints: [{ startTime: time, endTime: time, attributes: { op: 'read' }, value }] as never,
  };
}

const shared = {
  'process.pid': 42,
  'process.executable.name': 'api-7',
  'process.command_line': 'api-7 --x "q" a\\b\nc',
};

function collection(): ResourceMetrics {
  return {
    resource: resourceFromAttributes({ 'service.name': 'process-simulator', 'host.name': 'h"1' }),
    scopeMetrics: [
      {
        scope: { name: 'process-simulator', version: '1' },
        metrics: [
          sum('process_cpu_time_seconds', true, [
            point({ ...shared, state: 'user' }, 1.5),
            point({ ...shared, state: 'system' }, 0),
          ]),
          sum(
            'process_memory_usage_bytes',
            false,
            [point(shared, 123_456), point({}, Number.POSITIVE_INFINITY)],
            'By',
          ),
          gauge('process.uptime', [
            point({ flag: true, list: ['a', 'b'], n: 1.25 }, -Number.POSITIVE_INFINITY),
          ]),
          histogram('sample.duration', [1, 10], [1, 2, 3], 12.5),
          histogram('with_inf', [1, Number.POSITIVE_INFINITY], [4, 5, 6], undefined),
          sum('empty_total', true, []),
          gauge('2fast', [point({}, 3)]),
        ],
      },
      {
        scope: { name: 'other' },
        metrics: [
          // same family as above: points follow without a second header
          sum('process_cpu_time_seconds', true, [point({ ...shared, state: 'wait' }, 0.25)]),
          // type conflict with the gauge of the same name: the family is dropped
          sum('2fast', true, [point({}, 4)]),
          gauge('late_help', [point({ a: 'b' }, 1)], ''),
          gauge('late_help', [point({ a: 'c' }, 2)], 'second help wins when the first is empty'),
        ],
      },
    ],
  };
}

/**
 * The exporter package's text, changed where ours deliberately differs to match the collector's
 * prometheus exporter: no `# UNIT` lines, and the unit's suffix on names that lack it (here the `ms`
 * histograms).
 */
function packageTextAsCollectorNames(data: ResourceMetrics): string {
  return new PrometheusSerializer(undefined, false, undefined, false, true)
    .serialize(data)
    .split('\n')
    .filter((line) => !line.startsWith('# UNIT '))
    .join('\n')
    .replace(/\b(sample_duration|with_inf)(_bucket|_sum|_count)?\b/g, '$1_milliseconds$2');
}

describe('Prometheus text serializer', () => {
  it('writes what the exporter package writes, for sums, gauges, histograms and escapes, with collector names', () => {
    assert.equal(
      new PrometheusTextSerializer().serialize(collection()),
      packageTextAsCollectorNames(collection()),
    );
  });

  it('appends the unit suffix the collector appends, once, before _total', () => {
    const data: ResourceMetrics = {
      resource: resourceFromAttributes({}),
      scopeMetrics: [
        {
          scope: { name: 's' },
          metrics: [
            sum('simulator.busy', true, [point({}, 1)], 's'),
            sum('process.memory.usage', false, [point({}, 1)], 'By'),
            sum('already_seconds', true, [point({}, 1)], 's'),
            sum('process.threads', false, [point({}, 1)], '{threads}'),
          ],
        },
      ],
    };
    const text = new PrometheusTextSerializer().serialize(data);
    for (const name of [
      'simulator_busy_seconds_total',
      'process_memory_usage_bytes',
      'already_seconds_total',
      'process_threads',
    ]) {
      assert.match(text, new RegExp(`^# TYPE ${name} `, 'm'), name);
    }
    assert.doesNotMatch(text, /^# UNIT/m);
  });

  it('writes the same text again from its label cache, and follows changed values', () => {
    const serializer = new PrometheusTextSerializer();
    const data = collection();
    const first = serializer.serialize(data);
    assert.equal(serializer.serialize(data), first);
    const cpu = data.scopeMetrics[0]?.metrics[0]?.dataPoints[0] as { value: number };
    cpu.value = 99;
    const expected = packageTextAsCollectorNames(data);
    assert.equal(serializer.serialize(data), expected);
    assert.match(expected, /^process_cpu_time_seconds_total\{.*state="user"\} 99$/m);
  });

  it('says there are no metrics, after target_info, when nothing was collected', () => {
    const empty: ResourceMetrics = { resource: resourceFromAttributes({}), scopeMetrics: [] };
    const expected = new PrometheusSerializer(undefined, false, undefined, false, true).serialize(empty);
    assert.equal(new PrometheusTextSerializer().serialize(empty), expected);
    assert.match(expected, /# no registered metrics$/);
  });

  it('writes derived attribute sets as the package writes the same sets, for generated bases and splits', () => {
    const value = fc.oneof(
      fc.string({ maxLength: 12 }),
      fc.constantFrom('a"b', 'c\\d', 'e\nf', ''),
      fc.integer(),
      fc.boolean(),
    );
    fc.assert(
      fc.property(
        fc.dictionary(fc.string({ minLength: 1, maxLength: 10 }), value, { maxKeys: 8 }),
        fc.array(
          fc.tuple(
            fc.constantFrom('state', 'direction', 'type', 'process.pid', ''),
            fc.string({ maxLength: 8 }),
          ),
          {
            minLength: 1,
            maxLength: 4,
          },
        ),
        (base, splits) => {
          const points = splits.map(([key, split], i) =>
            point(deriveAttributes(base, key, split) as never, i),
          );
          const data: ResourceMetrics = {
            resource: resourceFromAttributes({}),
            scopeMetrics: [
              { scope: { name: 's' }, metrics: [sum('split', true, [point(base as never, 7), ...points])] },
            ],
          };
          const serializer = new PrometheusTextSerializer();
          const expected = packageTextAsCollectorNames(data);
          assert.equal(serializer.serialize(data), expected);
          assert.equal(serializer.serialize(data), expected, 'again, from the caches');
        },
      ),
      { numRuns: 400 },
    );
  });
  it('writes every generated value as the package writes it (integers digit by digit, the rest as JavaScript)', () => {
    const value = fc.oneof(
      fc.nat(),
      fc.integer(),
      fc.maxSafeNat(),
      fc.constantFrom(0, -0, 9, 10, 99, 100, 2 ** 53 - 1, 2 ** 53, 2 ** 53 + 2, 1e21, 1e300, 0.1),
      fc.constantFrom(Number.NaN, Number.POSITIVE_INFINITY, Number.NEGATIVE_INFINITY),
      fc.double(),
    );
    fc.assert(
      fc.property(fc.array(value, { minLength: 1, maxLength: 20 }), (values) => {
        const data: ResourceMetrics = {
          resource: resourceFromAttributes({}),
          scopeMetrics: [
            {
              scope: { name: 's' },
              metrics: [
                gauge(
                  'values',
                  values.map((v, i) => point({ i: String(i) }, v)),
                ),
              ],
            },
          ],
        };
        assert.equal(new PrometheusTextSerializer().serialize(data), packageTextAsCollectorNames(data));
      }),
      { numRuns: 500 },
    );
  });
});

describe('process series written from the readings', () => {
  const selection = fc.record({
    metrics: fc.subarray(PROCESS_METRICS.map((m) => m.name)).map((names) => new Set(names)),
    attributes: fc.subarray([...PROCESS_ATTRIBUTE_KEYS]).map((keys) => new Set(keys)),
  }) as fc.Arbitrary<MetricSelection>;

  /** The same collection with each metric's points made as the SDK's objects (the producer's own). */
  const asPoints = (data: ResourceMetrics): ResourceMetrics => ({
    resource: data.resource,
    scopeMetrics: data.scopeMetrics.map(({ scope, metrics }) => ({
      scope,
      metrics: metrics.map((metric) => ({ ...metric, dataPoints: metric.dataPoints }) as MetricData),
    })),
  });

  it('writes what the package writes of the same points, for generated processes, selections and names', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(reading, { selector: (r) => r.pid, maxLength: 6 }),
        selection,
        fc.constantFrom(undefined, 'simulator_', 'x.'),
        async (readings, chosen, prefix) => {
          const { store } = storeOf(readings);
          const producer = createProcessMetricProducer({
            store,
            naming: 'prometheus',
            simulationPrefix: prefix,
            selection: chosen,
            scope: { name: 'process-simulator', version: '0.1.0' },
          });
          const { resourceMetrics } = await producer.collect();
          const expected = packageTextAsCollectorNames(asPoints(resourceMetrics));
          const serializer = new PrometheusTextSerializer();
          assert.equal(serializer.serialize(resourceMetrics), expected);
          assert.equal(serializer.serialize(resourceMetrics), expected, 'again, from the caches');
          // The series count is the readings' own: one per value of each chosen metric.
          const scratch: number[] = [];
          const values = readings.reduce(
            (sum, r) =>
              sum +
              PROCESS_METRICS.filter((m) => chosen.metrics.has(m.name)).reduce(
                (n, m) => n + m.read(sampledOf(r).sample, r.readAtMs, scratch),
                0,
              ),
            0,
          );
          const series = expected.split('\n').filter((line) => line !== '' && !line.startsWith('#'));
          assert.equal(series.length, values + 1, 'the series and target_info');
        },
      ),
      { numRuns: 200 },
    );
  });

  it('writes a split whose key the process attributes already have as the package writes that set', () => {
    fc.assert(
      fc.property(
        fc.dictionary(
          fc.constantFrom('state', 'direction', 'type', 'process.pid', 'a'),
          fc.oneof(fc.string({ maxLength: 6 }), fc.constantFrom('a"b', 'c\\d', 'e\nf'), fc.integer()),
          { maxKeys: 4 },
        ),
        fc.uniqueArray(reading, { selector: (r) => r.pid, minLength: 1, maxLength: 3 }),
        (base, readings) => {
          const definition = PROCESS_METRICS.find(
            (m) => m.name === 'process.cpu.time',
          ) as ProcessMetricDefinition;
          const metric = new ProcessSeriesMetric(
            definition,
            {
              name: definition.prometheusName,
              description: definition.description,
              unit: '',
              valueType: ValueType.DOUBLE,
            },
            readings.map(sampledOf),
            () => base,
          ).asMetricData();
          const data: ResourceMetrics = {
            resource: resourceFromAttributes({}),
            scopeMetrics: [{ scope: { name: 's' }, metrics: [metric] }],
          };
          assert.equal(
            new PrometheusTextSerializer().serialize(data),
            packageTextAsCollectorNames(asPoints(data)),
          );
        },
      ),
      { numRuns: 300 },
    );
  });
});

describe('a page in chunks', () => {
  /** A producer's collection over generated readings, and the entries to change afterwards. */
  async function collected(readings: Reading[]) {
    const { store, processes } = storeOf(readings);
    const producer = createProcessMetricProducer({
      store,
      naming: 'prometheus',
      simulationPrefix: 'simulator_',
      selection: {
        metrics: new Set(PROCESS_METRICS.map((m) => m.name)),
        attributes: new Set(PROCESS_ATTRIBUTE_KEYS),
      },
      scope: { name: 'process-simulator', version: '0.1.0' },
    });
    const { resourceMetrics } = await producer.collect();
    return { resourceMetrics, processes };
  }

  it('joins into the whole page, for any chunk size, whenever the chunks are handed back', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(reading, { selector: (r) => r.pid, maxLength: 40 }),
        fc.integer({ min: 1, max: 20_000 }),
        fc.constantFrom('at once', 'at the end', 'never'),
        async (readings, chunkBytes, release) => {
          const { resourceMetrics } = await collected(readings);
          const serializer = new PrometheusTextSerializer();
          const whole = new PrometheusTextSerializer().serializeToBuffer(resourceMetrics);
          const longestLine = Math.max(
            ...whole
              .toString('utf8')
              .split('\n')
              .map((line) => Buffer.byteLength(line) + 1),
          );
          for (let round = 0; round < 2; round++) {
            // Copies: a chunk handed back is written over by a later one.
            const copies: Buffer[] = [];
            const held: Buffer[] = [];
            const buffers = new Set<ArrayBufferLike>();
            for (const chunk of serializer.chunks(resourceMetrics, chunkBytes)) {
              assert.ok(chunk.length > 0, 'no empty chunk');
              copies.push(Buffer.from(chunk));
              buffers.add(chunk.buffer);
              assert.ok(chunk.length <= chunkBytes + 6 * longestLine, 'a chunk within its size');
              if (release === 'at once') serializer.release(chunk);
              else held.push(chunk);
            }
            // Held to the end without a copy, the chunks are still the page: none was written twice.
            if (release !== 'at once') assert.ok(Buffer.concat(held).equals(whole), 'held chunks intact');
            if (release === 'at the end') for (const chunk of held) serializer.release(chunk);
            assert.ok(Buffer.concat(copies).equals(whole), `round ${round}, chunks of ${chunkBytes} bytes`);
            // Handed back at once, a page needs one buffer, as long as what is written between two
            // checks (a metric's header, one process's lines and newlines: six lines at most) fits in the
            // quarter of a chunk left after the three quarters that hand it out.
            if (release === 'at once' && 6 * longestLine <= chunkBytes / 4)
              assert.equal(buffers.size, 1, `buffers for chunks of ${chunkBytes} bytes`);
          }
        },
      ),
      { numRuns: 150 },
    );
  });

  it('shows the readings of the moment its first chunk was taken, however they change after', async () => {
    await fc.assert(
      fc.asyncProperty(
        fc.uniqueArray(reading, { selector: (r) => r.pid, minLength: 1, maxLength: 40 }),
        fc.integer({ min: 64, max: 4096 }),
        fc.array(fc.double({ min: 0, max: 1e9, noNaN: true }), { minLength: 1, maxLength: 8 }),
        async (readings, chunkBytes, later) => {
          const { resourceMetrics, processes } = await collected(readings);
          const before = new PrometheusTextSerializer().serializeToBuffer(resourceMetrics);
          const chunks = new PrometheusTextSerializer().chunks(resourceMetrics, chunkBytes);
          const parts: Buffer[] = [];
          let next = chunks.next();
          let k = 0;
          while (!next.done) {
            parts.push(Buffer.from(next.value));
            // The sampler writes newer readings between two chunks (as between two writes to a client).
            for (const entry of processes.values()) {
              const sample = entry.sample as { rssBytes: number; cpuUserSeconds: number; threads: number };
              sample.rssBytes = Math.trunc(later[k % later.length] as number);
              sample.cpuUserSeconds = later[(k + 1) % later.length] as number;
              sample.threads += 1;
            }
            k++;
            next = chunks.next();
          }
          assert.ok(Buffer.concat(parts).equals(before));
        },
      ),
      { numRuns: 100 },
    );
  });
});

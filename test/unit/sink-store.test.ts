/**
 * The OTLP sink's store stays bounded whatever arrives: at most `maxSeries` series (new ones beyond are
 * counted as overflow, once each), series and processes not received for the retention time are
 * forgotten, a process's attributes are kept once for all its series, and a series seen recently is
 * told from one that stopped arriving.
 */
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import type { ExportMetricsServiceRequest, Metric } from '../../src/verify/sources/otlp-types.ts';
import { attributeText, nanosToMs, SinkStore } from '../../src/verify/sources/sink-store.ts';

const kv = (key: string, value: string | number) =>
  typeof value === 'number'
    ? { key, value: { intValue: String(value), value: 'intValue' } }
    : { key, value: { stringValue: value, value: 'stringValue' } };

/** One request: `processes` processes (PIDs from `firstPid`), each with cpu.time x3 states and threads. */
function request(firstPid: number, processes: number, timeMs: number): ExportMetricsServiceRequest {
  const cpu: Metric = {
    name: 'process.cpu.time',
    description: '',
    unit: 's',
    data: 'sum',
    sum: { aggregationTemporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE', isMonotonic: true, dataPoints: [] },
  };
  const threads: Metric = {
    name: 'process.threads',
    description: '',
    unit: '{threads}',
    data: 'sum',
    sum: { aggregationTemporality: 'AGGREGATION_TEMPORALITY_CUMULATIVE', isMonotonic: false, dataPoints: [] },
  };
  for (let pid = firstPid; pid < firstPid + processes; pid++) {
    const attributes = [kv('process.pid', pid), kv('process.executable.name', `p${pid}`)];
    for (const state of ['user', 'system', 'wait'])
      cpu.sum?.dataPoints.push({
        attributes: [...attributes, kv('state', state)],
        startTimeUnixNano: '1000000000',
        timeUnixNano: `${timeMs}000000`,
        asDouble: 1.5,
        value: 'asDouble',
      });
    threads.sum?.dataPoints.push({
      attributes,
      startTimeUnixNano: '1000000000',
      timeUnixNano: `${timeMs}000000`,
      asInt: '4',
      value: 'asInt',
    });
  }
  return {
    resourceMetrics: [
      { resource: { attributes: [kv('service.name', 'x')] }, scopeMetrics: [{ metrics: [cpu, threads] }] },
    ],
  };
}

test('never holds more than maxSeries series; the rest is counted as overflow, once per series', () => {
  fc.assert(
    fc.property(
      fc.integer({ min: 4, max: 400 }),
      fc.integer({ min: 1, max: 200 }),
      fc.integer({ min: 1, max: 4 }),
      (maxSeries, processes, repeats) => {
        const store = new SinkStore({ maxSeries });
        for (let i = 0; i < repeats; i++) store.record(request(1, processes, 1_000_000 + i));
        const stats = store.stats();
        const offered = processes * 4;
        assert.equal(stats.series, Math.min(maxSeries, offered));
        assert.equal(stats.overflow.series, Math.max(0, offered - maxSeries));
        assert.equal(stats.overflow.points, Math.max(0, offered - maxSeries) * repeats);
        assert.equal(stats.points, offered * repeats);
        assert.ok(stats.processes <= processes);
        const observation = store.observe({
          metrics: ['process.cpu.time', 'process.threads'],
          freshMs: 60_000,
          location: 'test',
        });
        const kept = [...observation.metrics.values()].reduce((sum, metric) => sum + metric.series.length, 0);
        assert.equal(kept, stats.series);
        assert.equal(observation.overflow.series, stats.overflow.series);
      },
    ),
    { numRuns: 60 },
  );
});

test('forgets what stopped arriving after the retention time; reports as present only what arrived lately', () => {
  let now = 1_000_000;
  const store = new SinkStore({ retentionMs: 60_000, now: () => now });
  store.record(request(1, 10, now));
  now += 20_000;
  store.record(request(5, 10, now)); // PIDs 5-14: 1-4 stop arriving
  const fresh = store.observe({ metrics: ['process.threads'], freshMs: 10_000, location: 'test' });
  assert.deepEqual(
    fresh.metrics
      .get('process.threads')
      ?.series.map((s) => Number(s.labels['process.pid']))
      .sort((a, b) => a - b),
    [5, 6, 7, 8, 9, 10, 11, 12, 13, 14],
  );
  const last = new Map(fresh.lastSeen.map((seen) => [seen.labels['process.pid'], seen.lastSeenMs]));
  assert.equal(last.get('1'), 1_000_000);
  assert.equal(last.get('14'), 1_020_000);
  now += 45_000; // 1-4 last arrived 65 s ago: beyond retention
  store.sweep();
  assert.equal(store.stats().processes, 10);
  assert.equal(store.stats().series, 40);
});

test('values, times and attributes come out as sent; a process’s attributes are shared by its series', () => {
  const store = new SinkStore();
  store.record(request(42, 1, 1_700_000_000_123));
  const observation = store.observe({
    metrics: ['process.cpu.time', 'process.threads'],
    freshMs: 1e12,
    location: 'test',
  });
  const cpu = observation.metrics.get('process.cpu.time');
  assert.deepEqual(cpu?.type, {
    kind: 'sum',
    monotonic: true,
    temporality: 'cumulative',
    unit: 's',
    valueType: 'double',
  });
  assert.equal(cpu?.series.length, 3);
  const [first] = cpu?.series ?? [];
  assert.deepEqual(first?.labels, {
    'service.name': 'x',
    'process.pid': '42',
    'process.executable.name': 'p42',
    state: 'user',
  });
  assert.equal(first?.value, 1.5);
  assert.equal(first?.pointTimeMs, 1_700_000_000_123);
  assert.equal(first?.startTimeMs, 1000);
  assert.equal(observation.metrics.get('process.threads')?.series[0]?.value, 4);
  assert.equal(store.stats().processes, 1, 'one set of identity attributes for the four series');
});

test('attribute values of every OTLP kind become text; nanoseconds become milliseconds exactly', () => {
  assert.equal(attributeText({ intValue: '9007199254740993' }), '9007199254740993');
  assert.equal(attributeText({ boolValue: false }), 'false');
  assert.equal(attributeText({ doubleValue: 0.25 }), '0.25');
  assert.equal(
    attributeText({ arrayValue: { values: [{ stringValue: 'a' }, { intValue: '1' }] } }),
    '["a","1"]',
  );
  assert.equal(attributeText(undefined), '');
  assert.equal(nanosToMs('1700000000123456789'), 1_700_000_000_123);
  assert.equal(nanosToMs('0'), undefined);
  assert.equal(nanosToMs('999'), 0);
});

/**
 * The same request in the hostmetrics receiver's shape (OTLP_PROCESS_ATTRIBUTES=resource): one Resource
 * per process carrying its attributes over the sender's, data points keeping only the split attribute.
 */
function byResource(whole: ExportMetricsServiceRequest): ExportMetricsServiceRequest {
  const [rm] = whole.resourceMetrics;
  const sender = rm?.resource?.attributes ?? [];
  const perPid = new Map<string, ExportMetricsServiceRequest['resourceMetrics'][number]>();
  for (const metric of rm?.scopeMetrics[0]?.metrics ?? []) {
    for (const point of metric.sum?.dataPoints ?? []) {
      const pid = String(point.attributes.find((a) => a.key === 'process.pid')?.value?.intValue);
      let target = perPid.get(pid);
      if (!target) {
        target = {
          resource: {
            attributes: [...sender, ...point.attributes.filter((a) => a.key.startsWith('process.'))],
          },
          scopeMetrics: [{ metrics: [] }],
        };
        perPid.set(pid, target);
      }
      const metrics = target.scopeMetrics[0]?.metrics ?? [];
      let own = metrics.find((m) => m.name === metric.name);
      if (!own) {
        own = { ...metric, sum: { ...(metric.sum as NonNullable<Metric['sum']>), dataPoints: [] } };
        metrics.push(own);
      }
      own.sum?.dataPoints.push({
        ...point,
        attributes: point.attributes.filter((a) => !a.key.startsWith('process.')),
      });
    }
  }
  return { resourceMetrics: [...perPid.values()] };
}

test('one Resource per process: its attributes are the process’s, the series the same as in the one-Resource shape', () => {
  const observe = (sent: ExportMetricsServiceRequest) => {
    const store = new SinkStore();
    store.record(sent);
    const observation = store.observe({
      metrics: ['process.cpu.time', 'process.threads'],
      freshMs: 1e12,
      location: 'test',
    });
    return {
      series: [...observation.metrics.values()].map((m) => [m.name, m.series]),
      processes: store.stats().processes,
      lastSeen: observation.lastSeen.map((seen) => seen.labels),
    };
  };
  const sent = request(42, 3, 1_700_000_000_123);
  const reshaped = byResource(sent);
  assert.equal(reshaped.resourceMetrics.length, 3);
  assert.ok(
    reshaped.resourceMetrics.every((rm) =>
      rm.scopeMetrics[0]?.metrics.every((m) =>
        m.sum?.dataPoints.every((p) => p.attributes.every((a) => a.key === 'state')),
      ),
    ),
  );
  const resourceShape = observe(reshaped);
  assert.deepEqual(resourceShape, observe(sent));
  assert.equal(resourceShape.processes, 3);
});
